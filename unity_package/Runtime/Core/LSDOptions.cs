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
        /// <summary>The runtime's CURVE public key (40 Z85 characters), for a runtime on another
        /// machine (it encrypts its endpoint); null: the key in runtime.json, if any. Needed with
        /// Endpoint when the endpoint is not this machine's.</summary>
        public string ServerKey;
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
            return new LSDRingOptions { Width = width, Height = height, Format = format, Slots = LSDProtocol.DefaultSlots };
        }

        /// <summary>Bytes of one frame in this ring's layout: pitch × (height − 1) + width × bytes per pixel
        /// (the contract's frame_bytes).</summary>
        public long FrameBytes
        {
            get { return LSDProtocol.FrameBytes(Width, Height, Format, Pitch); }
        }
    }

    /// <summary>The engine's motion vectors beside the input ring (lsd_motion_desc; shm only): same
    /// width, height, slots and row order as the input ring.</summary>
    public sealed class LSDMotionOptions
    {
        public LSDMotionFormat Format = LSDMotionFormat.Rg16f;
        public LSDMotionUnits Units = LSDMotionUnits.Pixels;
        public LSDMotionSign Sign = LSDMotionSign.CurrentMinusPrevious;
        /// <summary>+y points up the image (UV and NDC conventions, Unity's motion vectors).</summary>
        public bool YUp;
        /// <summary>Bytes between rows in the slot; 0: tightly packed.</summary>
        public int Pitch;

        /// <summary>Unity's built-in pipeline: _CameraMotionVectorsTexture is RGHalf, in UV units,
        /// current minus previous position, +y up.</summary>
        public static LSDMotionOptions UnityCamera()
        {
            return new LSDMotionOptions { Format = LSDMotionFormat.Rg16f, Units = LSDMotionUnits.Uv, YUp = true };
        }
    }

    /// <summary>The engine's depth beside the input ring (lsd_depth_desc; shm only).</summary>
    public sealed class LSDDepthOptions
    {
        public LSDDepthFormat Format = LSDDepthFormat.R32f;
        public LSDDepthKind Kind = LSDDepthKind.Linear;
        /// <summary>Device depth: 1 is near (reversed-Z: Direct3D 11/12, Metal, Vulkan, consoles).</summary>
        public bool ReversedZ;
        /// <summary>Device depth: the camera's near and far planes (far 0: infinite).</summary>
        public float Near;
        public float Far;
        /// <summary>Bytes between rows in the slot; 0: tightly packed.</summary>
        public int Pitch;

        /// <summary>A depth buffer as the camera stores it (its near and far clip planes).</summary>
        public static LSDDepthOptions Device(float near, float far, bool reversedZ)
        {
            return new LSDDepthOptions { Kind = LSDDepthKind.Device, Near = near, Far = far, ReversedZ = reversedZ };
        }
    }

    /// <summary>Where one frame's motion and depth are (an LSDClient.Submit argument); IntPtr.Zero: not
    /// this frame. Laid out as the bind declared them, with the frame's size and row order.</summary>
    public struct LSDFramePlanes
    {
        public IntPtr Motion;
        /// <summary>Bytes readable at Motion.</summary>
        public long MotionBytes;
        /// <summary>Bytes between rows at Motion; 0: tightly packed.</summary>
        public int MotionPitch;
        public IntPtr Depth;
        public long DepthBytes;
        public int DepthPitch;
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
        /// <summary>Inline transport only: compress frames with LZ4 when it pays (the default), or None.</summary>
        public LSDCodec Codec = LSDCodec.Lz4;
        /// <summary>Motion vectors and depth beside the input ring (null: none; shm only).</summary>
        public LSDMotionOptions Motion;
        public LSDDepthOptions Depth;

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
        /// <summary>The model name, resolved by the runtime (PROTOCOL.md section 11): an effects style or
        /// alias ("toon", "watercolor"), "effects" (the style from the prompt's words), "effects:sketch",
        /// "sd-turbo", "diffusion:/path/to/model", a Hugging Face repo id or a local diffusers folder.
        /// null (and no Backend/Style): the runtime's default model, LSDProtocol.DefaultModel.</summary>
        public string Model;
        /// <summary>Instead of Model: a backend by name ("effects", "diffusion")...</summary>
        public string Backend;
        /// <summary>...and one of its style names (effects: "toon"; diffusion: the model).</summary>
        public string Style;
        public string Prompt;
        /// <summary>0..1, null: not sent.</summary>
        public double? Strength;
        public long? Seed;

        public LSDStyle() { }

        /// <summary>A style named by its model name (see Model).</summary>
        public LSDStyle(string model)
        {
            Model = model;
        }

        /// <summary>A style named by backend and style name.</summary>
        public LSDStyle(string backend, string style)
        {
            Backend = backend;
            Style = style;
        }

        public LSDStyle Clone()
        {
            return (LSDStyle)MemberwiseClone();
        }

        /// <summary>Whether both ask the runtime for the same thing.</summary>
        public bool SameAs(LSDStyle other)
        {
            return other != null && Model == other.Model && Backend == other.Backend && Style == other.Style &&
                   Prompt == other.Prompt && Strength == other.Strength && Seed == other.Seed;
        }
    }

    /// <summary>What the runtime applied for the last style request (LSDClient.GetAppliedStyle).</summary>
    public sealed class LSDAppliedStyle
    {
        /// <summary>Ok: applied; Pending: not answered yet (or none asked for); Rejected: see Message.</summary>
        public LSDStatus Status;
        public string Backend, Style, Model, Matched, Message;

        public override string ToString()
        {
            if (Status == LSDStatus.Rejected) return "refused: " + Message + (Model.Length > 0 ? " (still " + Model + ")" : "");
            if (Model.Length == 0) return Status == LSDStatus.Pending ? "pending" : "none";
            return Backend + "/" + Style + (Matched.Length > 0 ? " (prompt word '" + Matched + "')" : "") +
                   (Status == LSDStatus.Pending ? ", change pending" : "");
        }
    }

    /// <summary>Which path a session's frames are on (LSDClient.GetTransport).</summary>
    public sealed class LSDTransportInfo
    {
        /// <summary>What the bind asked for, and what the current binding uses.</summary>
        public LSDTransport Requested, Transport;
        /// <summary>The slots are the runtime's device memory (cuda_ipc): frames never leave the GPU.</summary>
        public bool ZeroCopy;
        /// <summary>This process has a usable NVIDIA driver.</summary>
        public bool CudaDriver;
        /// <summary>The runtime's GPU when it serves cuda_ipc ("GPU-..."), else "".</summary>
        public string Gpu = "";
        /// <summary>Why Transport is not Requested ("" when it is).</summary>
        public string Reason = "";

        public static string WireName(LSDTransport t)
        {
            switch (t)
            {
                case LSDTransport.CudaIpc: return "cuda_ipc";
                case LSDTransport.CudaVmm: return "cuda_vmm";
                case LSDTransport.Inline: return "inline";
                default: return "shm";
            }
        }

        /// <summary>The path in words, as the status window shows it.</summary>
        public string Description
        {
            get
            {
                if (ZeroCopy) return "cuda_ipc: frames stay on the GPU" + (Gpu.Length > 0 ? " (" + Gpu + ")" : "");
                return WireName(Transport) + (Reason.Length > 0 ? " (" + Reason + ")" : "");
            }
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
        /// <summary>Inline transport: pixel bytes on the wire each way (after compression), and the
        /// frames that travelled compressed.</summary>
        public ulong InlineBytesSent, InlineBytesReceived, InlineFramesPacked;

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
