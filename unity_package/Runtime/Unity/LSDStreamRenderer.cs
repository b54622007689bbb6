using System;
using UnityEngine;

namespace LSDBridge
{
    /// <summary>Drop on a camera: streams what it renders through the LSD runtime and shows the
    /// restyled frames in a texture or on a material.</summary>
    [DisallowMultipleComponent]
    [AddComponentMenu("LSD Bridge/LSD Stream Renderer")]
    public sealed class LSDStreamRenderer : MonoBehaviour
    {
        public enum SourceKind { Camera, Texture }
        public enum OutputKind { Texture, Material }
        public enum TransportChoice { Auto, SharedMemory, Gpu }

        [Header("Source")]
        public SourceKind source = SourceKind.Camera;
        [Tooltip("Empty: the camera on this GameObject, else Camera.main.")]
        public Camera sourceCamera;
        public Texture sourceTexture;

        [Header("Output")]
        public OutputKind output = OutputKind.Texture;
        [Tooltip("Texture2D or RenderTexture; empty: one is created (see OutputTexture).")]
        public Texture outputTexture;
        public Material outputMaterial;
        public string materialTextureProperty = "_MainTex";

        [Header("Stream")]
        [Tooltip("Model (resolved by the runtime: effects, toon, watercolor, sd-turbo, a folder...), prompt, strength, " +
                 "seed, frame size, model size, state directory, row-order override, and Send Motion And Depth (the " +
                 "camera's motion vectors and depth with every frame; built-in render pipeline only).")]
        [SerializeField] private LSDStreamOptions options = new LSDStreamOptions();
        public TransportChoice transport = TransportChoice.Auto;

        private LSDStreamEngine _engine;
        private RenderTexture _ownOutput;

        public LSDStreamEngine Engine { get { return _engine; } }

        /// <summary>A copy of the stream options (the inspector's); Apply changes them.</summary>
        public LSDStreamOptions Options { get { return options.Clone(); } }

        /// <summary>The model name; setting it restyles the running stream from its next frame.</summary>
        public string Model
        {
            get { return options.model; }
            set { options.model = value; if (_engine != null) _engine.Model = value; }
        }

        public string Prompt
        {
            get { return options.prompt; }
            set { options.prompt = value ?? ""; if (_engine != null) _engine.Prompt = value; }
        }

        /// <summary>0..1; null: the model's own strength.</summary>
        public float? Strength
        {
            get { return options.overrideStrength ? (float?)options.strength : null; }
            set
            {
                options.overrideStrength = value.HasValue;
                if (value.HasValue) options.strength = Mathf.Clamp01(value.Value);
                if (_engine != null) _engine.Strength = Strength;
            }
        }

        public int Seed
        {
            get { return options.seed; }
            set { options.seed = value; if (_engine != null) _engine.Seed = value; }
        }

        /// <summary>New options: the style applies at once; size and state directory when the renderer is next enabled.</summary>
        public void Apply(LSDStreamOptions newOptions)
        {
            if (newOptions == null) throw new ArgumentNullException("newOptions");
            newOptions.Validate();
            options = newOptions.Clone();
            if (_engine != null) _engine.Apply(options);
        }
        public Texture OutputTexture { get { return _engine != null ? _engine.OutputTexture : outputTexture; } }

        /// <summary>The camera cut (teleport, new shot, level load): the runtime forgets earlier frames from the
        /// next frame on (LSDStreamEngine.MarkCameraCut).</summary>
        public void MarkCameraCut()
        {
            if (_engine != null) _engine.MarkCameraCut();
        }

        /// <summary>All live renderers (for the editor status window).</summary>
        public static readonly System.Collections.Generic.List<LSDStreamRenderer> Active = new System.Collections.Generic.List<LSDStreamRenderer>();

        private void OnEnable()
        {
            Active.Add(this);
            options.width = Mathf.Clamp(options.width, LSDProtocol.MinDimension, LSDProtocol.MaxDimension);
            options.height = Mathf.Clamp(options.height, LSDProtocol.MinDimension, LSDProtocol.MaxDimension);
            try
            {
                _engine = new LSDStreamEngine(null, UseGpuFor(transport), options);
            }
            catch (ArgumentException e)
            {
                Debug.LogError("LSD Bridge: " + e.Message);
                enabled = false;
                return;
            }
            Texture target = outputTexture;
            if (target == null)
            {
                _ownOutput = new RenderTexture(options.width, options.height, 0, RenderTextureFormat.ARGB32, RenderTextureReadWrite.sRGB)
                {
                    name = "LSD output",
                };
                _ownOutput.Create();
                target = _ownOutput;
            }
            try
            {
                _engine.BindTexture(target);   // a Texture2D that cannot receive the frames says why
            }
            catch (ArgumentException e)
            {
                Debug.LogError("LSD Bridge: " + e.Message);
                OnDisable();
                enabled = false;
                return;
            }
            if (source == SourceKind.Texture && sourceTexture != null) _engine.BindSource(sourceTexture);
            else _engine.BindSource(PickCamera());
            if (output == OutputKind.Material && outputMaterial != null) outputMaterial.SetTexture(materialTextureProperty, target);
            _engine.Connected += () => Debug.Log("LSD Bridge: connected to the runtime");
            _engine.Disconnected += () => Debug.LogWarning("LSD Bridge: runtime disconnected (reconnecting in the background)");
            try
            {
                _engine.StartCapture();
            }
            catch (Exception e)
            {
                Debug.LogError("LSD Bridge: could not start: " + e.Message);
                enabled = false;
                return;
            }
            // with TransportChoice.Gpu the engine itself warns when the GPU path cannot be had
        }

        /// <summary>Auto: the GPU path when available, quietly the readback path otherwise.</summary>
        private static bool? UseGpuFor(TransportChoice choice)
        {
            switch (choice)
            {
                case TransportChoice.SharedMemory: return false;
                case TransportChoice.Gpu: return true;
                default: return null;
            }
        }

        // UnityEngine.Object overloads == for destroyed and missing objects ("fake null"); the ?? and ?.
        // operators do not see it, so every fallback here compares with == null
        private Camera PickCamera()
        {
            if (sourceCamera != null) return sourceCamera;
            Camera own = GetComponent<Camera>();
            if (own != null) return own;
            return Camera.main;
        }

        // inspector edits (in Play Mode too) arrive here: the style goes to the runtime at once,
        // as one request, and only when it changed (the session compares); nothing polls per frame
        private void OnValidate()
        {
            if (options == null) options = new LSDStreamOptions();
            options.strength = Mathf.Clamp01(options.strength);
            if (_engine == null || !_engine.IsCapturing) return;
            try
            {
                _engine.Apply(options);
            }
            catch (ArgumentException e)
            {
                Debug.LogWarning("LSD Bridge: " + e.Message);
            }
        }

        private void OnDisable()
        {
            Active.Remove(this);
            if (_engine != null) _engine.Dispose();
            _engine = null;
            if (_ownOutput != null) { _ownOutput.Release(); Destroy(_ownOutput); }
            _ownOutput = null;
        }
    }
}
