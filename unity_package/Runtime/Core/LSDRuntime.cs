using System;

namespace LSDBridge
{
    /// <summary>What runtime.json says about a running lsd-runtime.</summary>
    public sealed class LSDRuntimeInfo
    {
        public string Endpoint { get; internal set; }
        public string Token { get; internal set; }
        public long Pid { get; internal set; }
        public string Version { get; internal set; }
    }

    /// <summary>Library-level calls of the native client (no handle needed; thread-safe).</summary>
    public static class LSDRuntime
    {
        /// <summary>The native library's version, e.g. "0.1.0".</summary>
        public static string NativeVersion
        {
            get { return Utf8.FromNative(NativeMethods.lsd_version()); }
        }

        /// <summary>1 when libcuda loaded, cuInit succeeded and there is at least one device.</summary>
        public static bool CudaAvailable
        {
            get { return NativeMethods.lsd_cuda_available() == 1; }
        }

        /// <summary>CUDA devices, -1 when no driver.</summary>
        public static int CudaDeviceCount
        {
            get { return NativeMethods.lsd_cuda_device_count(); }
        }

        /// <summary>"LSD_OK", "LSD_E_NOT_CONNECTED", ... (managed table: works without the native library).</summary>
        public static string StatusName(LSDStatus status)
        {
            return LSDProtocol.StatusName(status);
        }

        /// <summary>The native library's own name for a status (lsd_status_string).</summary>
        public static string NativeStatusName(LSDStatus status)
        {
            return Utf8.FromNative(NativeMethods.lsd_status_string(status));
        }

        /// <summary>4 for Rgba8/Bgra8, 8 for Rgba16F.</summary>
        public static int BytesPerPixel(LSDPixelFormat format)
        {
            return LSDProtocol.BytesPerPixel(format);
        }

        /// <summary>
        /// Reads STATE_DIR/runtime.json (null or "": $LSD_BRIDGE_HOME, else ~/.lsd-bridge).
        /// Throws LSDException (Status Io) when it is missing or unreadable.
        /// </summary>
        public static LSDRuntimeInfo ReadRuntimeState(string stateDirectory)
        {
            var info = new NativeMethods.lsd_runtime_info
            {
                struct_size = (uint)System.Runtime.InteropServices.Marshal.SizeOf(typeof(NativeMethods.lsd_runtime_info)),
                endpoint = new byte[256],
                token = new byte[256],
                version = new byte[64],
            };
            LSDStatus status;
            using (var dir = new Utf8Buffer(stateDirectory))
            {
                status = NativeMethods.lsd_read_runtime_state(dir.Pointer, ref info);
                if (status != LSDStatus.Ok) throw LSDException.FromLastError(status, "ReadRuntimeState");
            }
            return new LSDRuntimeInfo
            {
                Endpoint = Utf8.FromFixed(info.endpoint),
                Token = Utf8.FromFixed(info.token),
                Pid = info.pid,
                Version = Utf8.FromFixed(info.version),
            };
        }
    }
}
