// P/Invoke into the Unity glue part of liblsd_bridge (shared_protocol/native/unity, built with
// LSD_WITH_UNITY_GLUE=ON) and the render-thread plumbing around CommandBuffer.IssuePluginEventAndData.
using System;
using System.Runtime.InteropServices;
using UnityEngine;
using UnityEngine.Rendering;

namespace LSDBridge
{
    internal static class LSDUnityNative
    {
        internal const int EventBase = 0x4C534400;
        internal const int EventRegisterTexture = EventBase + 0;
        internal const int EventCapture = EventBase + 1;
        internal const int EventPresent = EventBase + 2;
        internal const int EventUnregisterTexture = EventBase + 3;

        // lsd_unity_texture_event (lsd_unity.h)
        [StructLayout(LayoutKind.Sequential)]
        internal struct TextureEvent
        {
            public uint struct_size;
            public int status;
            public IntPtr native_texture;
            public uint width;
            public uint height;
            public int renderer;
            public uint native_format;
            public ulong events_handled;
        }

        [DllImport(NativeMethods.Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lsd_unity_get_render_event_func();

        [DllImport(NativeMethods.Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lsd_unity_renderer();

        [DllImport(NativeMethods.Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_unity_gpu_path_status();

        [DllImport(NativeMethods.Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lsd_unity_gpu_path_message();

        /// <summary>Why the GPU path cannot run, or null when it can.</summary>
        internal static string GpuPathUnavailableReason()
        {
            try
            {
                if (lsd_unity_gpu_path_status() == LSDStatus.Ok) return null;
                return Utf8.FromNative(lsd_unity_gpu_path_message());
            }
            catch (EntryPointNotFoundException)
            {
                return "the native library was built without the Unity glue (LSD_WITH_UNITY_GLUE=OFF)";
            }
            catch (DllNotFoundException e)
            {
                return "native library not found: " + e.Message;
            }
        }
    }

    /// <summary>
    /// One texture known to the native plugin on the render thread: the native pointer is taken
    /// once (Texture.GetNativeTexturePtr at bind), the event record lives in unmanaged memory for
    /// the texture's lifetime, and per-frame work is queued with IssuePluginEventAndData.
    /// </summary>
    internal sealed class LSDRenderThreadTexture : IDisposable
    {
        private readonly IntPtr _callback;
        private IntPtr _record;
        private readonly CommandBuffer _commands;

        internal LSDRenderThreadTexture(Texture texture, string name)
        {
            _callback = LSDUnityNative.lsd_unity_get_render_event_func();
            var ev = new LSDUnityNative.TextureEvent
            {
                struct_size = (uint)Marshal.SizeOf(typeof(LSDUnityNative.TextureEvent)),
                native_texture = texture.GetNativeTexturePtr(),
                width = (uint)texture.width,
                height = (uint)texture.height,
            };
            _record = Marshal.AllocHGlobal(Marshal.SizeOf(typeof(LSDUnityNative.TextureEvent)));
            Marshal.StructureToPtr(ev, _record, false);
            _commands = new CommandBuffer { name = name };
            Issue(LSDUnityNative.EventRegisterTexture);
        }

        /// <summary>Status the render thread wrote for the last event that ran (it runs later than Issue).</summary>
        internal LSDUnityNative.TextureEvent Read()
        {
            return (LSDUnityNative.TextureEvent)Marshal.PtrToStructure(_record, typeof(LSDUnityNative.TextureEvent));
        }

        internal void Issue(int eventId)
        {
            _commands.Clear();
            _commands.IssuePluginEventAndData(_callback, eventId, _record);
            Graphics.ExecuteCommandBuffer(_commands);
        }

        public void Dispose()
        {
            if (_record == IntPtr.Zero) return;
            Issue(LSDUnityNative.EventUnregisterTexture);
            // the event above still reads the record on the render thread: free it a few frames later
            _commands.Release();
            IntPtr r = _record;
            _record = IntPtr.Zero;
            LSDDeferredFree.Free(r);
        }
    }

    /// <summary>Frees unmanaged records a few frames later, once the render thread has consumed them.</summary>
    internal static class LSDDeferredFree
    {
        private struct Entry { public IntPtr Ptr; public int Frame; }
        private static readonly System.Collections.Generic.List<Entry> Pending = new System.Collections.Generic.List<Entry>();

        internal static void Free(IntPtr p)
        {
            lock (Pending) Pending.Add(new Entry { Ptr = p, Frame = Time.frameCount });
        }

        /// <summary>Called once per frame by the engine's driver.</summary>
        internal static void Collect()
        {
            lock (Pending)
            {
                for (int i = Pending.Count - 1; i >= 0; i--)
                {
                    if (Time.frameCount - Pending[i].Frame < 3) continue;   // render thread lags at most 1-2 frames
                    Marshal.FreeHGlobal(Pending[i].Ptr);
                    Pending.RemoveAt(i);
                }
            }
        }
    }
}
