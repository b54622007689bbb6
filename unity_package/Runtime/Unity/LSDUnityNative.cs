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

        private static readonly int TimeOffset = Marshal.OffsetOf(typeof(NativeMethods.lsd_unity_texture_event), "time").ToInt32();
        private static readonly int FlagsOffset = Marshal.OffsetOf(typeof(NativeMethods.lsd_unity_texture_event), "flags").ToInt32();
        private static readonly int ClientOffset = Marshal.OffsetOf(typeof(NativeMethods.lsd_unity_texture_event), "client").ToInt32();

        /// <summary><paramref name="client"/>: the session's native handle (LSDClient.NativeHandle), so that
        /// REGISTER also registers the texture with CUDA and CAPTURE / PRESENT copy it to and from the
        /// session's slots; IntPtr.Zero: the texture is only described. <paramref name="write"/>: the texture
        /// PRESENT writes into (the output).</summary>
        internal LSDRenderThreadTexture(Texture texture, string name, IntPtr client = default(IntPtr), bool write = false,
                                        LSDPixelFormat format = LSDPixelFormat.Rgba8)
        {
            _callback = LSDUnityNative.lsd_unity_get_render_event_func();
            var ev = new NativeMethods.lsd_unity_texture_event
            {
                struct_size = (uint)Marshal.SizeOf(typeof(NativeMethods.lsd_unity_texture_event)),
                native_texture = texture.GetNativeTexturePtr(),
                width = (uint)texture.width,
                height = (uint)texture.height,
                client = client,
                write = write ? 1 : 0,
                format = format,
                cuda_status = LSDStatus.Pending,
            };
            _record = Marshal.AllocHGlobal(Marshal.SizeOf(typeof(NativeMethods.lsd_unity_texture_event)));
            Marshal.StructureToPtr(ev, _record, false);
            _commands = new CommandBuffer { name = name };
            Issue(LSDUnityNative.EventRegisterTexture);
        }

        /// <summary>Status the render thread wrote for the last event that ran (it runs later than Issue).</summary>
        internal NativeMethods.lsd_unity_texture_event Read()
        {
            return (NativeMethods.lsd_unity_texture_event)Marshal.PtrToStructure(_record, typeof(NativeMethods.lsd_unity_texture_event));
        }

        /// <summary>The capture time and flags the next CAPTURE sends (written into the record; an event already
        /// queued for an earlier frame may read them too: they are informational, the pixels are the event's).</summary>
        internal void SetFrame(double time, LSDFrameFlags flags)
        {
            if (_record == IntPtr.Zero) return;
            Marshal.WriteInt64(_record, TimeOffset, BitConverter.DoubleToInt64Bits(time));
            Marshal.WriteInt32(_record, FlagsOffset, (int)flags);
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
            // events still queued for this record must not reach the session, which closes soon after
            Marshal.WriteIntPtr(_record, ClientOffset, IntPtr.Zero);
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

        private static readonly System.Collections.Generic.List<KeyValuePair> Later = new System.Collections.Generic.List<KeyValuePair>();
        private struct KeyValuePair { public IDisposable Item; public int Frame; }

        internal static void Free(IntPtr p)
        {
            lock (Pending) Pending.Add(new Entry { Ptr = p, Frame = Time.frameCount });
        }

        /// <summary>Disposes <paramref name="item"/> a few frames later: a session whose handle render-thread
        /// events may still be using.</summary>
        internal static void DisposeLater(IDisposable item)
        {
            lock (Pending) Later.Add(new KeyValuePair { Item = item, Frame = Time.frameCount });
        }

        internal static void DisposeAllNow()
        {
            lock (Pending)
            {
                foreach (KeyValuePair k in Later) k.Item.Dispose();
                Later.Clear();
            }
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
                for (int i = Later.Count - 1; i >= 0; i--)
                {
                    if (Time.frameCount - Later[i].Frame < 3) continue;
                    Later[i].Item.Dispose();
                    Later.RemoveAt(i);
                }
            }
        }
    }
}
