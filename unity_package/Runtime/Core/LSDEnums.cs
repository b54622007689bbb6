// Managed mirrors of the C enums in lsd_client.h (C enums are 32-bit ints on every
// platform Unity targets, so each is declared with the int underlying type).
namespace LSDBridge
{
    /// <summary>lsd_status: &gt;= 0 success or an expected condition, &lt; 0 an error.</summary>
    public enum LSDStatus : int
    {
        Ok = 0,
        /// <summary>Sent; the runtime has not answered within the timeout (it still may).</summary>
        Pending = 1,
        /// <summary>Take: no new finished frame yet.</summary>
        NoFrame = 2,
        /// <summary>Submit: every input slot is with the runtime; this frame was skipped (latest wins).</summary>
        NoFreeSlot = 3,
        InvalidArgument = -1,
        /// <summary>No session with a runtime (absent, starting, restarting); the client keeps trying.</summary>
        NotConnected = -2,
        /// <summary>Connected, but no rings bound yet.</summary>
        NotBound = -3,
        /// <summary>The runtime answered with an error (see the exception message).</summary>
        Rejected = -4,
        /// <summary>E.g. a transport this build cannot use yet.</summary>
        Unsupported = -5,
        /// <summary>Frame size/format does not match the bound ring.</summary>
        Mismatch = -6,
        Io = -7,
        Closed = -8,
        Internal = -9,
    }

    /// <summary>lsd_conn_state.</summary>
    public enum LSDConnectionState : int
    {
        Idle = 0,
        Connecting = 1,
        Connected = 2,
        Ready = 3,
        Closed = 4,
    }

    /// <summary>lsd_transport. Only Shm is implemented by the native library today.</summary>
    public enum LSDTransport : int
    {
        Shm = 0,
        CudaIpc = 1,
        CudaVmm = 2,
        Inline = 3,
    }

    /// <summary>lsd_format.</summary>
    public enum LSDPixelFormat : int
    {
        Rgba8 = 0,
        Bgra8 = 1,
        /// <summary>8 bytes per pixel, IEEE half floats.</summary>
        Rgba16F = 2,
    }

    /// <summary>lsd_color: how the stored values are encoded.</summary>
    public enum LSDColorEncoding : int
    {
        /// <summary>sRGB for 8-bit formats, linear for Rgba16F.</summary>
        Default = 0,
        Srgb = 1,
        Linear = 2,
    }

    /// <summary>lsd_frame_in.flags bits.</summary>
    [System.Flags]
    public enum LSDFrameFlags : uint
    {
        None = 0,
        /// <summary>Forget temporal state (camera cut).</summary>
        Reset = 1,
    }
}
