using System;
using System.Collections;
using Unity.Collections;
using Unity.Collections.LowLevel.Unsafe;
using UnityEngine;
using UnityEngine.Rendering;

namespace LSDBridge
{
    /// <summary>
    /// Streams a camera (or a texture) through the LSD runtime and shows the restyled frames in
    /// a texture:
    /// <code>
    /// var engine = new LSDStreamEngine("sd-turbo");
    /// engine.BindTexture(outputTexture);
    /// engine.StartCapture();
    /// </code>
    /// Nothing here blocks the main thread: the runtime is reached in the background, frames go
    /// out through AsyncGPUReadback into shared-memory slots, finished frames are copied into the
    /// output texture when they arrive (the last one stays on screen meanwhile).
    /// GPU path (useGPU, or by default where it can run: an NVIDIA driver with OpenGL Core or Direct3D 11,
    /// no motion/depth planes): the session binds cuda_ipc, the capture and output textures are registered
    /// with CUDA once, and each frame is copied texture -> slot and slot -> texture on the render thread
    /// (CommandBuffer.IssuePluginEventAndData); with a runtime that serves cuda_ipc the pixels never leave
    /// the GPU, with one that does not (no CUDA, another GPU) the same events copy through shared memory.
    /// Where the GPU path cannot run the engine says why (GpuPathStatus) and reads back instead.
    /// With LSDStreamOptions.sendMotionAndDepth, a camera source on the built-in render pipeline also sends
    /// its motion vectors and depth with every frame (LSDCameraPlanes; MotionAndDepthStatus says what is sent
    /// and why); MarkCameraCut tells the runtime the camera cut.
    /// </summary>
    public sealed class LSDStreamEngine : IDisposable
    {
        private readonly LSDStreamOptions _options;
        private readonly bool? _useGpu;   // null: the GPU path when available (quietly), else readback
        private LSDStreamSession _session;
        private Texture _output;
        private Texture _sourceTexture;
        private Camera _sourceCamera;
        private RenderTexture _capture;       // source scaled to the session size, read back from here
        private Texture2D _upload;            // restyled frames land here
        private NativeArray<byte> _outPixels;
        private LSDRenderThreadTexture _gpuSource, _gpuOutput;
        private bool _gpuRegistered;         // both textures are registered with CUDA (their REGISTER events ran ok)
        private bool _forceReadback;         // the GPU path failed on this device: the next Begin reads back
        private bool _restartOnReadback;     // ... and this capture restarts that way at the next update
        private bool _gpuCut;                // MarkCameraCut on the GPU path: the next frame carries Reset
        private ulong _lastPresentedId;
        private LSDTransportInfo _transport;
        private LSDEngineDriver _driver;
        // at most two frames in flight (each one place, however many readbacks it takes); a readback of an earlier
        // capture finds a newer generation and is ignored
        private readonly LSDReadbackGate _readbacks = new LSDReadbackGate(2);
        // puts colour, motion and depth readbacks of one frame back together and submits them (one per capture)
        private LSDFrameAssembler _assembler;
        private LSDCameraPlanes _planes;          // null: colour only
        private LSDPlanesDecision _planesDecision;
        private string _planesWarningSaid;        // each different warning once per engine
        private bool _capturing;
        private bool _disposed;
        private bool _sourceIsScreen;
        private Camera _activeCamera;        // the camera captured: the bound one, else Camera.main at StartCapture
        private bool _sourceGoneReported;

        public event Action Connected;
        public event Action Disconnected;
        /// <summary>A restyled frame was written into the output texture (timings in the result).</summary>
        public event Action<LSDFrameResult> FramePresented;

        /// <summary>A stream of <paramref name="options"/> (a copy is kept; null: the defaults) with
        /// <paramref name="model"/>, when given, as its model. The runtime resolves the model name;
        /// one it does not know is reported by AppliedStyle. <paramref name="useGPU"/>: null (default)
        /// uses the GPU path when this build and platform have it and the readback path otherwise;
        /// true asks for it (a warning says why when it cannot be had); false: readback always.</summary>
        public LSDStreamEngine(string model = null, bool? useGPU = null, LSDStreamOptions options = null)
        {
            _options = options != null ? options.Clone() : new LSDStreamOptions();
            if (model != null) _options.model = model;
            _options.Validate();
            _useGpu = useGPU;
        }

        /// <summary>A copy of the options in effect.</summary>
        public LSDStreamOptions Options { get { return _options.Clone(); } }

        /// <summary>The model name; setting it restyles from the next frame.</summary>
        public string Model
        {
            get { return _options.model; }
            set { _options.model = value; if (_session != null) _session.Model = value; }
        }

        /// <summary>The text prompt; setting it restyles from the next frame.</summary>
        public string Prompt
        {
            get { return _options.prompt; }
            set { _options.prompt = value ?? ""; if (_session != null) _session.Prompt = value; }
        }

        /// <summary>0..1; null: the model's own strength.</summary>
        public float? Strength
        {
            get { return _options.overrideStrength ? (float?)_options.strength : null; }
            set
            {
                if (value.HasValue && !(value.Value >= 0f && value.Value <= 1f))
                    throw new ArgumentOutOfRangeException("value", value.Value, "Strength must be in 0..1");
                _options.overrideStrength = value.HasValue;
                if (value.HasValue) _options.strength = value.Value;
                if (_session != null) _session.Strength = value;
            }
        }

        /// <summary>Random seed; negative: the model's choice.</summary>
        public int Seed
        {
            get { return _options.seed; }
            set { _options.seed = value; if (_session != null) _session.Seed = value >= 0 ? (long?)value : null; }
        }

        /// <summary>Takes all of <paramref name="options"/>: model, prompt, strength and seed at once (one
        /// request to the runtime, none if nothing changed); the frame and model size, state directory and
        /// flip and sendMotionAndDepth at the next StartCapture (a bound Texture2D output is checked against the
        /// new size there).</summary>
        public void Apply(LSDStreamOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            options.Validate();
            _options.model = options.model;
            _options.prompt = options.prompt;
            _options.overrideStrength = options.overrideStrength;
            _options.strength = options.strength;
            _options.seed = options.seed;
            _options.width = options.width;
            _options.height = options.height;
            _options.modelWidth = options.modelWidth;
            _options.modelHeight = options.modelHeight;
            _options.stateDirectory = options.stateDirectory;
            _options.flip = options.flip;
            _options.sendMotionAndDepth = options.sendMotionAndDepth;
            if (_session != null) _session.ApplyStyle(_options);
        }

        /// <summary>What the runtime applied (it resolves the model), or why it refused; null before
        /// StartCapture.</summary>
        public LSDAppliedStyle AppliedStyle
        {
            get { return _session != null && _session.Client != null ? _session.Client.GetAppliedStyle() : null; }
        }

        public bool IsCapturing { get { return _capturing; } }
        public LSDConnectionState State { get { return _session == null ? LSDConnectionState.Idle : _session.State; } }
        private LSDPathDecision _path;
        /// <summary>true when frames go through the GPU path, false on the readback path.</summary>
        public bool UsingGpuPath { get { return _path.UseGpu; } }
        /// <summary>Why the GPU path is not used (null when it is, or before StartCapture).</summary>
        public string GpuPathStatus { get { return _path.GpuStatus; } }
        /// <summary>The path frames take, in words (what the status window shows): on the GPU path also the
        /// transport the runtime gave (cuda_ipc: the frames stay on the GPU) or why another.</summary>
        public string PathDescription
        {
            get
            {
                if (!_capturing) return "not capturing";
                if (!_path.UseGpu || _transport == null) return _path.Description;
                return _path.Description + "; " + _transport.Description;
            }
        }
        /// <summary>Which transport the session's frames use and why (null before the session is bound).</summary>
        public LSDTransportInfo Transport { get { return _transport; } }
        public int FramesPresented { get; private set; }
        public int ReadbackErrors { get; private set; }
        public LSDFrameResult LastFrame { get; private set; }
        /// <summary>Whether motion vectors and depth go with the frames, and why not (sendMotionAndDepth).</summary>
        public string MotionAndDepthStatus { get { return _capturing ? _planesDecision.Status : "not capturing"; } }

        /// <summary>The camera cut (a teleport, a new shot, a level load): the next frame submitted that was
        /// captured after this call carries LSDFrameFlags.Reset, so the runtime forgets earlier frames instead
        /// of blending across the cut. Call it in the frame the cut happens (Update or LateUpdate); nothing
        /// happens while not capturing (a new capture starts fresh anyway).</summary>
        public void MarkCameraCut()
        {
            if (_capturing && _assembler != null && !_assembler.IsDisposed) _assembler.MarkCameraCut();
            if (_capturing) _gpuCut = true;
        }
        public Texture OutputTexture { get { return _output; } }

        /// <summary>Counters, p50/p99 latencies and the connection state (cheap; fine every frame).</summary>
        public LSDStats Stats
        {
            get { return _session == null ? new LSDStats { State = LSDConnectionState.Idle } : _session.GetStats(); }
        }

        /// <summary>The restyled frames are written into this RenderTexture (any size and format: the frame
        /// is scaled into it) or Texture2D (copied as it is: exactly the stream's size, RGBA32, one mip).</summary>
        public void BindTexture(Texture output)
        {
            ThrowIfDisposed();
            if (output == null) throw new ArgumentNullException("output");
            if (!(output is Texture2D) && !(output is RenderTexture))
                throw new ArgumentException("output must be a Texture2D or a RenderTexture", "output");
            CheckOutput(output);
            _output = output;
        }

        private void CheckOutput(Texture output)
        {
            var t2d = output as Texture2D;
            if (t2d == null) return;
            string why = LSDOutputRules.Texture2DProblem(t2d.width, t2d.height, t2d.format == TextureFormat.RGBA32,
                                                         t2d.mipmapCount, _options.width, _options.height);
            if (why != null) throw new ArgumentException(why, "output");
        }

        /// <summary>Capture this camera (nothing bound: Camera.main at StartCapture). With a targetTexture
        /// the camera's render texture is used; without, the final screen image.</summary>
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
            if (!Application.isPlaying)
                throw new InvalidOperationException("LSDStreamEngine streams in Play Mode only (its per-frame work runs in the player loop)");
            if (_output == null) throw new InvalidOperationException("call BindTexture(output) before StartCapture");
            CheckOutput(_output);   // the frame size may have changed since BindTexture (Apply)
            if (!SystemInfo.supportsAsyncGPUReadback)
                throw new NotSupportedException("this platform/graphics API has no AsyncGPUReadback");
            try
            {
                Begin();
            }
            catch
            {
                ReleaseResources();   // e.g. the native library is missing: nothing stays allocated
                throw;
            }
            _capturing = true;
        }

        private void Begin()
        {
            _readbacks.Restart();
            _sourceGoneReported = false;
            int w = _options.width, h = _options.height;
            bool linear = QualitySettings.activeColorSpace == ColorSpace.Linear;
            // our capture target: 8-bit, sRGB-encoded storage (what the backends work in)
            _capture = new RenderTexture(w, h, 0, RenderTextureFormat.ARGB32, RenderTextureReadWrite.sRGB) { name = "LSD capture" };
            _capture.Create();
            _upload = new Texture2D(w, h, TextureFormat.RGBA32, false, false) { name = "LSD restyled" };
            _outPixels = new NativeArray<byte>(w * h * 4, Allocator.Persistent, NativeArrayOptions.ClearMemory);

            // nothing bound: Camera.main (which may be none: then the screen)
            _activeCamera = _sourceCamera;
            if (ReferenceEquals(_sourceCamera, null) && ReferenceEquals(_sourceTexture, null)) _activeCamera = Camera.main;
            _sourceIsScreen = ReferenceEquals(_sourceTexture, null) && (_activeCamera == null || _activeCamera.targetTexture == null);
            LSDFrameSourceKind kind = _sourceIsScreen ? LSDFrameSourceKind.UnflippedTarget : LSDFrameSourceKind.UnityTexture;
            SetUpPlanes(w, h);
            DecideGpuPath();
            var options = new LSDSessionOptions
            {
                Stream = _options.Clone(),
                ClientName = "unity/" + LSDClient.PackageVersion + " (" + Application.unityVersion + ")",
                Format = LSDPixelFormat.Rgba8,
                InputColor = LSDFrameConventions.ResolveColor(linear, _capture.sRGB, LSDPixelFormat.Rgba8),
                OutputColor = LSDFrameConventions.ResolveColor(linear, true, LSDPixelFormat.Rgba8),
                // readback data is in texture memory order; the upload (LoadRawTextureData) expects bottom-up
                InputBottomUp = LSDFrameConventions.ResolveBottomUp(_options.flip, kind, SystemInfo.graphicsUVStartsAtTop),
                OutputBottomUp = true,
                Motion = _planes != null ? _planes.MotionOptions : null,
                Depth = _planes != null ? _planes.DepthOptions : null,
                // the GPU path asks for device slots; the runtime answers cuda_ipc or says why not
                Transport = _path.UseGpu ? LSDTransport.CudaIpc : LSDTransport.Shm,
            };
            // the planes are copied out of RenderTextures (bottom-up in memory); they must have the colour
            // ring's row order, so they are turned over when the colour is top-down (screen capture on D3D,
            // Metal, Vulkan, or a Flip override)
            _assembler = new LSDFrameAssembler(w, h, options.Format, options.Motion, options.Depth, !options.InputBottomUp,
                                               _readbacks, SubmitAssembled);
            _session = new LSDStreamSession(options);
            _session.Connected += OnConnected;
            _session.Disconnected += OnDisconnected;
            _session.Start();   // never waits for the runtime

            SetUpGpuPath();
            _driver = LSDEngineDriver.Create(this);
        }

        /// <summary>Stops capturing and closes the session; the output keeps its last frame.</summary>
        public void Stop()
        {
            if (!_capturing) return;
            _capturing = false;
            ReleaseResources();
        }

        // everything Begin made, in any state it got to (safe to call twice)
        private void ReleaseResources()
        {
            if (_driver != null) _driver.Detach();
            _driver = null;
            bool gpuEvents = _gpuSource != null || _gpuOutput != null;
            if (_gpuSource != null) _gpuSource.Dispose();
            if (_gpuOutput != null) _gpuOutput.Dispose();
            _gpuSource = _gpuOutput = null;
            _gpuRegistered = false;
            _transport = null;
            // a readback still in flight reports to a disposed assembler, which ignores it
            if (_assembler != null) _assembler.Dispose();
            _assembler = null;
            if (_planes != null) _planes.Dispose();   // the camera gets its depthTextureMode and command buffers back
            _planes = null;
            // the GPU path's render-thread events use the session's handle: it closes once they have run
            if (_session != null && gpuEvents) LSDDeferredFree.DisposeLater(_session);
            else if (_session != null) _session.Dispose();
            _session = null;
            // readbacks in flight complete later and find an older generation; their NativeArrays are Unity's
            if (_capture != null) { _capture.Release(); DestroyObject(_capture); }
            _capture = null;
            if (_upload != null) DestroyObject(_upload);
            _upload = null;
            if (_outPixels.IsCreated) _outPixels.Dispose();
            _activeCamera = null;
            _path = default(LSDPathDecision);
            LSDEngineLifetime.Forget(this);
        }

        /// <summary>Stops and frees everything. The package calls it for every live engine when Play Mode
        /// ends, before an assembly reload and when the application quits, so nothing leaks.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            Stop();
            _disposed = true;
        }

        internal static void DestroyObject(UnityEngine.Object o)
        {
            if (Application.isPlaying) UnityEngine.Object.Destroy(o);
            else UnityEngine.Object.DestroyImmediate(o);   // Destroy is refused outside Play Mode
        }

        // ---- per frame (driven by LSDEngineDriver) -----------------------------------------------

        internal void OnUpdate()
        {
            if (!_capturing) return;
            if (_restartOnReadback)
            {
                // the textures could not be registered with CUDA: the same capture, read back
                _restartOnReadback = false;
                ReleaseResources();
                try
                {
                    Begin();
                }
                catch (Exception e)
                {
                    Debug.LogException(e);
                    ReleaseResources();
                    _capturing = false;
                    return;
                }
            }
            _session.Poll();
            // the transport is settled once the rings are bound (a reconnect clears it: OnConnected)
            if (_transport == null && _session.State == LSDConnectionState.Ready && _session.Client != null)
                _transport = _session.Client.GetTransport();
            if (GpuFramesLive()) PresentOnGpu();
            else PresentNewestFrame();
            LSDDeferredFree.Collect();
        }

        // the GPU path runs once both textures are registered with CUDA (REGISTER ran on the render thread)
        private bool GpuFramesLive()
        {
            if (!_path.UseGpu || _gpuSource == null || _gpuOutput == null || _restartOnReadback) return false;
            if (_gpuRegistered) return true;
            NativeMethods.lsd_unity_texture_event a = _gpuSource.Read(), b = _gpuOutput.Read();
            if (a.events_handled == 0 || b.events_handled == 0) return false;   // not run yet
            if (a.cuda_status == LSDStatus.Ok && b.cuda_status == LSDStatus.Ok) return _gpuRegistered = true;
            LSDStatus failed = a.cuda_status != LSDStatus.Ok ? a.cuda_status : b.cuda_status;
            Debug.LogWarning("LSD Bridge: the textures could not be registered with CUDA (" + failed +
                             "); restarting the capture on " + LSDPathChoice.ReadbackPathName + ".");
            _forceReadback = true;
            _restartOnReadback = true;
            return false;
        }

        // the render thread copies the newest finished frame into the output texture (PRESENT); the record
        // says which frame the previous event wrote
        private void PresentOnGpu()
        {
            _gpuOutput.Issue(LSDUnityNative.EventPresent);
            NativeMethods.lsd_unity_texture_event ev = _gpuOutput.Read();
            if (ev.status != (int)LSDStatus.Ok || ev.frame_id == 0 || ev.frame_id == _lastPresentedId) return;
            _lastPresentedId = ev.frame_id;
            var result = new LSDFrameResult { FrameId = ev.frame_id };
            LastFrame = result;
            FramesPresented++;
            Action<LSDFrameResult> h = FramePresented;
            if (h != null) h(result);
        }

        /// <summary>After rendering (WaitForEndOfFrame): copy the source into the capture RT on the GPU
        /// and request an async readback; the callback submits the pixels into a shm slot.</summary>
        internal void OnEndOfFrame()
        {
            if (!_capturing || _session.State != LSDConnectionState.Ready) return;
            // a bound camera or texture that was destroyed (Unity's fake-null) stops the frames, once said
            bool textureGone = !ReferenceEquals(_sourceTexture, null) && _sourceTexture == null;
            bool cameraGone = !ReferenceEquals(_activeCamera, null) && _activeCamera == null;
            if (textureGone || cameraGone)
            {
                if (!_sourceGoneReported)
                    Debug.LogWarning("LSD Bridge: the " + (textureGone ? "source texture" : "source camera") +
                                     " was destroyed; no frames are sent until BindSource and StartCapture are called again");
                _sourceGoneReported = true;
                return;
            }
            Texture src = null;
            if (_sourceIsScreen)
            {
                if (_activeCamera != null && !_activeCamera.isActiveAndEnabled) return;
            }
            else
            {
                src = !ReferenceEquals(_sourceTexture, null) ? _sourceTexture : _activeCamera.targetTexture;
                if (src == null) return;
            }
            // the planes the camera rendered for this frame (its command buffer copied them already)
            LSDFrameParts parts = LSDFrameParts.Color | (_planes != null ? _planes.TakeFrameParts() : LSDFrameParts.None);
            double time = Time.realtimeSinceStartupAsDouble;
            long frame;
            // one gate place per frame: the GPU is behind: skip this frame (latest wins anyway)
            if (!_assembler.TryBeginFrame(parts, time, out frame)) return;
            if (_sourceIsScreen)
            {
                RenderTexture tmp = RenderTexture.GetTemporary(Screen.width, Screen.height, 0, RenderTextureFormat.ARGB32, RenderTextureReadWrite.sRGB);
                ScreenCapture.CaptureScreenshotIntoRenderTexture(tmp);
                Graphics.Blit(tmp, _capture);
                RenderTexture.ReleaseTemporary(tmp);
            }
            else
            {
                Graphics.Blit(src, _capture);
            }
            if (GpuFramesLive())
            {
                // the render thread copies the capture texture into a free input slot and sends the frame
                // (LSD_NO_FREE_SLOT there: skipped, latest wins); no readback
                _gpuSource.SetFrame(time, _gpuCut ? LSDFrameFlags.Reset : LSDFrameFlags.None);
                _gpuCut = false;
                _gpuSource.Issue(LSDUnityNative.EventCapture);
                return;
            }
            // three readbacks that may complete in separate callbacks, in any order; the assembler submits the
            // frame when all have reported (a readback copies the texture as it is now, so the next frame's
            // render cannot change what it reads)
            LSDFrameAssembler assembler = _assembler;
            AsyncGPUReadback.Request(_capture, 0, TextureFormat.RGBA32,
                                     request => OnPartRead(request, assembler, frame, LSDFrameParts.Color));
            if ((parts & LSDFrameParts.Motion) != 0)
                AsyncGPUReadback.Request(_planes.Motion, 0, TextureFormat.RGHalf,
                                         request => OnPartRead(request, assembler, frame, LSDFrameParts.Motion));
            if ((parts & LSDFrameParts.Depth) != 0)
                AsyncGPUReadback.Request(_planes.Depth, 0, TextureFormat.RFloat,
                                         request => OnPartRead(request, assembler, frame, LSDFrameParts.Depth));
        }

        // the NativeArray is valid only during this callback: the assembler copies what it keeps
        private unsafe void OnPartRead(AsyncGPUReadbackRequest request, LSDFrameAssembler assembler, long frame, LSDFrameParts part)
        {
            if (assembler.IsDisposed) return;   // from a capture that was stopped
            if (request.hasError)
            {
                ReadbackErrors++;
                assembler.PartFailed(frame, part);   // colour: the frame is dropped; a plane: sent without it
                return;
            }
            NativeArray<byte> data = request.GetData<byte>();
            assembler.PartArrived(frame, part, (IntPtr)NativeArrayUnsafeUtility.GetUnsafeReadOnlyPtr(data), data.Length);
        }

        // the assembler's submit: copies into a free input slot and returns at once (NoFreeSlot: skipped, latest
        // frame wins)
        private LSDStatus SubmitAssembled(IntPtr color, long colorBytes, double time, LSDFrameFlags flags, LSDFramePlanes planes)
        {
            LSDStreamSession session = _session;
            if (!_capturing || session == null) return LSDStatus.NotConnected;
            return session.Submit(color, colorBytes, 0, time, flags, planes);
        }

        // sendMotionAndDepth: what can be had (LSDPlaneRules), said once per engine when it is less than asked
        private void SetUpPlanes(int width, int height)
        {
            _planes = null;
            string pipeline = null, noCamera = null;
            bool orthographic = false, motionOk = false, depthOk = false;
            if (_options.sendMotionAndDepth)
            {
                // null on the built-in pipeline (Unity's documentation of currentRenderPipeline: the quality level's
                // override, else GraphicsSettings.defaultRenderPipeline; in the reference source of 2021.3 to 6000.3)
                RenderPipelineAsset asset = GraphicsSettings.currentRenderPipeline;
                if (asset != null) pipeline = asset.GetType().Name;
                if (!ReferenceEquals(_sourceTexture, null)) noCamera = LSDPlaneRules.TextureSource;
                else if (_activeCamera == null) noCamera = LSDPlaneRules.NoCamera;
                else orthographic = _activeCamera.orthographic;
                motionOk = SystemInfo.SupportsRenderTextureFormat(RenderTextureFormat.RGHalf);
                depthOk = SystemInfo.SupportsRenderTextureFormat(RenderTextureFormat.RFloat);
            }
            _planesDecision = LSDPlaneRules.Decide(_options.sendMotionAndDepth, pipeline, noCamera, orthographic, motionOk, depthOk);
            if (_planesDecision.Warning != null && _planesDecision.Warning != _planesWarningSaid)
            {
                Debug.LogWarning(_planesDecision.Warning);
                _planesWarningSaid = _planesDecision.Warning;
            }
            if (_planesDecision.Parts != LSDFrameParts.None)
                _planes = new LSDCameraPlanes(_activeCamera, _planesDecision.Parts, width, height);
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
            else if (_output != _upload) Graphics.CopyTexture(_upload, _output);   // checked at BindTexture
            LastFrame = result;
            FramesPresented++;
            Action<LSDFrameResult> h = FramePresented;
            if (h != null) h(result);
        }

        // before the session is made: the path decides the transport the session binds
        private void DecideGpuPath()
        {
            string unavailable = null;
            if (_useGpu != false)
            {
                if (_forceReadback) unavailable = "the textures could not be registered with CUDA on this device";
                else if (_planes != null) unavailable = "motion and depth planes travel in shared memory (sendMotionAndDepth)";
                else unavailable = LSDUnityNative.GpuPathUnavailableReason();
            }
            // the readback path is the default that works: only a caller who asked for the GPU hears why not
            _path = LSDPathChoice.Decide(_useGpu, unavailable);
            if (_path.Warning != null) Debug.LogWarning(_path.Warning);
        }

        private void SetUpGpuPath()
        {
            if (!_path.UseGpu) return;
            // taken once, on bind: the textures are registered with CUDA on the render thread; per-frame work
            // goes through it too
            IntPtr client = _session.Client.NativeHandle;
            _gpuSource = new LSDRenderThreadTexture(_capture, "LSD capture (GPU)", client, false, LSDPixelFormat.Rgba8);
            _gpuOutput = new LSDRenderThreadTexture(_output, "LSD present (GPU)", client, true, LSDPixelFormat.Rgba8);
            _lastPresentedId = 0;
        }

        private void OnConnected() { _transport = null; Action h = Connected; if (h != null) h(); }
        private void OnDisconnected() { Action h = Disconnected; if (h != null) h(); }

        private void ThrowIfDisposed()
        {
            if (_disposed) throw new ObjectDisposedException("LSDStreamEngine");
        }
    }

    /// <summary>Hidden per-engine MonoBehaviour that drives Update and end-of-frame capture. It lives in
    /// the DontDestroyOnLoad scene, which Unity destroys when Play Mode ends.</summary>
    [AddComponentMenu("")]
    internal sealed class LSDEngineDriver : MonoBehaviour
    {
        private LSDStreamEngine _engine;
        private readonly WaitForEndOfFrame _endOfFrame = new WaitForEndOfFrame();

        internal static LSDEngineDriver Create(LSDStreamEngine engine)
        {
            // Play Mode only (StartCapture checks): the DontDestroyOnLoad scene goes when Play Mode ends
            var go = new GameObject("LSD Bridge engine") { hideFlags = HideFlags.HideInHierarchy | HideFlags.NotEditable };
            DontDestroyOnLoad(go);
            var d = go.AddComponent<LSDEngineDriver>();
            d._engine = engine;
            LSDEngineLifetime.Track(engine);
            return d;
        }

        internal void Detach()
        {
            _engine = null;
            if (this != null) LSDStreamEngine.DestroyObject(gameObject);
        }

        private IEnumerator Start()
        {
            while (_engine != null)
            {
                yield return _endOfFrame;
                // an exception would end this coroutine, and capture with it, without a word
                try { if (_engine != null) _engine.OnEndOfFrame(); }
                catch (Exception e) { Debug.LogException(e); }
            }
        }

        private void Update()
        {
            try { if (_engine != null) _engine.OnUpdate(); }
            catch (Exception e) { Debug.LogException(e); }
        }

        private void OnDestroy()
        {
            LSDStreamEngine e = _engine;
            _engine = null;
            if (e != null) e.Stop();   // scene teardown / Play Mode exit: close the session
        }
    }

    /// <summary>Every engine still capturing is disposed when Play Mode ends, before a domain reload (which
    /// would drop the managed side of a native session) and when the application quits.</summary>
    internal static class LSDEngineLifetime
    {
        private static readonly LSDLiveSet<LSDStreamEngine> Live = new LSDLiveSet<LSDStreamEngine>();

        internal static void Track(LSDStreamEngine engine)
        {
            if (!Live.Track(engine)) return;
            // hooked once, for the life of the domain
            Application.quitting += DisposeAll;
#if UNITY_EDITOR
            UnityEditor.EditorApplication.playModeStateChanged += state =>
            {
                if (state == UnityEditor.PlayModeStateChange.ExitingPlayMode) DisposeAll();
            };
            UnityEditor.AssemblyReloadEvents.beforeAssemblyReload += DisposeAll;
#endif
        }

        internal static void Forget(LSDStreamEngine engine)
        {
            Live.Forget(engine);
        }

        internal static void DisposeAll()
        {
            foreach (Exception e in Live.DisposeAll()) Debug.LogException(e);
            // sessions kept for late render-thread events: Play Mode, the domain or the player is ending (Unity
            // completes the queued render commands first: not verified here, no Unity Editor)
            LSDDeferredFree.DisposeAllNow();
        }
    }
}
