using System;

namespace LSDBridge
{
    /// <summary>How to reach the runtime. Either StateDirectory (re-read on every reconnect,
    /// so a restarted runtime with a new port and token is found) or Endpoint + Token.</summary>
    public sealed class LSDClientOptions
    {
        /// <summary>Directory holding runtime.json; "" = $LSD_BRIDGE_HOME or ~/.lsd-bridge. Wins over Endpoint.</summary>
        public string StateDirectory;
        public string Endpoint;
        public string Token;
        /// <summary>Sent in hello, e.g. "unity/0.1.0".</summary>
        public string ClientName = "lsdbridge-csharp/" + LSDClient.PackageVersion;
        /// <summary>0: the runtime's value (500 ms).</summary>
        public int HeartbeatMs;
        /// <summary>0: the runtime's value (2000 ms).</summary>
        public int TimeoutMs;
        /// <summary>0: 1000 ms.</summary>
        public int ReconnectMaxMs;
    }

    /// <summary>One slot ring (lsd_ring_desc).</summary>
    public struct LSDRingOptions
    {
        public int Width;
        public int Height;
        public LSDPixelFormat Format;
        /// <summary>Bytes per row in the slot; 0: tightly packed.</summary>
        public int Pitch;
        /// <summary>true: first memory row is the bottom row (Unity's CPU texture data order).</summary>
        public bool BottomUp;
        public LSDColorEncoding Color;
        /// <summary>1..8; 0: 3.</summary>
        public int Slots;

        public static LSDRingOptions Create(int width, int height, LSDPixelFormat format)
        {
            return new LSDRingOptions { Width = width, Height = height, Format = format, Slots = 3 };
        }

        /// <summary>Bytes of one frame in this ring's layout (pitch × (height − 1) + width × bpp).</summary>
        public long FrameBytes
        {
            get
            {
                long bpp = LSDRuntime.BytesPerPixel(Format);
                long row = Pitch > 0 ? Pitch : Width * bpp;
                return Height <= 0 ? 0 : row * (Height - 1) + Width * bpp;
            }
        }
    }

    /// <summary>Input and output rings plus the model resolution (lsd_bind_desc).</summary>
    public sealed class LSDBindOptions
    {
        public LSDTransport Transport = LSDTransport.Shm;
        public LSDRingOptions Input;
        public LSDRingOptions Output;
        /// <summary>0, 0: the backend's choice.</summary>
        public int ModelWidth;
        public int ModelHeight;
        public int DeviceOrdinal;

        public LSDBindOptions() { }

        /// <summary>Same size and format in and out, 3 slots each.</summary>
        public LSDBindOptions(int width, int height, LSDPixelFormat format)
        {
            Input = LSDRingOptions.Create(width, height, format);
            Output = LSDRingOptions.Create(width, height, format);
        }
    }

    /// <summary>What to restyle with (lsd_style_desc). Null fields are not sent.</summary>
    public sealed class LSDStyle
    {
        /// <summary>null: "effects". "diffusion" for SD-Turbo and friends.</summary>
        public string Backend;
        /// <summary>A style name of the backend (effects: "toon", ...; diffusion: the model, e.g. "sd-turbo").</summary>
        public string Style;
        public string Prompt;
        /// <summary>0..1, null: not sent.</summary>
        public double? Strength;
        public long? Seed;

        public LSDStyle() { }

        public LSDStyle(string backend, string style)
        {
            Backend = backend;
            Style = style;
        }

        public LSDStyle Clone()
        {
            return (LSDStyle)MemberwiseClone();
        }
    }

    /// <summary>Per-stage milliseconds of one finished frame.</summary>
    public struct LSDTimings
    {
        public double QueueMs, InputMs, BackendMs, OutputMs, TotalMs;
        /// <summary>Client-measured submit → frame_done.</summary>
        public double RoundTripMs;
    }

    /// <summary>What Take filled in besides the pixels.</summary>
    public struct LSDFrameResult
    {
        public int Width;
        public int Height;
        public LSDPixelFormat Format;
        public ulong FrameId;
        /// <summary>The frame's submit time, echoed.</summary>
        public double Time;
        public LSDTimings Timings;
    }

    public struct LSDLatency
    {
        public double P50Ms, P99Ms;
        public ulong Samples;

        public override string ToString()
        {
            return string.Format("p50 {0:F2} ms, p99 {1:F2} ms ({2} samples)", P50Ms, P99Ms, Samples);
        }
    }

    /// <summary>Counters and latency percentiles (lsd_stats).</summary>
    public sealed class LSDStats
    {
        public LSDConnectionState State;
        public ulong FramesSubmitted, FramesDone, FramesDropped, FramesSkipped, FramesLost, FramesTaken;
        public ulong Reconnects, Errors;
        public LSDLatency Queue, Input, Backend, Output, Total, RoundTrip;

        public override string ToString()
        {
            return string.Format(
                "{0}: submitted {1}, done {2}, dropped {3}, skipped {4}, lost {5}, taken {6}, reconnects {7}, " +
                "errors {8}; total {9}; round trip {10}",
                State, FramesSubmitted, FramesDone, FramesDropped, FramesSkipped, FramesLost, FramesTaken,
                Reconnects, Errors, Total, RoundTrip);
        }
    }
}
