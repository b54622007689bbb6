namespace LSDBridge
{
    /// <summary>Where the engine's frame comes from, for the row-order decision.</summary>
    public enum LSDFrameSourceKind
    {
        /// <summary>A Texture/RenderTexture Unity rendered or uploaded (camera.targetTexture, Blit results).</summary>
        UnityTexture = 0,
        /// <summary>The native back buffer or an intermediate Unity did not flip (rare; e.g. some SRP targets).</summary>
        UnflippedTarget = 1,
    }

    /// <summary>Row-order override.</summary>
    public enum LSDFlipMode
    {
        Auto = 0,
        /// <summary>First memory row is the bottom row.</summary>
        ForceBottomUp = 1,
        /// <summary>First memory row is the top row.</summary>
        ForceTopDown = 2,
    }

    /// <summary>
    /// Colour-space and row-order rules (pure logic; the Unity layer feeds it
    /// QualitySettings.activeColorSpace, the texture's sRGB flag and SystemInfo.graphicsUVStartsAtTop).
    /// </summary>
    public static class LSDFrameConventions
    {
        /// <summary>
        /// How the texture's stored values are encoded:
        ///   - half-float textures hold linear values;
        ///   - Gamma colour space: Unity does no conversion, stored values are display (sRGB) values;
        ///   - Linear colour space: an sRGB texture format stores sRGB-encoded values (the GPU converts
        ///     on read/write), a UNorm format stores linear values.
        /// </summary>
        public static LSDColorEncoding ResolveColor(bool projectIsLinear, bool textureIsSrgb, LSDPixelFormat format)
        {
            if (format == LSDPixelFormat.Rgba16F) return LSDColorEncoding.Linear;
            if (!projectIsLinear) return LSDColorEncoding.Srgb;
            return textureIsSrgb ? LSDColorEncoding.Srgb : LSDColorEncoding.Linear;
        }

        /// <summary>
        /// Whether the first memory row is the image's bottom row.
        /// Unity keeps texture memory bottom-row-first on every graphics API (on APIs whose UV
        /// origin is the top — D3D11/12, Metal, Vulkan: SystemInfo.graphicsUVStartsAtTop — it flips
        /// the projection when rendering into a RenderTexture), so CPU data (AsyncGPUReadback,
        /// LoadRawTextureData) and native textures of Unity textures are bottom-up. A target Unity
        /// did not flip is top-down on those APIs and bottom-up on OpenGL.
        /// </summary>
        public static bool ResolveBottomUp(LSDFlipMode mode, LSDFrameSourceKind source, bool uvStartsAtTop)
        {
            if (mode == LSDFlipMode.ForceBottomUp) return true;
            if (mode == LSDFlipMode.ForceTopDown) return false;
            if (source == LSDFrameSourceKind.UnflippedTarget) return !uvStartsAtTop;
            return true;
        }
    }
}
