using System;

namespace LSDBridge
{
    /// <summary>
    /// What a stream asks for: the model and its style, the frame size, where the runtime is. The
    /// one place the package's defaults live. Unity serialises it (the LSD Stream Renderer's
    /// inspector); LSDStreamEngine and LSDStreamSession take it. Fields are lower-case because
    /// Unity serialises public fields by name.
    /// </summary>
    [Serializable]
    public sealed class LSDStreamOptions
    {
        /// <summary>Frame size sent to the runtime when none is given.</summary>
        public const int DefaultSize = 512;
        /// <summary>The strength used when overrideStrength is set and strength left alone.</summary>
        public const float DefaultStrength = 0.5f;

        /// <summary>A name the runtime resolves (PROTOCOL.md section 11): "effects" (the prompt's words pick
        /// the look), an effect ("toon", "watercolor"), or a diffusion model ("sd-turbo", a local folder).
        /// Empty: the runtime's default model.</summary>
        public string model = LSDProtocol.DefaultModel;
        /// <summary>Text prompt; for effects, words in it pick the look.</summary>
        public string prompt = "";
        /// <summary>false: the model's own strength (effects: fully restyled; diffusion: its default).</summary>
        public bool overrideStrength;
        /// <summary>0 = the input unchanged, 1 = fully restyled; sent only with overrideStrength.</summary>
        public float strength = DefaultStrength;
        /// <summary>Random seed for models that use one; negative: the model's choice.</summary>
        public int seed = -1;
        /// <summary>Frame size sent to the runtime (the source is scaled to it on the GPU).</summary>
        public int width = DefaultSize;
        public int height = DefaultSize;
        /// <summary>The backend's resolution; 0 and 0: the backend's choice.</summary>
        public int modelWidth;
        public int modelHeight;
        /// <summary>Where runtime.json lives; "": $LSD_BRIDGE_HOME, else ~/.lsd-bridge.</summary>
        public string stateDirectory = "";
        /// <summary>Row-order override; Auto follows the source.</summary>
        public LSDFlipMode flip = LSDFlipMode.Auto;
        /// <summary>Also send the source camera's motion vectors and depth with every frame, for backends that
        /// keep frames steady over time (taken at StartCapture). Built-in render pipeline and a camera source
        /// only; on URP/HDRP, or with a texture source, a one-time warning says so and colour alone is sent
        /// (the package README, "Motion vectors and depth").</summary>
        public bool sendMotionAndDepth;

        public LSDStreamOptions Clone()
        {
            return (LSDStreamOptions)MemberwiseClone();
        }

        /// <summary>Throws ArgumentOutOfRangeException naming the first field that cannot be sent.</summary>
        public void Validate()
        {
            CheckSide(width, "width");
            CheckSide(height, "height");
            if ((modelWidth == 0) != (modelHeight == 0))
                throw new ArgumentOutOfRangeException("modelWidth", modelWidth + "x" + modelHeight,
                                                      "give both modelWidth and modelHeight, or neither");
            if (modelWidth != 0)
            {
                CheckModelSide(modelWidth, "modelWidth");
                CheckModelSide(modelHeight, "modelHeight");
            }
            if (!(strength >= 0f && strength <= 1f))
                throw new ArgumentOutOfRangeException("strength", strength, "must be in 0..1");
        }

        /// <summary>The style these options ask for (strength and seed only when set).</summary>
        public LSDStyle ToStyle()
        {
            return new LSDStyle(string.IsNullOrEmpty(model) ? null : model.Trim())
            {
                Prompt = string.IsNullOrEmpty(prompt) ? null : prompt,
                Strength = overrideStrength ? (double?)strength : null,
                Seed = seed >= 0 ? (long?)seed : null,
            };
        }

        private static void CheckSide(int v, string name)
        {
            if (v < LSDProtocol.MinDimension || v > LSDProtocol.MaxDimension)
                throw new ArgumentOutOfRangeException(name, v, "must be " + LSDProtocol.MinDimension + ".." +
                                                               LSDProtocol.MaxDimension + " pixels");
        }

        private static void CheckModelSide(int v, string name)
        {
            if (v < LSDProtocol.MinModelDimension || v > LSDProtocol.MaxModelDimension)
                throw new ArgumentOutOfRangeException(name, v, "must be " + LSDProtocol.MinModelDimension + ".." +
                                                               LSDProtocol.MaxModelDimension + " pixels");
        }
    }
}
