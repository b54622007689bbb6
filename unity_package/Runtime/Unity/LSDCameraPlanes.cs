using System;
using UnityEngine;
using UnityEngine.Rendering;

namespace LSDBridge
{
    /// <summary>
    /// Captures a camera's motion vectors and depth at the session size, on the built-in render pipeline
    /// (LSDStreamEngine with sendMotionAndDepth; LSDPlaneRules decides when). Unity members used here were
    /// checked against Unity's C# reference source for 2021.3, 2022.3, 6000.0 and 6000.3
    /// (Tests~/UnityStubs/VERIFIED.md); the behaviour below is not yet checked in a running Editor.
    /// <list type="bullet">
    /// <item>Camera.depthTextureMode |= Depth | MotionVectors makes the camera render its depth texture
    /// (_CameraDepthTexture) and its motion vectors (_CameraMotionVectorsTexture: RGHalf per the 2022.3
    /// scripting reference of DepthTextureMode.MotionVectors; each value the UV-space offset from the
    /// previous frame to this one, +y up, per the Unity 6 manual's camera-output pages). Only the bits this
    /// class turned on are cleared again at Dispose, so a mode another script set meanwhile survives.</item>
    /// <item>The copies are made by a command buffer on the camera at CameraEvent.BeforeImageEffects,
    /// reading BuiltinRenderTextureType.MotionVectors and .Depth: the documented names of those two
    /// textures while that camera renders. Not Shader.GetGlobalTexture at the end of the frame: the
    /// manual defines those globals for the camera that is rendering, and at WaitForEndOfFrame none is
    /// (another camera may have replaced them, and Unity may have handed the temporary texture on).
    /// Camera.AddCommandBuffer works on the built-in pipeline only (6000.3's reference source logs a
    /// warning and does nothing under a scriptable pipeline). BeforeImageEffects comes after the
    /// motion-vector pass (the DepthTextureMode.MotionVectors reference: rendered after opaque geometry,
    /// before image effects); that the buffer runs there on a camera with no image effects at all is
    /// expected but not yet seen in an Editor.</item>
    /// <item>Depth is never blended across an edge. What this relies on: a Blit without a material samples
    /// its source with the source texture's own filter mode (the usual behaviour of Unity's default blit,
    /// not checked against its shader source here). We cannot set the filter mode of the camera's depth
    /// texture, so depth is first copied at the camera's own pixel size into an RFloat texture of ours
    /// (same size: every pixel samples exactly its texel's centre, so bilinear weights are 1 and 0), whose
    /// filterMode is Point, and that one is scaled to the session size (each pixel takes the nearest
    /// texel). When the
    /// camera's pixel size changes, that frame's depth is left out and the copy is re-made at the new
    /// size. Motion vectors are scaled directly (the runtime itself rescales motion bilinearly).</item>
    /// <item>Camera.onPostRender (built-in pipeline) tells which frames the camera really rendered: a
    /// frame it did not render carries no planes (the textures would hold an older frame).</item>
    /// </list>
    /// </summary>
    internal sealed class LSDCameraPlanes : IDisposable
    {
        private const CameraEvent CaptureAt = CameraEvent.BeforeImageEffects;

        private readonly Camera _camera;
        private readonly DepthTextureMode _added;
        private readonly CommandBuffer _commands;
        private readonly Camera.CameraCallback _onPostRender;
        private RenderTexture _depthFull;      // the camera's depth at its own pixel size, point-filtered
        private int _renderedFrame = -1;       // Time.frameCount of the camera's last render
        private bool _depthCopyExact;          // that render's depth texture had _depthFull's size
        private bool _depthChangeReported;
        private bool _disposed;

        internal LSDCameraPlanes(Camera camera, LSDFrameParts parts, int width, int height)
        {
            if (camera == null) throw new ArgumentNullException("camera");
            _camera = camera;
            Parts = parts & (LSDFrameParts.Motion | LSDFrameParts.Depth);
            bool motion = (Parts & LSDFrameParts.Motion) != 0, depth = (Parts & LSDFrameParts.Depth) != 0;
            // the built-in camera reconstructs its motion from depth, so motion vectors ask for depth too
            DepthTextureMode wanted = DepthTextureMode.Depth | (motion ? DepthTextureMode.MotionVectors : DepthTextureMode.None);
            DepthTextureMode before = camera.depthTextureMode;
            _added = wanted & ~before;
            camera.depthTextureMode = before | wanted;

            _commands = new CommandBuffer { name = "LSD Bridge: motion vectors and depth" };
            try
            {
                if (motion)
                {
                    Motion = NewTarget(width, height, RenderTextureFormat.RGHalf, "LSD motion vectors");
                    MotionOptions = LSDMotionOptions.UnityCamera();
                }
                if (depth)
                {
                    Depth = NewTarget(width, height, RenderTextureFormat.RFloat, "LSD depth");
                    // the depth buffer's raw 0..1 values; reversed-Z (1 near) where the platform uses it
                    DepthOptions = LSDDepthOptions.Device(camera.nearClipPlane, camera.farClipPlane, SystemInfo.usesReversedZBuffer);
                    DepthOptions.Format = LSDDepthFormat.R32f;
                }
                Record();
                camera.AddCommandBuffer(CaptureAt, _commands);
                _onPostRender = OnPostRender;
                Camera.onPostRender += _onPostRender;
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        /// <summary>What this capture sends: Motion, Depth or both.</summary>
        public LSDFrameParts Parts { get; private set; }
        /// <summary>Session-size RGHalf copy of the motion vectors (null: not sent).</summary>
        public RenderTexture Motion { get; private set; }
        /// <summary>Session-size RFloat copy of the device depth (null: not sent).</summary>
        public RenderTexture Depth { get; private set; }
        /// <summary>How the bind declares the planes (null: not sent).</summary>
        public LSDMotionOptions MotionOptions { get; private set; }
        public LSDDepthOptions DepthOptions { get; private set; }

        /// <summary>At the end of a frame: the planes Motion and Depth hold for this frame (None when the
        /// camera did not render it). Depth is left out when its copy was not exact or the camera's
        /// projection no longer matches the bind (said once).</summary>
        internal LSDFrameParts TakeFrameParts()
        {
            if (_disposed || _camera == null || _renderedFrame != Time.frameCount) return LSDFrameParts.None;
            LSDFrameParts parts = Parts;
            if (Depth == null) return parts;
            bool exact = _depthCopyExact;
            if (!exact) Record();   // the camera's size changed: the next frames copy at the new size
            bool matches = LSDPlaneRules.DepthMatchesBind(DepthOptions.Near, DepthOptions.Far, _camera.nearClipPlane,
                                                          _camera.farClipPlane, _camera.orthographic);
            if (!matches && !_depthChangeReported)
            {
                _depthChangeReported = true;
                Debug.LogWarning("LSD Bridge: the source camera's clip planes or projection changed since StartCapture " +
                                 "(bound: near " + DepthOptions.Near + ", far " + DepthOptions.Far + "); its depth would be " +
                                 "misread, so depth is left out until Stop and StartCapture bind the new values.");
            }
            if (!exact || !matches) parts &= ~LSDFrameParts.Depth;
            return parts;
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (_onPostRender != null) Camera.onPostRender -= _onPostRender;
            if (_camera != null)   // a destroyed camera has nothing left to restore
            {
                _camera.RemoveCommandBuffer(CaptureAt, _commands);
                _camera.depthTextureMode = _camera.depthTextureMode & ~_added;
            }
            _commands.Release();
            Destroy(_depthFull);
            Destroy(Motion);
            Destroy(Depth);
            _depthFull = null;
            Motion = Depth = null;
        }

        // ---- internals ------------------------------------------------------------------------------

        private void OnPostRender(Camera camera)
        {
            if (_disposed || camera != _camera) return;
            _renderedFrame = Time.frameCount;
            _depthCopyExact = _depthFull != null && camera.pixelWidth == _depthFull.width && camera.pixelHeight == _depthFull.height;
        }

        // (re)writes the camera's command buffer; the depth copy is sized to the camera's pixels now
        private void Record()
        {
            _commands.Clear();
            if (Motion != null)
                _commands.Blit(new RenderTargetIdentifier(BuiltinRenderTextureType.MotionVectors), new RenderTargetIdentifier(Motion));
            if (Depth == null) return;
            int w = Math.Max(1, _camera.pixelWidth), h = Math.Max(1, _camera.pixelHeight);
            if (_depthFull == null || _depthFull.width != w || _depthFull.height != h)
            {
                Destroy(_depthFull);
                _depthFull = NewTarget(w, h, RenderTextureFormat.RFloat, "LSD depth (camera size)");
                _depthFull.filterMode = FilterMode.Point;   // the session-size copy takes the nearest texel
            }
            _commands.Blit(new RenderTargetIdentifier(BuiltinRenderTextureType.Depth), new RenderTargetIdentifier(_depthFull));
            _commands.Blit(new RenderTargetIdentifier(_depthFull), new RenderTargetIdentifier(Depth));
        }

        private static RenderTexture NewTarget(int width, int height, RenderTextureFormat format, string name)
        {
            // linear: float data, no sRGB conversion on write or read
            var rt = new RenderTexture(width, height, 0, format, RenderTextureReadWrite.Linear) { name = name };
            rt.Create();
            return rt;
        }

        private static void Destroy(RenderTexture rt)
        {
            if (rt == null) return;
            rt.Release();
            LSDStreamEngine.DestroyObject(rt);
        }
    }
}
