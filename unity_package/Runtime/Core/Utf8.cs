// UTF-8 strings across the C ABI, marshalled by hand so that Mono, .NET and IL2CPP all
// behave the same (no CharSet / LPUTF8Str differences).
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace LSDBridge
{
    internal static class Utf8
    {
        /// <summary>Decodes a NUL-terminated UTF-8 string; IntPtr.Zero gives "".</summary>
        internal static string FromNative(IntPtr p)
        {
            if (p == IntPtr.Zero) return string.Empty;
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            if (n == 0) return string.Empty;
            var bytes = new byte[n];
            Marshal.Copy(p, bytes, 0, n);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Decodes a fixed char[N] field up to its first NUL.</summary>
        internal static string FromFixed(byte[] field)
        {
            if (field == null) return string.Empty;
            int n = Array.IndexOf(field, (byte)0);
            if (n < 0) n = field.Length;
            return Encoding.UTF8.GetString(field, 0, n);
        }
    }

    /// <summary>A NUL-terminated UTF-8 copy of a string in unmanaged memory (null stays NULL).</summary>
    internal sealed class Utf8Buffer : IDisposable
    {
        private IntPtr _ptr;

        internal Utf8Buffer(string s)
        {
            if (s == null) return;
            if (s.IndexOf('\0') >= 0) throw new ArgumentException("string contains a NUL character", "s");
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            _ptr = Marshal.AllocHGlobal(bytes.Length + 1);
            Marshal.Copy(bytes, 0, _ptr, bytes.Length);
            Marshal.WriteByte(_ptr, bytes.Length, 0);
        }

        internal IntPtr Pointer { get { return _ptr; } }

        public void Dispose()
        {
            if (_ptr != IntPtr.Zero)
            {
                Marshal.FreeHGlobal(_ptr);
                _ptr = IntPtr.Zero;
            }
        }
    }
}
