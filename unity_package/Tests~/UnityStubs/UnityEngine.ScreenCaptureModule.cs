// Reference stub of UnityEngine.ScreenCaptureModule (format: see UnityEngine.CoreModule.cs).
// @module UnityEngine.ScreenCaptureModule
// @versions 2021.3 2022.3 6000.0 6000.3
namespace UnityEngine
{
    // @ref Modules/ScreenCapture/ScriptBindings/ScreenCapture.bindings.cs
    public static partial class ScreenCapture
    {
        public static void CaptureScreenshotIntoRenderTexture(RenderTexture renderTexture) { throw null; }
    }
}
