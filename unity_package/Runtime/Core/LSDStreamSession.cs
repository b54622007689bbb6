using System;

namespace LSDBridge
{
    /// <summary>Everything an LSDStreamSession needs to start.</summary>
    public sealed class LSDSessionOptions
    {
        /// <summary>"sd-turbo", "toon", "effects", "effects:sketch", ... (see LSDModelSelector).</summary>
        public string Model = "sd-turbo";
        /// <summary>null or "": $LSD_BRIDGE_HOME, else ~/.lsd-bridge.</summary>
        public string StateDirectory = "";
        public string ClientName = "unity/" + LSDClient.PackageVersion;
        public int Width = 512;
        public int Height = 512;
        public LSDPixelFormat Format = LSDPixelFormat.Rgba8;
        public LSDColorEncoding InputColor = LSDColorEncoding.Default;
        public LSDColorEncoding OutputColor = LSDColorEncoding.Default;
        public bool InputBottomUp = true;
        public bool OutputBottomUp = true;
        /// <summary>0, 0: the backend's choice.</summary>
        public int ModelWidth;
        public int ModelHeight;
        public LSDTransport Transport = LSDTransport.Shm;
        public string Prompt;
        public double? Strength;
        public long? Seed;
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
            if (options.Width <= 0 || options.Height <= 0)
                throw new ArgumentOutOfRangeException("options", options.Width + "x" + options.Height, "Width and Height must be positive");
            _options = options;
            _style = LSDModelSelector.Resolve(options.Model);
            _style.Prompt = options.Prompt;
            _style.Strength = options.Strength;
            _style.Seed = options.Seed;
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
            var bind = new LSDBindOptions(_options.Width, _options.Height, _options.Format)
            {
                Transport = _options.Transport,
                ModelWidth = _options.ModelWidth,
                ModelHeight = _options.ModelHeight,
            };
            bind.Input.Color = _options.InputColor;
            bind.Input.BottomUp = _options.InputBottomUp;
            bind.Output.Color = _options.OutputColor;
            bind.Output.BottomUp = _options.OutputBottomUp;
            LSDClient client = LSDClient.FromStateDirectory(_options.StateDirectory ?? "", _options.ClientName);
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

        public void SetPrompt(string prompt) { UpdateStyle(s => s.Prompt = prompt); }

        public void SetStrength(double strength)
        {
            if (!(strength >= 0.0 && strength <= 1.0)) throw new ArgumentOutOfRangeException("strength", strength, "must be in 0..1");
            UpdateStyle(s => s.Strength = strength);
        }

        public void SetSeed(long seed) { UpdateStyle(s => s.Seed = seed); }

        /// <summary>Switches model/style ("sd-turbo", "toon", ...), keeping prompt, strength and seed.</summary>
        public void SetModel(string model)
        {
            LSDStyle m = LSDModelSelector.Resolve(model);
            UpdateStyle(s => { s.Backend = m.Backend; s.Style = m.Style; });
        }

        private void UpdateStyle(Action<LSDStyle> change)
        {
            ThrowIfDisposed();
            LSDStyle copy;
            lock (_styleLock)
            {
                change(_style);
                copy = _style.Clone();
            }
            if (IsStarted) _client.SetStyle(copy, 0);
        }

        /// <summary>Queues a frame (the session's size/format, tightly packed unless pitch is given); never waits.</summary>
        public LSDStatus Submit(IntPtr data, long byteCount, int pitch, double time)
        {
            return RequireClient().Submit(data, byteCount, pitch, time, LSDFrameFlags.None, out ulong _);
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
