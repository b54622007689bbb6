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

        [Header("Restyling")]
        [Tooltip("sd-turbo, sdxl-turbo, a local diffusers folder, or an effect: toon, sketch, ...")]
        public string model = "sd-turbo";
        [TextArea] public string prompt = "";
        [Range(0f, 1f)] public float strength = 0.5f;
        public int seed = 2;

        [Header("Stream")]
        public Vector2Int resolution = new Vector2Int(512, 512);
        public TransportChoice transport = TransportChoice.Auto;
        public LSDFlipMode flip = LSDFlipMode.Auto;
        [Tooltip("Empty: $LSD_BRIDGE_HOME or ~/.lsd-bridge.")]
        public string stateDirectory = "";

        private LSDStreamEngine _engine;
        private RenderTexture _ownOutput;
        private string _appliedPrompt, _appliedModel;
        private float _appliedStrength;
        private int _appliedSeed;

        public LSDStreamEngine Engine { get { return _engine; } }
        public Texture OutputTexture { get { return _engine != null ? _engine.OutputTexture : outputTexture; } }

        /// <summary>All live renderers (for the editor status window).</summary>
        public static readonly System.Collections.Generic.List<LSDStreamRenderer> Active = new System.Collections.Generic.List<LSDStreamRenderer>();

        private void OnEnable()
        {
            Active.Add(this);
            var settings = new LSDEngineSettings
            {
                width = Mathf.Clamp(resolution.x, 8, 8192),
                height = Mathf.Clamp(resolution.y, 8, 8192),
                stateDirectory = stateDirectory,
                prompt = prompt,
                strength = strength,
                seed = seed,
                flip = flip,
            };
            _engine = new LSDStreamEngine(model, transport != TransportChoice.SharedMemory, settings);
            Texture target = outputTexture;
            if (target == null)
            {
                _ownOutput = new RenderTexture(settings.width, settings.height, 0, RenderTextureFormat.ARGB32, RenderTextureReadWrite.sRGB)
                {
                    name = "LSD output",
                };
                _ownOutput.Create();
                target = _ownOutput;
            }
            _engine.BindTexture(target);
            if (source == SourceKind.Texture && sourceTexture != null) _engine.BindSource(sourceTexture);
            else _engine.BindSource(sourceCamera != null ? sourceCamera : (GetComponent<Camera>() ?? Camera.main));
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
            if (transport == TransportChoice.Gpu && !_engine.UsingGpuPath)
                Debug.LogWarning("LSD Bridge: GPU transport requested but unavailable: " + _engine.GpuPathStatus);
            _appliedPrompt = prompt; _appliedModel = model; _appliedStrength = strength; _appliedSeed = seed;
        }

        private void Update()
        {
            if (_engine == null || !_engine.IsCapturing) return;
            // inspector edits at play time go to the runtime
            if (prompt != _appliedPrompt) { _engine.SetPrompt(prompt); _appliedPrompt = prompt; }
            if (!Mathf.Approximately(strength, _appliedStrength)) { _engine.SetStrength(Mathf.Clamp01(strength)); _appliedStrength = strength; }
            if (seed != _appliedSeed) { _engine.SetSeed(seed); _appliedSeed = seed; }
            if (model != _appliedModel && !string.IsNullOrEmpty(model)) { _engine.SetModel(model); _appliedModel = model; }
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
