namespace LSDBridge
{
    /// <summary>What a capture sends beside its colour, decided once at StartCapture (LSDPlaneRules.Decide).</summary>
    public struct LSDPlanesDecision
    {
        /// <summary>Motion, Depth, both, or None (colour only).</summary>
        public LSDFrameParts Parts;
        /// <summary>Something to log once as a warning (null: say nothing).</summary>
        public string Warning;
        /// <summary>What is sent and why, in words (the status window).</summary>
        public string Status;
    }

    /// <summary>
    /// The rules LSDStreamEngine applies for sendMotionAndDepth, as pure logic (the engine passes what
    /// Unity reports). This version captures the planes from a camera on the built-in render pipeline
    /// only: there Camera.depthTextureMode (Depth | MotionVectors) makes the camera render
    /// _CameraDepthTexture and _CameraMotionVectorsTexture, and a command buffer on the camera copies
    /// them. Scriptable pipelines (URP, HDRP) ignore camera command buffers and expose these textures
    /// their own way (README, "Motion vectors and depth"): there the engine sends colour only and says so.
    /// </summary>
    public static class LSDPlaneRules
    {
        public const string ReadmeSection = "see the package README, \"Motion vectors and depth\"";
        /// <summary>Decide's noCamera for a texture source.</summary>
        public const string TextureSource = "the source is a texture, not a camera (the planes come from the camera that renders)";
        /// <summary>Decide's noCamera when no camera is bound and there is no Camera.main.</summary>
        public const string NoCamera = "there is no camera to take them from (none bound, and no Camera.main)";

        /// <param name="asked">LSDStreamOptions.sendMotionAndDepth.</param>
        /// <param name="scriptablePipeline">The name of the active render pipeline asset's type
        /// (GraphicsSettings.currentRenderPipeline), null on the built-in pipeline.</param>
        /// <param name="noCamera">Null when the source is a camera (BindSource(Camera), or Camera.main), else
        /// why there is none to take the planes from.</param>
        /// <param name="orthographic">The camera is orthographic.</param>
        /// <param name="motionFormatSupported">The GPU renders RGHalf textures.</param>
        /// <param name="depthFormatSupported">The GPU renders RFloat textures.</param>
        public static LSDPlanesDecision Decide(bool asked, string scriptablePipeline, string noCamera, bool orthographic,
                                               bool motionFormatSupported, bool depthFormatSupported)
        {
            if (!asked) return new LSDPlanesDecision { Status = "not sent (sendMotionAndDepth is off)" };
            if (scriptablePipeline != null)
                return ColourOnly("the project renders with " + scriptablePipeline + ", a scriptable render pipeline; " +
                                  "this version captures them on the built-in render pipeline only");
            if (noCamera != null)
                return ColourOnly(noCamera);
            LSDFrameParts parts = LSDFrameParts.None;
            string missing = null;
            if (motionFormatSupported) parts |= LSDFrameParts.Motion;
            else missing = "motion vectors are not sent: this GPU cannot render RGHalf textures";
            if (orthographic)
                missing = Join(missing, "depth is not sent: the camera is orthographic, and the runtime reads device " +
                                        "depth as a perspective depth buffer");
            else if (!depthFormatSupported)
                missing = Join(missing, "depth is not sent: this GPU cannot render RFloat textures");
            else parts |= LSDFrameParts.Depth;
            if (parts == LSDFrameParts.None)
                return ColourOnly(missing);
            string what = parts == (LSDFrameParts.Motion | LSDFrameParts.Depth) ? "motion vectors and depth"
                        : parts == LSDFrameParts.Motion ? "motion vectors" : "depth";
            return new LSDPlanesDecision
            {
                Parts = parts,
                Warning = missing == null ? null : "LSD Bridge: sendMotionAndDepth: " + missing + ".",
                Status = what + " from the camera (built-in render pipeline)" + (missing == null ? "" : "; " + missing),
            };
        }

        /// <summary>Whether this frame's depth can be read with the near and far planes the session was bound
        /// with: the runtime turns device depth into distance with them, so depth from a camera whose planes
        /// or projection changed since StartCapture would be misread, and is left out instead.</summary>
        public static bool DepthMatchesBind(float boundNear, float boundFar, float near, float far, bool orthographic)
        {
            return !orthographic && near == boundNear && far == boundFar;
        }

        private static LSDPlanesDecision ColourOnly(string why)
        {
            return new LSDPlanesDecision
            {
                Parts = LSDFrameParts.None,
                Warning = "LSD Bridge: sendMotionAndDepth is on, but only colour is sent: " + why + " (" + ReadmeSection + ").",
                Status = "not sent: " + why,
            };
        }

        private static string Join(string a, string b)
        {
            return a == null ? b : a + "; " + b;
        }
    }
}
