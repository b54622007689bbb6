using System;
using System.Runtime.InteropServices;

namespace LSDBridge
{
    /// <summary>
    /// One connection to the lsd-runtime through the native client (one session, one pair
    /// of slot rings). Managed wrapper over lsd_client_*: argument checks up front
    /// (ArgumentException family, ObjectDisposedException), native errors as
    /// <see cref="LSDException"/> carrying the lsd_status and lsd_last_error().
    ///
    /// Conditions that happen in a normal frame loop are returned, not thrown, so a game
    /// that runs while the runtime is absent or restarting does not throw every frame:
    /// Connect → bool; Bind/SetStyle → Ok, Pending, NotConnected; Submit → Ok, NoFreeSlot,
    /// NotConnected, NotBound; Take → Ok, NoFrame, NotConnected, NotBound.
    ///
    /// Thread safety: any method may be called from any thread at the same time (the
    /// native handle serialises), e.g. Submit from the main thread and Take from a worker.
    /// Dispose may race with them: the SafeHandle closes the native client only after the
    /// calls in progress have returned; calls after Dispose throw ObjectDisposedException.
    /// </summary>
    public sealed class LSDClient : IDisposable
    {
        public const string PackageVersion = "0.1.0";

        private readonly LSDClientHandle _handle;
        private readonly object _bindLock = new object();
        private LSDRingOptions _input;
        private LSDRingOptions _output;
        private bool _hasBind;
        private LSDMotionFormat _motion;
        private LSDDepthFormat _depth;

        private LSDClient(LSDClientHandle handle)
        {
            _handle = handle;
        }

        // ---- creation --------------------------------------------------------------------

        /// <summary>Endpoint and token from STATE_DIR/runtime.json, re-read on every reconnect
        /// (null or "": $LSD_BRIDGE_HOME, else ~/.lsd-bridge). Does not wait for the runtime.</summary>
        public static LSDClient FromStateDirectory(string stateDirectory, string clientName)
        {
            LSDClientHandle h;
            LSDStatus s;
            using (var dir = new Utf8Buffer(stateDirectory ?? string.Empty))
            using (var name = new Utf8Buffer(clientName))
            {
                s = NativeMethods.lsd_client_create_from_state(dir.Pointer, name.Pointer, out h);
            }
            return Adopt(h, s, "LSDClient.FromStateDirectory");
        }

        /// <summary>A fixed endpoint and token (the runtime must not be restarted with another token).</summary>
        public static LSDClient FromEndpoint(string endpoint, string token, string clientName)
        {
            if (string.IsNullOrEmpty(endpoint)) throw new ArgumentNullException("endpoint");
            if (token == null) throw new ArgumentNullException("token");
            return Create(new LSDClientOptions { Endpoint = endpoint, Token = token, ClientName = clientName });
        }

        /// <summary>Creates the client and starts its I/O thread; does not wait for the runtime.</summary>
        public static LSDClient Create(LSDClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            if (options.StateDirectory == null && string.IsNullOrEmpty(options.Endpoint))
                throw new ArgumentException("set StateDirectory (\"\" for the default) or Endpoint + Token", "options");
            if (options.StateDirectory == null && options.Token == null)
                throw new ArgumentException("Endpoint needs a Token", "options");
            CheckNonNegative(options.HeartbeatMs, "options.HeartbeatMs");
            CheckNonNegative(options.TimeoutMs, "options.TimeoutMs");
            CheckNonNegative(options.ReconnectMaxMs, "options.ReconnectMaxMs");

            var cfg = new NativeMethods.lsd_client_config();
            cfg.struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_client_config));
            NativeMethods.lsd_client_config_init(ref cfg);
            LSDClientHandle h;
            LSDStatus s;
            using (var endpoint = new Utf8Buffer(options.Endpoint))
            using (var token = new Utf8Buffer(options.Token))
            using (var dir = new Utf8Buffer(options.StateDirectory))
            using (var name = new Utf8Buffer(options.ClientName))
            using (var key = new Utf8Buffer(options.ServerKey))
            {
                cfg.endpoint = endpoint.Pointer;
                cfg.token = token.Pointer;
                cfg.state_dir = dir.Pointer;
                cfg.client_name = name.Pointer;
                cfg.heartbeat_ms = (uint)options.HeartbeatMs;
                cfg.timeout_ms = (uint)options.TimeoutMs;
                cfg.reconnect_max_ms = (uint)options.ReconnectMaxMs;
                cfg.server_key = key.Pointer;
                // the library copies the strings during create
                s = NativeMethods.lsd_client_create(ref cfg, out h);
            }
            return Adopt(h, s, "LSDClient.Create");
        }

        private static LSDClient Adopt(LSDClientHandle h, LSDStatus s, string what)
        {
            if (s != LSDStatus.Ok || h == null || h.IsInvalid)
            {
                LSDException ex = LSDException.FromLastError(s == LSDStatus.Ok ? LSDStatus.Internal : s, what);
                if (h != null) h.Dispose();
                throw ex;
            }
            return new LSDClient(h);
        }

        // ---- state -----------------------------------------------------------------------

        public bool IsDisposed
        {
            get { return _handle.IsClosed; }
        }

        /// <summary>Idle, Connecting, Connected, Ready (rings bound: frames can flow) or Closed.</summary>
        public LSDConnectionState State
        {
            get
            {
                if (_handle.IsClosed) return LSDConnectionState.Closed;
                try { return NativeMethods.lsd_client_state(_handle); }
                catch (ObjectDisposedException) { return LSDConnectionState.Closed; }
            }
        }

        /// <summary>The input ring of the last Bind (what Submit's buffers must match).</summary>
        public LSDRingOptions InputRing { get { lock (_bindLock) return _input; } }

        /// <summary>The output ring of the last Bind (what Take's buffers must hold).</summary>
        public LSDRingOptions OutputRing { get { lock (_bindLock) return _output; } }

        // ---- session ---------------------------------------------------------------------

        /// <summary>Starts connecting and waits up to timeoutMs (0: not at all) for the session.
        /// true: session open. false: not yet; the client keeps trying in the background.</summary>
        public bool Connect(int timeoutMs)
        {
            ThrowIfDisposed();
            CheckNonNegative(timeoutMs, "timeoutMs");
            LSDStatus s = NativeMethods.lsd_client_connect(_handle, (uint)timeoutMs);
            if (s == LSDStatus.Ok) return true;
            if (s == LSDStatus.NotConnected) return false;
            throw LSDException.FromLastError(s, "LSDClient.Connect");
        }

        /// <summary>Requests the rings (remembered and re-sent after reconnects) and waits up to
        /// timeoutMs for them. Ok: ready. Pending: sent, not answered yet. NotConnected: kept,
        /// sent once a session exists. Throws LSDException for Rejected, Unsupported, InvalidArgument...</summary>
        public LSDStatus Bind(LSDBindOptions options, int timeoutMs)
        {
            ThrowIfDisposed();
            if (options == null) throw new ArgumentNullException("options");
            CheckNonNegative(timeoutMs, "timeoutMs");
            CheckRing(options.Input, "options.Input");
            CheckRing(options.Output, "options.Output");
            CheckNonNegative(options.ModelWidth, "options.ModelWidth");
            CheckNonNegative(options.ModelHeight, "options.ModelHeight");

            var d = new NativeMethods.lsd_bind_desc();
            d.struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_bind_desc));
            NativeMethods.lsd_bind_desc_init(ref d, (uint)options.Input.Width, (uint)options.Input.Height, options.Input.Format);
            d.transport = options.Transport;
            d.input = ToNative(options.Input);
            d.output = ToNative(options.Output);
            d.model_width = (uint)options.ModelWidth;
            d.model_height = (uint)options.ModelHeight;
            d.device_ordinal = options.DeviceOrdinal;
            d.codec = options.Codec;
            if (options.Motion != null)
            {
                if (options.Motion.Pitch < 0) throw new ArgumentOutOfRangeException("options", options.Motion.Pitch, "Motion.Pitch must be >= 0");
                d.motion.format = options.Motion.Format;
                d.motion.units = options.Motion.Units;
                d.motion.sign = options.Motion.Sign;
                d.motion.y_up = options.Motion.YUp ? 1 : 0;
                d.motion.pitch = (uint)options.Motion.Pitch;
            }
            if (options.Depth != null)
            {
                if (options.Depth.Pitch < 0) throw new ArgumentOutOfRangeException("options", options.Depth.Pitch, "Depth.Pitch must be >= 0");
                d.depth.format = options.Depth.Format;
                d.depth.kind = options.Depth.Kind;
                d.depth.reversed_z = options.Depth.ReversedZ ? 1 : 0;
                d.depth.near_plane = options.Depth.Near;
                d.depth.far_plane = options.Depth.Far;
                d.depth.pitch = (uint)options.Depth.Pitch;
            }
            LSDStatus s = NativeMethods.lsd_client_bind(_handle, ref d, (uint)timeoutMs);
            if (s == LSDStatus.Ok || s == LSDStatus.Pending || s == LSDStatus.NotConnected)
            {
                lock (_bindLock)
                {
                    _input = options.Input;
                    _output = options.Output;
                    _motion = options.Motion == null ? LSDMotionFormat.None : options.Motion.Format;
                    _depth = options.Depth == null ? LSDDepthFormat.None : options.Depth.Format;
                    _hasBind = true;
                }
                return s;
            }
            throw LSDException.FromLastError(s, "LSDClient.Bind");
        }

        /// <summary>Sets the style (remembered; re-sent after reconnects). Same statuses as Bind.</summary>
        public LSDStatus SetStyle(LSDStyle style, int timeoutMs)
        {
            ThrowIfDisposed();
            if (style == null) throw new ArgumentNullException("style");
            CheckNonNegative(timeoutMs, "timeoutMs");
            if (style.Strength.HasValue && !(style.Strength.Value >= 0.0 && style.Strength.Value <= 1.0))
                throw new ArgumentOutOfRangeException("style", style.Strength.Value, "Strength must be in 0..1");

            var d = new NativeMethods.lsd_style_desc();
            d.struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_style_desc));
            NativeMethods.lsd_style_desc_init(ref d);
            LSDStatus s;
            if (style.Model != null && (style.Backend != null || style.Style != null))
                throw new ArgumentException("give Model, or Backend with Style, not both", "style");
            using (var model = new Utf8Buffer(style.Model))
            using (var backend = new Utf8Buffer(style.Backend))
            using (var name = new Utf8Buffer(style.Style))
            using (var prompt = new Utf8Buffer(style.Prompt))
            {
                d.model = model.Pointer;
                d.backend = backend.Pointer;
                d.style = name.Pointer;
                d.prompt = prompt.Pointer;
                d.has_strength = style.Strength.HasValue ? 1 : 0;
                d.strength = style.Strength.GetValueOrDefault();
                d.has_seed = style.Seed.HasValue ? 1 : 0;
                d.seed = style.Seed.GetValueOrDefault();
                s = NativeMethods.lsd_client_set_style(_handle, ref d, (uint)timeoutMs);
            }
            if (s == LSDStatus.Ok || s == LSDStatus.Pending || s == LSDStatus.NotConnected) return s;
            throw LSDException.FromLastError(s, "LSDClient.SetStyle");
        }

        // ---- frames ----------------------------------------------------------------------

        /// <summary>Copies a tightly packed frame (the bound input ring's size and format, its row
        /// order) into a free input slot and queues it; never waits.</summary>
        public LSDStatus Submit(byte[] pixels, out ulong frameId)
        {
            return Submit(pixels, 0, 0.0, LSDFrameFlags.None, out frameId);
        }

        /// <summary>As Submit(pixels), with the row pitch of <paramref name="pixels"/> (0: tight),
        /// the capture time in seconds (0: the library's clock) and flags.</summary>
        public LSDStatus Submit(byte[] pixels, int pitch, double time, LSDFrameFlags flags, out ulong frameId)
        {
            if (pixels == null) throw new ArgumentNullException("pixels");
            GCHandle pin = GCHandle.Alloc(pixels, GCHandleType.Pinned);
            try
            {
                return Submit(pin.AddrOfPinnedObject(), pixels.LongLength, pitch, time, flags, out frameId);
            }
            finally
            {
                pin.Free();
            }
        }

        /// <summary>Submit from unmanaged memory (e.g. a NativeArray from AsyncGPUReadback).
        /// <paramref name="byteCount"/> is how many bytes are readable at <paramref name="data"/>.</summary>
        public LSDStatus Submit(IntPtr data, long byteCount, int pitch, double time, LSDFrameFlags flags, out ulong frameId)
        {
            return Submit(data, byteCount, pitch, time, flags, default(LSDFramePlanes), out frameId);
        }

        /// <summary>As Submit(data, ...), with this frame's motion vectors and depth (the planes the
        /// bind declared; IntPtr.Zero: not this frame). The library sets the Motion and Depth flags
        /// from the planes given.</summary>
        public LSDStatus Submit(IntPtr data, long byteCount, int pitch, double time, LSDFrameFlags flags,
                                LSDFramePlanes planes, out ulong frameId)
        {
            frameId = 0;
            ThrowIfDisposed();
            if (data == IntPtr.Zero) throw new ArgumentNullException("data");
            Rings bound = RequireBound("Submit");
            LSDRingOptions ring = bound.Input;
            if (planes.Motion != IntPtr.Zero)
                CheckPlane(planes.MotionBytes, planes.MotionPitch, ring, LSDProtocol.BytesPerPixel(bound.Motion), "motion");
            if (planes.Depth != IntPtr.Zero)
                CheckPlane(planes.DepthBytes, planes.DepthPitch, ring, LSDProtocol.BytesPerPixel(bound.Depth), "depth");
            CheckPitch(pitch, ring, "pitch");
            long need = FrameBytes(ring, pitch);
            if (byteCount < need)
                throw new ArgumentException(string.Format(
                    "the frame buffer holds {0} bytes; a {1}x{2} {3} frame with pitch {4} needs {5}",
                    byteCount, ring.Width, ring.Height, ring.Format, pitch, need), "data");
            if (double.IsNaN(time) || time < 0) throw new ArgumentOutOfRangeException("time", time, "must be >= 0");

            var f = new NativeMethods.lsd_frame_in();
            f.struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_frame_in));
            f.data = data;
            f.width = (uint)ring.Width;
            f.height = (uint)ring.Height;
            f.pitch = (uint)pitch;
            f.format = ring.Format;
            f.time = time;
            f.flags = (uint)flags;
            f.motion = planes.Motion;
            f.motion_pitch = (uint)planes.MotionPitch;
            f.depth = planes.Depth;
            f.depth_pitch = (uint)planes.DepthPitch;
            LSDStatus s = NativeMethods.lsd_client_submit(_handle, ref f, out frameId);
            if (s == LSDStatus.Ok || s == LSDStatus.NoFreeSlot || s == LSDStatus.NotConnected || s == LSDStatus.NotBound)
                return s;
            throw LSDException.FromLastError(s, "LSDClient.Submit");
        }

        /// <summary>Copies the newest finished frame (not taken before) into a tightly packed
        /// <paramref name="destination"/> and hands its slot back. Waits up to timeoutMs.</summary>
        public LSDStatus Take(byte[] destination, int timeoutMs, out LSDFrameResult result)
        {
            return Take(destination, 0, timeoutMs, out result);
        }

        public LSDStatus Take(byte[] destination, int pitch, int timeoutMs, out LSDFrameResult result)
        {
            if (destination == null) throw new ArgumentNullException("destination");
            GCHandle pin = GCHandle.Alloc(destination, GCHandleType.Pinned);
            try
            {
                return Take(pin.AddrOfPinnedObject(), destination.LongLength, pitch, timeoutMs, out result);
            }
            finally
            {
                pin.Free();
            }
        }

        /// <summary>Take into unmanaged memory of <paramref name="capacity"/> bytes.</summary>
        public LSDStatus Take(IntPtr destination, long capacity, int pitch, int timeoutMs, out LSDFrameResult result)
        {
            result = default(LSDFrameResult);
            ThrowIfDisposed();
            if (destination == IntPtr.Zero) throw new ArgumentNullException("destination");
            CheckNonNegative(timeoutMs, "timeoutMs");
            LSDRingOptions ring = RequireBound("Take").Output;
            CheckPitch(pitch, ring, "pitch");
            long need = FrameBytes(ring, pitch);
            if (capacity < need)
                throw new ArgumentException(string.Format(
                    "the destination holds {0} bytes; a {1}x{2} {3} frame with pitch {4} needs {5}",
                    capacity, ring.Width, ring.Height, ring.Format, pitch, need), "destination");

            var o = new NativeMethods.lsd_frame_out();
            o.struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_frame_out));
            o.data = destination;
            o.capacity = (ulong)capacity;
            o.pitch = (uint)pitch;
            LSDStatus s = NativeMethods.lsd_client_take(_handle, ref o, (uint)timeoutMs);
            if (s == LSDStatus.Ok)
            {
                result.Width = (int)o.width;
                result.Height = (int)o.height;
                result.Format = o.format;
                result.FrameId = o.frame_id;
                result.Time = o.time;
                result.Timings = new LSDTimings
                {
                    QueueMs = o.timings.queue_ms,
                    InputMs = o.timings.input_ms,
                    BackendMs = o.timings.backend_ms,
                    OutputMs = o.timings.output_ms,
                    TotalMs = o.timings.total_ms,
                    RoundTripMs = o.timings.round_trip_ms,
                };
                return s;
            }
            if (s == LSDStatus.NoFrame || s == LSDStatus.NotConnected || s == LSDStatus.NotBound) return s;
            throw LSDException.FromLastError(s, "LSDClient.Take");
        }

        /// <summary>State, counters and p50/p99 per stage.</summary>
        public LSDStats GetStats()
        {
            ThrowIfDisposed();
            var n = new NativeMethods.lsd_stats();
            n.struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_stats));
            LSDStatus s = NativeMethods.lsd_client_get_stats(_handle, ref n);
            if (s != LSDStatus.Ok) throw LSDException.FromLastError(s, "LSDClient.GetStats");
            return new LSDStats
            {
                State = n.state,
                FramesSubmitted = n.frames_submitted,
                FramesDone = n.frames_done,
                FramesDropped = n.frames_dropped,
                FramesSkipped = n.frames_skipped,
                FramesLost = n.frames_lost,
                FramesTaken = n.frames_taken,
                Reconnects = n.reconnects,
                Errors = n.errors,
                Queue = ToLatency(n.queue),
                Input = ToLatency(n.input),
                Backend = ToLatency(n.backend),
                Output = ToLatency(n.output),
                Total = ToLatency(n.total),
                RoundTrip = ToLatency(n.round_trip),
                InlineBytesSent = n.inline_bytes_sent,
                InlineBytesReceived = n.inline_bytes_received,
                InlineFramesPacked = n.inline_frames_packed,
            };
        }

        /// <summary>What the runtime applied for the last SetStyle (it resolves model names), or why it
        /// refused it: Status Ok (applied), Pending (not answered yet, or none asked for), Rejected
        /// (Message says why; the other fields keep what is still applied).</summary>
        public LSDAppliedStyle GetAppliedStyle()
        {
            ThrowIfDisposed();
            var n = new NativeMethods.lsd_style_info
            {
                struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_style_info)),
                backend = new byte[64], style = new byte[256], model = new byte[256], matched = new byte[64],
                message = new byte[256],
            };
            LSDStatus s = NativeMethods.lsd_client_get_style(_handle, ref n);
            if (s != LSDStatus.Ok) throw LSDException.FromLastError(s, "LSDClient.GetAppliedStyle");
            return new LSDAppliedStyle
            {
                Status = n.status,
                Backend = Utf8.FromFixed(n.backend),
                Style = Utf8.FromFixed(n.style),
                Model = Utf8.FromFixed(n.model),
                Matched = Utf8.FromFixed(n.matched),
                Message = Utf8.FromFixed(n.message),
            };
        }

        /// <summary>Which path the frames are on: the transport asked for and the one in use, whether the
        /// slots are device memory (cuda_ipc: the frames never leave the GPU) and, when the path is not the
        /// one asked for, why (no NVIDIA driver, a runtime without CUDA or on another GPU...).</summary>
        public LSDTransportInfo GetTransport()
        {
            ThrowIfDisposed();
            var n = new NativeMethods.lsd_transport_info
            {
                struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_transport_info)),
                gpu = new byte[64], reason = new byte[256],
            };
            LSDStatus s = NativeMethods.lsd_client_get_transport(_handle, ref n);
            if (s != LSDStatus.Ok) throw LSDException.FromLastError(s, "LSDClient.GetTransport");
            return new LSDTransportInfo
            {
                Requested = n.requested,
                Transport = n.transport,
                ZeroCopy = n.zero_copy != 0,
                CudaDriver = n.cuda_driver != 0,
                Gpu = Utf8.FromFixed(n.gpu),
                Reason = Utf8.FromFixed(n.reason),
            };
        }

        /// <summary>The handle for the Unity glue's render-thread events (they call the library with it);
        /// valid while this client is not disposed.</summary>
        internal IntPtr NativeHandle { get { return _handle.DangerousGetHandle(); } }

        /// <summary>Says bye (best effort, no waiting), stops the I/O thread, frees everything.
        /// Safe to call more than once and from any thread.</summary>
        public void Dispose()
        {
            _handle.Dispose();
        }

        // ---- helpers ---------------------------------------------------------------------

        private void ThrowIfDisposed()
        {
            if (_handle.IsClosed) throw new ObjectDisposedException("LSDClient");
        }

        private struct Rings
        {
            public LSDRingOptions Input, Output;
            public LSDMotionFormat Motion;
            public LSDDepthFormat Depth;
        }

        private Rings RequireBound(string what)
        {
            lock (_bindLock)
            {
                if (!_hasBind) throw new InvalidOperationException(what + ": call Bind first (the frame size comes from the bound ring)");
                return new Rings { Input = _input, Output = _output, Motion = _motion, Depth = _depth };
            }
        }

        private static long FrameBytes(LSDRingOptions ring, int pitch)
        {
            return LSDProtocol.FrameBytes(ring.Width, ring.Height, ring.Format, pitch);
        }

        private static void CheckPitch(int pitch, LSDRingOptions ring, string name)
        {
            if (pitch < 0) throw new ArgumentOutOfRangeException(name, pitch, "must be >= 0 (0: tightly packed)");
            int row = ring.Width * LSDRuntime.BytesPerPixel(ring.Format);
            if (pitch != 0 && pitch < row)
                throw new ArgumentOutOfRangeException(name, pitch, "must be 0 or >= width x bytes per pixel (" + row + ")");
        }

        // a plane buffer of the frame's size: its pitch fits a row and it holds every row
        private static void CheckPlane(long bytes, int pitch, LSDRingOptions ring, int bytesPerPixel, string name)
        {
            if (bytesPerPixel == 0)
                throw new ArgumentException("the frame brings a " + name + " plane, but Bind declared none", "planes");
            long row = (long)ring.Width * bytesPerPixel;
            if (pitch < 0 || (pitch != 0 && pitch < row))
                throw new ArgumentOutOfRangeException("planes", pitch, name + " pitch must be 0 or >= " + row);
            long need = (pitch > 0 ? pitch : row) * (ring.Height - 1) + row;
            if (bytes < need)
                throw new ArgumentException(string.Format("the {0} plane holds {1} bytes; {2}x{3} needs {4}", name, bytes,
                                                          ring.Width, ring.Height, need), "planes");
        }

        private static void CheckRing(LSDRingOptions r, string name)
        {
            if (r.Width <= 0 || r.Height <= 0)
                throw new ArgumentOutOfRangeException(name, string.Format("{0}x{1}", r.Width, r.Height),
                                                      name + ": width and height must be positive");
            if (!Enum.IsDefined(typeof(LSDPixelFormat), r.Format))
                throw new ArgumentOutOfRangeException(name, r.Format, name + ".Format is not an LSDPixelFormat");
            if (r.Pitch < 0) throw new ArgumentOutOfRangeException(name, r.Pitch, name + ".Pitch must be >= 0");
            if (r.Slots < 0) throw new ArgumentOutOfRangeException(name, r.Slots, name + ".Slots must be >= 0");
        }

        private static void CheckNonNegative(int value, string name)
        {
            if (value < 0) throw new ArgumentOutOfRangeException(name, value, "must be >= 0");
        }

        private static NativeMethods.lsd_ring_desc ToNative(LSDRingOptions r)
        {
            return new NativeMethods.lsd_ring_desc
            {
                struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_ring_desc)),
                width = (uint)r.Width,
                height = (uint)r.Height,
                format = r.Format,
                pitch = (uint)r.Pitch,
                bottom_up = r.BottomUp ? 1 : 0,
                color = r.Color,
                slots = (uint)r.Slots,
            };
        }

        private static LSDLatency ToLatency(NativeMethods.lsd_latency l)
        {
            return new LSDLatency { P50Ms = l.p50_ms, P99Ms = l.p99_ms, Samples = l.samples };
        }
    }
}
