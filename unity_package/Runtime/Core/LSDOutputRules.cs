namespace LSDBridge
{
    /// <summary>Which output textures the engine can fill without an error every frame (pure logic;
    /// the Unity layer passes the texture's properties).</summary>
    public static class LSDOutputRules
    {
        /// <summary>Why a Texture2D cannot receive the restyled frame, or null when it can. A Texture2D is
        /// filled with Graphics.CopyTexture, which needs the same size, the same format (RGBA32) and one mip
        /// level; a RenderTexture has no such rule (the frame is scaled into it).</summary>
        public static string Texture2DProblem(int width, int height, bool isRgba32, int mipCount, int streamWidth, int streamHeight)
        {
            var problems = new System.Collections.Generic.List<string>();
            if (width != streamWidth || height != streamHeight)
                problems.Add("it is " + width + "x" + height + ", the stream " + streamWidth + "x" + streamHeight);
            if (!isRgba32) problems.Add("its format is not RGBA32");
            if (mipCount != 1) problems.Add("it has " + mipCount + " mip levels, not 1");
            if (problems.Count == 0) return null;
            return "the output Texture2D cannot receive the frames: " + string.Join("; ", problems.ToArray()) +
                   " (create it as new Texture2D(" + streamWidth + ", " + streamHeight + ", TextureFormat.RGBA32, false), or bind a RenderTexture, which is scaled into)";
        }
    }
}
