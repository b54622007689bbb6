using System;
using System.Collections;
using Unity.Collections;
using Unity.Collections.LowLevel.Unsafe;
using UnityEngine;
using UnityEngine.Experimental.Rendering;
using UnityEngine.Rendering;

namespace LSDBridge
{
    /// <summary>Settings beyond the model (all optional).</summary>
    [Serializable]
    public sealed class LSDEngineSettings
    {
        [Tooltip("Frame size sent to the runtime (the source is scaled to it on the GPU).")]
        public int width = 512;
        public int height = 512;
        [Tooltip("Backend resolution; 0 = the backend's choice.")]
        public int modelWidth;
        public int modelHeight;
        [Tooltip("Where runtime.json lives; empty = $LSD_BRIDGE_HOME or ~/.lsd-bridge.")]
        public string stateDirectory = "";
        public string prompt = "";
        [Range(0f, 1f)] public float strength = 0.5f;
        public int seed = 2;
        [Tooltip("Row-order override; Auto follows the source (see README: vertical flip).")]
        public LSDFlipMode flip = LSDFlipMode.Auto;
    }

    /// <summary>
    /// Streams a camera (or a texture) through the LSD runtime and shows the restyled frames in
    /// a texture:
    /// <code>
    /// var engine = new LSDStreamEngine("sd-turbo", useGPU: true);
    /// engine.BindTexture(outputTexture);
    /// engine.StartCapture();
    /// </code>
    /// Nothing here blocks the main thread: the runtime is reached in the background, frames go
    /// out through AsyncGPUReadback into shared-memory slots, finished frames are copied into the
    /// output texture when they arrive (the last one stays on screen meanwhile).
    /// GPU path (useGPU): the native texture pointer is taken once at bind and per-frame work is
    /// queued on the render thread (CommandBuffer.IssuePluginEventAndData); the texture -> CUDA copy
    /// is not in this build, so the engine reports why (GpuPathStatus) and uses the readback path.
    /// </summary>
    public sealed class LSDStreamEngine : IDisposable
    {
        private readonly LSDEngineSettings _settings;
        private readonly bool _useGpu;
        private string _model;
        private LSDStreamSession _session;
        private Texture _output;
        private Texture _sourceTexture;
        private Camera _sourceCamera;
        private RenderTexture _capture;       // source scaled to the session size, read back from here
        private Texture2D _upload;            // restyled frames land here
        private NativeArray<byte> _outPixels;
        private LSDRenderThreadTexture _gpuSource, _gpuOutput;
        private LSDEngineDriver _driver;
        private int _readbacksInFlight;
        private bool _capturing;
        private bool _disposed;
        private bool _sourceIsScreen;

        public event Action Connected;
        public event Action Disconnected;
        /// <summary>A restyled frame was written into the output texture (timings in the result).</summary>
        public event Action<LSDFrameResult> FramePresented;

        public LSDStreamEngine(string model = "sd-turbo", bool useGPU = true, LSDEngineSettings settings = null)
        {
            LSDModelSelector.Resolve(model);   // validates
            _model = model;
            _useGpu = useGPU;
            _settings = settings ?? new LSDEngineSettings();
        }

        public bool IsCapturing { get { return _capturing; } }
        public LSDConnectionState State { get { return _session == null ? LSDConnectionState.Idle : _session.State; } }
        /// <summary>true when frames go through the GPU path, false on the readback fallback.</summary>
        public bool UsingGpuPath { get; private set; }
        /// <summary>Why the GPU path is not used (null when it is, or when it was not asked for).</summary>
        public string GpuPathStatus { get; private set; }
        public int FramesPresented { get; private set; }
        public int ReadbackErrors { get; private set; }
        public LSDFrameResult LastFrame { get; private set; }
        public Texture OutputTexture { get { return _output; } }

        /// <summary>Counters, p50/p99 latencies and the connection state (cheap; fine every frame).</summary>
        public LSDStats Stats
        {
            get { return _session == null ? new LSDStats { State = LSDConnectionState.Idle } : _session.GetStats(); }
        }

        /// <summary>The restyled frames are written into this Texture2D or RenderTexture.</summary>
        public void BindTexture(Texture output)
        {
            ThrowIfDisposed();
            if (output == null) throw new ArgumentNullException("output");
            if (!(output is Texture2D) && !(output is RenderTexture))
                throw new ArgumentException("output must be a Texture2D or a RenderTexture", "output");
            _output = output;
        }

        /// <summary>Capture this camera (default: Camera.main). With a targetTexture the camera's
        /// render texture is used; without, the final screen image.</summary>
        public void BindSource(Camera camera)
        {
            ThrowIfDisposed();
            _sourceCamera = camera;
            _sourceTexture = null;
        }

        /// <summary>Capture this texture (e.g. a RenderTexture the game renders into).</summary>
        public void BindSource(Texture texture)
        {
            ThrowIfDisposed();
            if (texture == null) throw new ArgumentNullException("texture");
            _sourceTexture = texture;
            _sourceCamera = null;
        }

        public void StartCapture()
        {
            ThrowIfDisposed();
            if (_capturing) return;
            if (_output == null) throw new InvalidOperationException("call BindTexture(output) before StartCapture");
            if (!SystemInfo.supportsAsyncGPUReadback)
                throw new NotSupportedException("this platform/graphics API has no AsyncGPUReadback");

            int w = _settings.width, h = _settings.height;
            bool linear = QualitySettings.activeColorSpace == ColorSpace.Linear;
            // our capture target: 8-bit, sRGB-encoded storage (what the backends work in)
            _capture = new RenderTexture(w, h, 0, RenderTextureFormat.ARGB32, RenderTextureReadWrite.sRGB) { name = "LSD capture" };
            _capture.Create();
            _upload = new Texture2D(w, h, TextureFormat.RGBA32, false, false) { name = "LSD restyled" };
            _outPixels = new NativeArray<byte>(w * h * 4, Allocator.Persistent, NativeArrayOptions.ClearMemory);

            _sourceIsScreen = _sourceTexture == null && (_sourceCamera == null || _sourceCamera.targetTexture == null);
            LSDFrameSourceKind kind = _sourceIsScreen ? LSDFrameSourceKind.UnflippedTarget : LSDFrameSourceKind.UnityTexture;
            var options = new LSDSessionOptions
            {
                Model = _model,
                StateDirectory = _settings.stateDirectory,
                ClientName = "unity/" + LSDClient.PackageVersion + " (" + Application.unityVersion + ")",
                Width = w,
                Height = h,
                Format = LSDPixelFormat.Rgba8,
                InputColor = LSDFrameConventions.ResolveColor(linear, _capture.sRGB, LSDPixelFormat.Rgba8),
                OutputColor = LSDFrameConventions.ResolveColor(linear, true, LSDPixelFormat.Rgba8),
                // readback data is in texture memory order; the upload (LoadRawTextureData) expects bottom-up
                InputBottomUp = LSDFrameConventions.ResolveBottomUp(_settings.flip, kind, SystemInfo.graphicsUVStartsAtTop),
                OutputBottomUp = true,
                ModelWidth = _settings.modelWidth,
                ModelHeight = _settings.modelHeight,
                Prompt = string.IsNullOrEmpty(_settings.prompt) ? null : _settings.prompt,
                Strength = _settings.strength,
                Seed = _settings.seed,
            };
            _session = new LSDStreamSession(options);
            _session.Connected += OnConnected;
            _session.Disconnected += OnDisconnected;
            _session.Start();   // never waits for the runtime

            SetUpGpuPath();
            _driver = LSDEngineDriver.Create(this);
            _capturing = true;
        }

        /// <summary>Stops capturing and closes the session; the output keeps its last frame.</summary>
        public void Stop()
        {
            if (!_capturing) return;
            _capturing = false;
            if (_driver != null) _driver.Detach();
            _driver = null;
            if (_gpuSource != null) _gpuSource.Dispose();
            if (_gpuOutput != null) _gpuOutput.Dispose();
            _gpuSource = _gpuOutput = null;
            if (_session != null) _session.Dispose();
            _session = null;
            // readbacks in flight complete later and find _capturing false; their NativeArrays are Unity's
            if (_capture != null) { _capture.Release(); UnityEngine.Object.Destroy(_capture); }
            _capture = null;
            if (_upload != null) UnityEngine.Object.Destroy(_upload);
            _upload = null;
            if (_outPixels.IsCreated) _outPixels.Dispose();
        }

        public void SetPrompt(string prompt) { _settings.prompt = prompt ?? ""; if (_session != null) _session.SetPrompt(prompt); }

        public void SetStrength(float strength)
        {
            if (!(strength >= 0f && strength <= 1f)) throw new ArgumentOutOfRangeException("strength", strength, "must be in 0..1");
            _settings.strength = strength;
            if (_session != null) _session.SetStrength(strength);
        }

        public void SetSeed(int seed) { _settings.seed = seed; if (_session != null) _session.SetSeed(seed); }

        public void SetModel(string model)
        {
            LSDModelSelector.Resolve(model);
            _model = model;
            if (_session != null) _session.SetModel(model);
        }

        public void Dispose()
        {
            if (_disposed) return;
            Stop();
            _disposed = true;
        }

        // ---- per frame (driven by LSDEngineDriver) -----------------------------------------------

        internal void OnUpdate()
        {
            if (!_capturing) return;
            _session.Poll();
            PresentNewestFrame();
            LSDDeferredFree.Collect();
        }

        /// <summary>After rendering (WaitForEndOfFrame): copy the source into the capture RT on the GPU
        /// and request an async readback; the callback submits the pixels into a shm slot.</summary>
        internal void OnEndOfFrame()
        {
            if (!_capturing || _session.State != LSDConnectionState.Ready) return;
            if (_readbacksInFlight >= 2) return;   // the GPU is behind: skip this frame (latest wins anyway)
            if (_sourceIsScreen)
            {
                if (_sourceCamera != null && !_sourceCamera.isActiveAndEnabled) return;
                RenderTexture tmp = RenderTexture.GetTemporary(Screen.width, Screen.height, 0, RenderTextureFormat.ARGB32, RenderTextureReadWrite.sRGB);
                ScreenCapture.CaptureScreenshotIntoRenderTexture(tmp);
                Graphics.Blit(tmp, _capture);
                RenderTexture.ReleaseTemporary(tmp);
            }
            else
            {
                Texture src = _sourceTexture != null ? _sourceTexture : _sourceCamera.targetTexture;
                if (src == null) return;
                Graphics.Blit(src, _capture);
            }
            if (UsingGpuPath && _gpuSource != null) _gpuSource.Issue(LSDUnityNative.EventCapture);
            _readbacksInFlight++;
            double time = Time.realtimeSinceStartupAsDouble;
            AsyncGPUReadback.Request(_capture, 0, TextureFormat.RGBA32, request => OnReadback(request, time));
        }

        private unsafe void OnReadback(AsyncGPUReadbackRequest request, double time)
        {
            _readbacksInFlight--;
            if (!_capturing || _session == null) return;
            if (request.hasError) { ReadbackErrors++; return; }
            NativeArray<byte> data = request.GetData<byte>();
            IntPtr ptr = (IntPtr)NativeArrayUnsafeUtility.GetUnsafeReadOnlyPtr(data);
            // copies into a free input slot and returns at once (NoFreeSlot: skipped, latest frame wins)
            _session.Submit(ptr, data.Length, 0, time);
        }

        private unsafe void PresentNewestFrame()
        {
            if (_session.State != LSDConnectionState.Ready) return;
            LSDFrameResult result;
            IntPtr ptr = (IntPtr)NativeArrayUnsafeUtility.GetUnsafePtr(_outPixels);
            if (_session.TryTake(ptr, _outPixels.Length, 0, out result) != LSDStatus.Ok) return;
            _upload.LoadRawTextureData(_outPixels);
            _upload.Apply(false, false);
            var rt = _output as RenderTexture;
            if (rt != null) Graphics.Blit(_upload, rt);
            else if (_output != _upload) Graphics.CopyTexture(_upload, _output);   // needs equal size/format
            if (UsingGpuPath && _gpuOutput != null) _gpuOutput.Issue(LSDUnityNative.EventPresent);
            LastFrame = result;
            FramesPresented++;
            Action<LSDFrameResult> h = FramePresented;
            if (h != null) h(result);
        }

        private void SetUpGpuPath()
        {
            UsingGpuPath = false;
            GpuPathStatus = null;
            if (!_useGpu) return;
            string why = LSDUnityNative.GpuPathUnavailableReason();
            if (why != null)
            {
                GpuPathStatus = why;
                Debug.LogWarning("LSD Bridge: GPU path unavailable (" + why + "); using AsyncGPUReadback + shared memory.");
                return;
            }
            // taken once, on bind; per-frame work goes through the render thread
            _gpuSource = new LSDRenderThreadTexture(_capture, "LSD capture (GPU)");
            _gpuOutput = new LSDRenderThreadTexture(_output, "LSD present (GPU)");
            UsingGpuPath = true;
        }

        private void OnConnected() { Action h = Connected; if (h != null) h(); }
        private void OnDisconnected() { Action h = Disconnected; if (h != null) h(); }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException("LSDStreamEngine");
        }
    }

    /// <summary>Hidden per-engine MonoBehaviour that drives Update and end-of-frame capture.</summary>
    [AddComponentMenu("")]
    internal sealed class LSDEngineDriver : MonoBehaviour
    {
        private LSDStreamEngine _engine;
        private readonly WaitForEndOfFrame _endOfFrame = new WaitForEndOfFrame();

        internal static LSDEngineDriver Create(LSDStreamEngine engine)
        {
            var go = new GameObject("LSD Bridge engine") { hideFlags = HideFlags.HideAndDontSave };
            UnityEngine.Object.DontDestroyOnLoad(go);
            var d = go.AddComponent<LSDEngineDriver>();
            d._engine = engine;
            return d;
        }

        internal void Detach()
        {
            _engine = null;
            if (this != null) Destroy(gameObject);
        }

        private IEnumerator Start()
        {
            while (_engine != null)
            {
                yield return _endOfFrame;
                if (_engine != null) _engine.OnEndOfFrame();
            }
        }

        private void Update()
        {
            if (_engine != null) _engine.OnUpdate();
        }

        private void OnDestroy()
        {
            LSDStreamEngine e = _engine;
            _engine = null;
            if (e != null) e.Stop();   // scene teardown / play mode exit: close the session
        }
    }
}
