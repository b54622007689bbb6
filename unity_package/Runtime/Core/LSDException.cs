using System;

namespace LSDBridge
{
    /// <summary>
    /// A native call failed. <see cref="Status"/> is the lsd_status it returned and
    /// <see cref="NativeMessage"/> the calling thread's lsd_last_error() right after it.
    /// </summary>
    [Serializable]
    public class LSDException : Exception
    {
        public LSDStatus Status { get; private set; }
        public string Operation { get; private set; }
        public string NativeMessage { get; private set; }

        public LSDException(LSDStatus status, string operation, string nativeMessage)
            : base(Format(status, operation, nativeMessage))
        {
            Status = status;
            Operation = operation;
            NativeMessage = nativeMessage ?? string.Empty;
        }

        private static string Format(LSDStatus status, string operation, string nativeMessage)
        {
            string name = LSDRuntime.StatusName(status);
            return string.IsNullOrEmpty(nativeMessage)
                ? string.Format("{0} failed: {1}", operation, name)
                : string.Format("{0} failed: {1}: {2}", operation, name, nativeMessage);
        }

        /// <summary>Builds the exception from the status and this thread's lsd_last_error().</summary>
        internal static LSDException FromLastError(LSDStatus status, string operation)
        {
            string message;
            try { message = NativeMethods.LastError(); }
            catch (Exception) { message = string.Empty; }
            return new LSDException(status, operation, message);
        }
    }
}
