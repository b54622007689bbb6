using System;

namespace LSDBridge
{
    /// <summary>Everything an LSDStreamSession needs to start: the stream the user asked for (the one
    /// options type, LSDStreamOptions) and the frame layout the engine side works out.</summary>
    public sealed class LSDSessionOptions
    {
        public LSDStreamOptions Stream = new LSDStreamOptions();
        public string ClientName = "unity/" + LSDClient.PackageVersion;
        public LSDPixelFormat Format = LSDPixelFormat.Rgba8;
        public LSDColorEncoding InputColor = LSDColorEncoding.Default;
        public LSDColorEncoding OutputColor = LSDColorEncoding.Default;
        public bool InputBottomUp = true;
        public bool OutputBottomUp = true;
        public LSDTransport Transport = LSDTransport.Shm;
        /// <summary>The engine's motion vectors beside every frame (declared in the bind; shm only); null: none.</summary>
        public LSDMotionOptions Motion;
        /// <summary>The engine's depth beside every frame (declared in the bind; shm only); null: none.</summary>
        public LSDDepthOptions Depth;
    }

    /// <summary>
    /// A non-blocking streaming session for a frame loop (what LSDStreamEngine runs on; no
    /// UnityEngine here). Start() never waits for the runtime: connect, bind and style are
    /// requested with timeout 0 and the native client completes them in the background (and
    /// again after every reconnect). Call Poll() once per frame from the thread that wants
    /// the Connected/Disconnected events.
    /// </summary>
    public sealed class LSDStreamSession : IDisposable
    {
        private readonly LSDSessionOptions _options;
        private readonly object _styleLock = new object();
        private LSDStyle _style;
        private LSDClient _client;
        private bool _wasReady;
        private bool _disposed;

        public event Action Connected;
        public event Action Disconnected;

        public LSDStreamSession(LSDSessionOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            if (options.Stream == null) throw new ArgumentNullException("options", "options.Stream is null");
            options.Stream.Validate();
            _options = options;
            _style = options.Stream.ToStyle();
        }

        public LSDClient Client { get { return _client; } }
        public bool IsStarted { get { return _client != null && !_client.IsDisposed; } }
        public LSDBindOptions BindOptions { get; private set; }

        public LSDConnectionState State
        {
            get { return _client == null ? LSDConnectionState.Idle : _client.State; }
        }

        /// <summary>The style last requested (backend, style, prompt, strength, seed).</summary>
        public LSDStyle Style { get { lock (_styleLock) return _style.Clone(); } }

        /// <summary>Creates the client and requests connect, bind and style; returns at once.</summary>
        public void Start()
        {
            ThrowIfDisposed();
            if (IsStarted) return;
            LSDStreamOptions stream = _options.Stream;
            var bind = new LSDBindOptions(stream.width, stream.height, _options.Format)
            {
                Transport = _options.Transport,
                ModelWidth = stream.modelWidth,
                ModelHeight = stream.modelHeight,
            };
            bind.Input.Color = _options.InputColor;
            bind.Input.BottomUp = _options.InputBottomUp;
            bind.Output.Color = _options.OutputColor;
            bind.Output.BottomUp = _options.OutputBottomUp;
            bind.Motion = _options.Motion;
            bind.Depth = _options.Depth;
            LSDClient client = LSDClient.FromStateDirectory(stream.stateDirectory ?? "", _options.ClientName);
            try
            {
                client.Connect(0);
                client.Bind(bind, 0);
                client.SetStyle(Style, 0);
            }
            catch
            {
                client.Dispose();
                throw;
            }
            BindOptions = bind;
            _client = client;
            _wasReady = false;
        }

        /// <summary>Blocks up to timeoutMs until the rings are bound (tests, tools; not per frame).</summary>
        public bool WaitReady(int timeoutMs)
        {
            LSDClient c = RequireClient();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                if (c.State == LSDConnectionState.Ready) return true;
                long left = timeoutMs - sw.ElapsedMilliseconds;
                if (left <= 0) return false;
                c.Connect((int)Math.Min(left, 50));
                if (c.State != LSDConnectionState.Ready) System.Threading.Thread.Sleep(5);
            }
        }

        /// <summary>The text prompt; setting it restyles from the next frame.</summary>
        public string Prompt
        {
            get { lock (_styleLock) return _style.Prompt; }
            set { UpdateStyle(s => s.Prompt = string.IsNullOrEmpty(value) ? null : value); }
        }

        /// <summary>0..1; null: the model's own strength.</summary>
        public double? Strength
        {
            get { lock (_styleLock) return _style.Strength; }
            set
            {
                if (value.HasValue && !(value.Value >= 0.0 && value.Value <= 1.0))
                    throw new ArgumentOutOfRangeException("value", value.Value, "Strength must be in 0..1");
                UpdateStyle(s => s.Strength = value);
            }
        }

        /// <summary>Random seed; null: the model's choice.</summary>
        public long? Seed
        {
            get { lock (_styleLock) return _style.Seed; }
            set { UpdateStyle(s => s.Seed = value); }
        }

        /// <summary>The model name ("sd-turbo", "toon", ...; the runtime resolves it), keeping prompt,
        /// strength and seed. null or "": the runtime's default model.</summary>
        public string Model
        {
            get { lock (_styleLock) return _style.Model; }
            set
            {
                string m = string.IsNullOrEmpty(value) ? null : value.Trim();
                UpdateStyle(s => { s.Model = m; s.Backend = null; s.Style = null; });
            }
        }

        /// <summary>Takes the style of <paramref name="stream"/> (model, prompt, strength, seed) in one request.</summary>
        public void ApplyStyle(LSDStreamOptions stream)
        {
            if (stream == null) throw new ArgumentNullException("stream");
            stream.Validate();
            LSDStyle next = stream.ToStyle();
            UpdateStyle(s => { s.Model = next.Model; s.Backend = null; s.Style = null; s.Prompt = next.Prompt;
                               s.Strength = next.Strength; s.Seed = next.Seed; });
        }

        private void UpdateStyle(Action<LSDStyle> change)
        {
            ThrowIfDisposed();
            LSDStyle copy;
            lock (_styleLock)
            {
                LSDStyle before = _style.Clone();
                change(_style);
                if (_style.SameAs(before)) return;  // nothing new to tell the runtime
                copy = _style.Clone();
            }
            if (IsStarted) _client.SetStyle(copy, 0);
        }

        /// <summary>Queues a frame (the session's size/format, tightly packed unless pitch is given); never waits.</summary>
        public LSDStatus Submit(IntPtr data, long byteCount, int pitch, double time)
        {
            return RequireClient().Submit(data, byteCount, pitch, time, LSDFrameFlags.None, out ulong _);
        }

        /// <summary>As Submit(data, ...), with flags (Reset: the camera cut) and this frame's motion vectors and
        /// depth (the planes the session's options declared; IntPtr.Zero: not this frame); never waits.</summary>
        public LSDStatus Submit(IntPtr data, long byteCount, int pitch, double time, LSDFrameFlags flags, LSDFramePlanes planes)
        {
            return RequireClient().Submit(data, byteCount, pitch, time, flags, planes, out ulong _);
        }

        public LSDStatus Submit(byte[] pixels)
        {
            return RequireClient().Submit(pixels, out ulong _);
        }

        /// <summary>Copies the newest finished frame, if there is one, without waiting.</summary>
        public LSDStatus TryTake(IntPtr destination, long capacity, int pitch, out LSDFrameResult result)
        {
            return RequireClient().Take(destination, capacity, pitch, 0, out result);
        }

        public LSDStatus TryTake(byte[] destination, out LSDFrameResult result)
        {
            return RequireClient().Take(destination, 0, out result);
        }

        /// <summary>Raises Connected when the rings become ready and Disconnected when they stop being ready.</summary>
        public void Poll()
        {
            bool ready = IsStarted && _client.State == LSDConnectionState.Ready;
            if (ready == _wasReady) return;
            _wasReady = ready;
            Action handler = ready ? Connected : Disconnected;
            if (handler != null) handler();
        }

        public LSDStats GetStats()
        {
            return IsStarted ? _client.GetStats() : new LSDStats { State = LSDConnectionState.Idle };
        }

        /// <summary>Closes the client (bye, frees the slots); Start() may be called again.</summary>
        public void Stop()
        {
            LSDClient c = _client;
            _client = null;
            if (c != null) c.Dispose();
            if (_wasReady)
            {
                _wasReady = false;
                Action handler = Disconnected;
                if (handler != null) handler();
            }
        }

        public void Dispose()
        {
            if (_disposed) return;
            Stop();
            _disposed = true;
        }

        private LSDClient RequireClient()
        {
            ThrowIfDisposed();
            LSDClient c = _client;
            if (c == null) throw new InvalidOperationException("the session is not started (call Start)");
            return c;
        }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException("LSDStreamSession");
        }
    }
}
