// Every P/Invoke into the native client library (liblsd_bridge), in one place.
// Mirrors shared_protocol/native/include/lsd_bridge/lsd_client.h exactly: same field
// order, same field types, natural (sequential) alignment, cdecl, strings as UTF-8
// bytes marshalled by hand (no reliance on CharSet, which differs between Mono,
// .NET and IL2CPP). The ABI test (Tests~/AbiLayoutTests.cs) compares every struct's
// size and field offsets with the C compiler's sizeof/offsetof.
using System;
using System.Runtime.InteropServices;

namespace LSDBridge
{
    internal static class NativeMethods
    {
        // "lsd_bridge" resolves to lsd_bridge.dll (Windows), liblsd_bridge.so (Linux/Android),
        // liblsd_bridge.dylib / lsd_bridge.bundle (macOS) through Unity's and Mono's probing.
        internal const string Library = "lsd_bridge";

        // ---- structs (field order and types exactly as in lsd_client.h) --------------

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_runtime_info
        {
            public uint struct_size;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 256)] public byte[] endpoint;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 256)] public byte[] token;
            public long pid;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 64)] public byte[] version;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_client_config
        {
            public uint struct_size;
            public IntPtr endpoint;      // const char* (UTF-8)
            public IntPtr token;         // const char*
            public IntPtr state_dir;     // const char*
            public IntPtr client_name;   // const char*
            public uint heartbeat_ms;
            public uint timeout_ms;
            public uint reconnect_max_ms;
            public IntPtr server_key;    // const char* (Z85), appended in 0.2
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_ring_desc
        {
            public uint struct_size;
            public uint width;
            public uint height;
            public LSDPixelFormat format;   // C enum: int
            public uint pitch;
            public int bottom_up;
            public LSDColorEncoding color;  // C enum: int
            public uint slots;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_motion_desc
        {
            public LSDMotionFormat format;  // C enum: int
            public LSDMotionUnits units;    // C enum: int
            public LSDMotionSign sign;      // C enum: int
            public int y_up;
            public uint pitch;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_depth_desc
        {
            public LSDDepthFormat format;   // C enum: int
            public LSDDepthKind kind;       // C enum: int
            public int reversed_z;
            public float near_plane;
            public float far_plane;
            public uint pitch;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_bind_desc
        {
            public uint struct_size;
            public LSDTransport transport;  // C enum: int
            public lsd_ring_desc input;
            public lsd_ring_desc output;
            public uint model_width;
            public uint model_height;
            public int device_ordinal;
            public LSDCodec codec;          // C enum: int, appended in 0.2
            public lsd_motion_desc motion;  // appended in 0.3
            public lsd_depth_desc depth;    // appended in 0.3
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_style_desc
        {
            public uint struct_size;
            public IntPtr backend;   // const char* (UTF-8), NULL: "effects"
            public IntPtr style;     // const char*, NULL: not sent
            public IntPtr prompt;    // const char*, NULL: not sent
            public int has_strength;
            public double strength;
            public int has_seed;
            public long seed;
            public IntPtr model;     // const char* (UTF-8), NULL: not sent (appended in 0.2)
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_frame_in
        {
            public uint struct_size;
            public IntPtr data;          // const void*
            public ulong device_ptr;     // reserved, must be 0
            public uint width;
            public uint height;
            public uint pitch;
            public LSDPixelFormat format;
            public double time;
            public uint flags;
            public IntPtr motion;        // const void*, appended in 0.3
            public uint motion_pitch;
            public IntPtr depth;         // const void*
            public uint depth_pitch;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_timings
        {
            public double queue_ms;
            public double input_ms;
            public double backend_ms;
            public double output_ms;
            public double total_ms;
            public double round_trip_ms;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_frame_out
        {
            public uint struct_size;
            public IntPtr data;          // void*
            public ulong device_ptr;     // reserved, must be 0
            public ulong capacity;
            public uint pitch;
            public uint width;
            public uint height;
            public LSDPixelFormat format;
            public ulong frame_id;
            public double time;
            public lsd_timings timings;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_latency
        {
            public double p50_ms;
            public double p99_ms;
            public ulong samples;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_stats
        {
            public uint struct_size;
            public LSDConnectionState state;
            public ulong frames_submitted;
            public ulong frames_done;
            public ulong frames_dropped;
            public ulong frames_skipped;
            public ulong frames_lost;
            public ulong frames_taken;
            public ulong reconnects;
            public ulong errors;
            public lsd_latency queue;
            public lsd_latency input;
            public lsd_latency backend;
            public lsd_latency output;
            public lsd_latency total;
            public lsd_latency round_trip;
            public ulong inline_bytes_sent;       // appended in 0.2
            public ulong inline_bytes_received;
            public ulong inline_frames_packed;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_style_info
        {
            public uint struct_size;
            public LSDStatus status;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 64)] public byte[] backend;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 256)] public byte[] style;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 256)] public byte[] model;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 64)] public byte[] matched;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 256)] public byte[] message;
        }

        // lsd_transport_info (appended in 0.4)
        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_transport_info
        {
            public uint struct_size;
            public LSDTransport requested;
            public LSDTransport transport;
            public int zero_copy;
            public int cuda_driver;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 64)] public byte[] gpu;
            [MarshalAs(UnmanagedType.ByValArray, SizeConst = 256)] public byte[] reason;
        }

        // lsd_unity_texture_event (shared_protocol/native/unity/lsd_unity.h): the record of the Unity glue's
        // render-thread events (the Unity layer issues them; its layout is checked here with the others)
        [StructLayout(LayoutKind.Sequential)]
        internal struct lsd_unity_texture_event
        {
            public uint struct_size;
            public int status;
            public IntPtr native_texture;
            public uint width;
            public uint height;
            public int renderer;
            public uint native_format;
            public ulong events_handled;
            // appended in 0.4: the GPU path
            public IntPtr client;
            public int write;
            public LSDPixelFormat format;
            public double time;
            public uint flags;
            public LSDStatus cuda_status;
            public ulong frame_id;
            public IntPtr cuda_texture;
        }

        // ---- library -------------------------------------------------------------------

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lsd_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lsd_status_string(LSDStatus s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lsd_last_error();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint lsd_format_bytes_per_pixel(LSDPixelFormat f);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lsd_cuda_available();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int lsd_cuda_device_count();

        // ---- discovery -----------------------------------------------------------------

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_read_runtime_state(IntPtr stateDirUtf8, ref lsd_runtime_info info);

        // ---- client --------------------------------------------------------------------

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lsd_client_config_init(ref lsd_client_config cfg);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_create(ref lsd_client_config cfg, out LSDClientHandle client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_create_from_state(IntPtr stateDirUtf8, IntPtr clientNameUtf8,
                                                                      out LSDClientHandle client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_connect(LSDClientHandle client, uint timeoutMs);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDConnectionState lsd_client_state(LSDClientHandle client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lsd_bind_desc_init(ref lsd_bind_desc desc, uint width, uint height, LSDPixelFormat format);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_bind(LSDClientHandle client, ref lsd_bind_desc desc, uint timeoutMs);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lsd_style_desc_init(ref lsd_style_desc style);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_set_style(LSDClientHandle client, ref lsd_style_desc style, uint timeoutMs);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_submit(LSDClientHandle client, ref lsd_frame_in frame, out ulong frameId);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_take(LSDClientHandle client, ref lsd_frame_out frame, uint timeoutMs);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_get_stats(LSDClientHandle client, ref lsd_stats stats);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_get_style(LSDClientHandle client, ref lsd_style_info info);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern LSDStatus lsd_client_get_transport(LSDClientHandle client, ref lsd_transport_info info);

        // Called only by LSDClientHandle.ReleaseHandle (takes the raw pointer: the SafeHandle is closing).
        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lsd_client_close(IntPtr client);

        // ---- helpers -------------------------------------------------------------------

        /// <summary>The calling thread's lsd_last_error() as a managed string.</summary>
        internal static string LastError()
        {
            return Utf8.FromNative(lsd_last_error());
        }
    }
}
