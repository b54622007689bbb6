using System;
using Microsoft.Win32.SafeHandles;

namespace LSDBridge
{
    /// <summary>
    /// Owns an lsd_client*. The runtime's SafeHandle reference counting guarantees the
    /// C ABI rule "close once, after no call is in progress": every P/Invoke that takes
    /// this handle adds a reference for the duration of the call, and lsd_client_close
    /// runs only when the last reference is gone (once, even if Dispose is called twice
    /// or from the finalizer).
    /// </summary>
    internal sealed class LSDClientHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        // The P/Invoke marshaller creates instances through this constructor.
        private LSDClientHandle() : base(true) { }

        protected override bool ReleaseHandle()
        {
            NativeMethods.lsd_client_close(handle);
            return true;
        }
    }
}
