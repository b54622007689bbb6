using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    /// <summary>The contract's golden vectors (shared_protocol/vectors) read in C#: every message decodes
    /// and re-encodes byte for byte, and the enum names and flag bits in them are the C# layer's
    /// (LSDProtocol.g.cs). The C# layer sends nothing itself (the native library encodes), so the codec
    /// here is the tests' own: msgpack as the contract uses it (maps, arrays, str, bin, ints, float64, bool,
    /// nil), written in the shortest form as every client writes it.</summary>
    [TestFixture]
    public class GoldenVectorTests
    {
        private static string Dir
        {
            get
            {
                string d = Environment.GetEnvironmentVariable("LSD_VECTORS_DIR");
                if (string.IsNullOrEmpty(d)) Assert.Fail("LSD_VECTORS_DIR is not set (run_tests.sh sets it)");
                return d;
            }
        }

        private static Dictionary<string, object> Load(string name)
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(Dir, name + ".msgpack"));
            int at = 0;
            object v = MsgPack.Read(bytes, ref at);
            Assert.AreEqual(bytes.Length, at, name + ": bytes after the message");
            return (Dictionary<string, object>)v;
        }

        [Test]
        public void EveryVectorReencodesByteExact()
        {
            int n = 0;
            foreach (string path in Directory.GetFiles(Dir, "*.msgpack"))
            {
                byte[] bytes = File.ReadAllBytes(path);
                int at = 0;
                object v = MsgPack.Read(bytes, ref at);
                Assert.AreEqual(bytes.Length, at, path + ": bytes after the message");
                var again = new MemoryStream();
                MsgPack.Write(again, v);
                byte[] b2 = again.ToArray();
                Assert.AreEqual(Convert.ToBase64String(bytes), Convert.ToBase64String(b2), Path.GetFileName(path));
                n++;
            }
            Assert.IsTrue(n >= 30, "found " + n + " vectors in " + Dir);
        }

        private static T EnumOf<T>(object wireName)
        {
            // wire names are snake_case ("rg16f", "current_minus_previous"); the C# names their PascalCase
            string s = (string)wireName;
            var sb = new StringBuilder();
            foreach (string part in s.Split('_')) sb.Append(char.ToUpperInvariant(part[0])).Append(part.Substring(1));
            return (T)Enum.Parse(typeof(T), sb.ToString(), false);
        }

        [Test]
        public void BindPlanesUseTheLayersEnums()
        {
            Dictionary<string, object> m = Load("bind_planes");
            Assert.AreEqual(LSDMotionFormat.Rg16f, EnumOf<LSDMotionFormat>(m["motion_format"]));
            Assert.AreEqual(4, LSDProtocol.BytesPerPixel(EnumOf<LSDMotionFormat>(m["motion_format"])));
            Assert.AreEqual(LSDMotionUnits.Uv, EnumOf<LSDMotionUnits>(m["motion_units"]));
            Assert.AreEqual(LSDMotionSign.CurrentMinusPrevious, EnumOf<LSDMotionSign>(m["motion_sign"]));
            Assert.AreEqual(true, m["motion_y_up"]);
            Assert.AreEqual(LSDDepthFormat.R32f, EnumOf<LSDDepthFormat>(m["depth_format"]));
            Assert.AreEqual(LSDDepthKind.Device, EnumOf<LSDDepthKind>(m["depth_kind"]));
            Assert.AreEqual(true, m["depth_reversed_z"]);
            Assert.AreEqual(0.3, (double)m["depth_near"]);
            Assert.AreEqual(1000.0, (double)m["depth_far"]);
        }

        [Test]
        public void FramePlaneFlagsAreTheLayersBits()
        {
            Dictionary<string, object> m = Load("frame_with_planes");
            Assert.AreEqual((ulong)(LSDFrameFlags.Motion | LSDFrameFlags.Depth), Convert.ToUInt64(m["flags"]));
            Dictionary<string, object> old = Load("frame");
            Assert.IsFalse(old.ContainsKey("flags") && (Convert.ToUInt64(old["flags"]) & 6UL) != 0,
                           "an old-style frame sets no plane bits");
        }

        [Test]
        public void BoundPlanesNameOneSlotPerInputSlot()
        {
            Dictionary<string, object> m = Load("bound_planes");
            var input = (Dictionary<string, object>)m["input"];
            foreach (string plane in new[] { "motion", "depth" })
            {
                var p = (Dictionary<string, object>)m[plane];
                Assert.AreEqual(((List<object>)input["names"]).Count, ((List<object>)p["names"]).Count, plane);
                Assert.AreEqual(Convert.ToUInt64(p["pitch"]) * 720UL, Convert.ToUInt64(p["size"]), plane);
            }
        }
    }

    /// <summary>msgpack for the tests: values as null, bool, long/ulong, double, string, byte[], List, Dictionary.</summary>
    internal static class MsgPack
    {
        public static object Read(byte[] b, ref int at)
        {
            byte t = b[at++];
            if (t <= 0x7f) return (long)t;
            if (t >= 0xe0) return (long)(sbyte)t;
            if ((t & 0xf0) == 0x80) return Map(b, ref at, t & 0x0f);
            if ((t & 0xf0) == 0x90) return Array(b, ref at, t & 0x0f);
            if ((t & 0xe0) == 0xa0) return Str(b, ref at, t & 0x1f);
            switch (t)
            {
                case 0xc0: return null;
                case 0xc2: return false;
                case 0xc3: return true;
                case 0xc4: return Bin(b, ref at, (int)Be(b, ref at, 1));
                case 0xc5: return Bin(b, ref at, (int)Be(b, ref at, 2));
                case 0xc6: return Bin(b, ref at, (int)Be(b, ref at, 4));
                case 0xca: return (double)BitConverter.ToSingle(BitConverter.GetBytes((uint)Be(b, ref at, 4)), 0);
                case 0xcb: return BitConverter.Int64BitsToDouble((long)Be(b, ref at, 8));
                case 0xcc: return (long)Be(b, ref at, 1);
                case 0xcd: return (long)Be(b, ref at, 2);
                case 0xce: return (long)Be(b, ref at, 4);
                case 0xcf: return Be(b, ref at, 8);
                case 0xd0: return (long)(sbyte)Be(b, ref at, 1);
                case 0xd1: return (long)(short)Be(b, ref at, 2);
                case 0xd2: return (long)(int)Be(b, ref at, 4);
                case 0xd3: return (long)Be(b, ref at, 8);
                case 0xd9: return Str(b, ref at, (int)Be(b, ref at, 1));
                case 0xda: return Str(b, ref at, (int)Be(b, ref at, 2));
                case 0xdb: return Str(b, ref at, (int)Be(b, ref at, 4));
                case 0xdc: return Array(b, ref at, (int)Be(b, ref at, 2));
                case 0xdd: return Array(b, ref at, (int)Be(b, ref at, 4));
                case 0xde: return Map(b, ref at, (int)Be(b, ref at, 2));
                case 0xdf: return Map(b, ref at, (int)Be(b, ref at, 4));
            }
            throw new FormatException("msgpack type byte 0x" + t.ToString("x2") + " is not one the contract uses");
        }

        private static ulong Be(byte[] b, ref int at, int n)
        {
            ulong v = 0;
            for (int i = 0; i < n; i++) v = (v << 8) | b[at++];
            return v;
        }

        private static string Str(byte[] b, ref int at, int n)
        {
            string s = Encoding.UTF8.GetString(b, at, n);
            at += n;
            return s;
        }

        private static byte[] Bin(byte[] b, ref int at, int n)
        {
            var r = new byte[n];
            Buffer.BlockCopy(b, at, r, 0, n);
            at += n;
            return r;
        }

        private static List<object> Array(byte[] b, ref int at, int n)
        {
            var r = new List<object>(n);
            for (int i = 0; i < n; i++) r.Add(Read(b, ref at));
            return r;
        }

        private static Dictionary<string, object> Map(byte[] b, ref int at, int n)
        {
            var r = new Dictionary<string, object>(n);  // insertion order is kept for a map never removed from
            for (int i = 0; i < n; i++)
            {
                var key = Read(b, ref at) as string;
                if (key == null) throw new FormatException("a map key that is not a string");
                r.Add(key, Read(b, ref at));
            }
            return r;
        }

        public static void Write(Stream o, object v)
        {
            if (v == null) o.WriteByte(0xc0);
            else if (v is bool) o.WriteByte((bool)v ? (byte)0xc3 : (byte)0xc2);
            else if (v is ulong) UInt(o, (ulong)v);
            else if (v is long)
            {
                long x = (long)v;
                if (x >= 0) UInt(o, (ulong)x);
                else if (x >= -32) o.WriteByte((byte)(sbyte)x);
                else if (x >= sbyte.MinValue) Head(o, 0xd0, (ulong)x, 1);
                else if (x >= short.MinValue) Head(o, 0xd1, (ulong)x, 2);
                else if (x >= int.MinValue) Head(o, 0xd2, (ulong)x, 4);
                else Head(o, 0xd3, (ulong)x, 8);
            }
            else if (v is double) Head(o, 0xcb, (ulong)BitConverter.DoubleToInt64Bits((double)v), 8);
            else if (v is string)
            {
                byte[] s = Encoding.UTF8.GetBytes((string)v);
                if (s.Length < 32) o.WriteByte((byte)(0xa0 | s.Length));
                else Length(o, s.Length, 0xd9, 0xda, 0xdb);
                o.Write(s, 0, s.Length);
            }
            else if (v is byte[])
            {
                var s = (byte[])v;
                Length(o, s.Length, 0xc4, 0xc5, 0xc6);
                o.Write(s, 0, s.Length);
            }
            else if (v is List<object>)
            {
                var a = (List<object>)v;
                if (a.Count < 16) o.WriteByte((byte)(0x90 | a.Count));
                else Length(o, a.Count, 0, 0xdc, 0xdd);
                foreach (object x in a) Write(o, x);
            }
            else
            {
                var m = (Dictionary<string, object>)v;
                if (m.Count < 16) o.WriteByte((byte)(0x80 | m.Count));
                else Length(o, m.Count, 0, 0xde, 0xdf);
                foreach (KeyValuePair<string, object> kv in m)
                {
                    Write(o, kv.Key);
                    Write(o, kv.Value);
                }
            }
        }

        private static void UInt(Stream o, ulong x)
        {
            if (x <= 0x7f) o.WriteByte((byte)x);
            else if (x <= byte.MaxValue) Head(o, 0xcc, x, 1);
            else if (x <= ushort.MaxValue) Head(o, 0xcd, x, 2);
            else if (x <= uint.MaxValue) Head(o, 0xce, x, 4);
            else Head(o, 0xcf, x, 8);
        }

        private static void Length(Stream o, int n, byte one, byte two, byte four)
        {
            if (n <= byte.MaxValue && one != 0) Head(o, one, (ulong)n, 1);
            else if (n <= ushort.MaxValue) Head(o, two, (ulong)n, 2);
            else Head(o, four, (ulong)n, 4);
        }

        private static void Head(Stream o, byte type, ulong x, int n)
        {
            o.WriteByte(type);
            for (int i = n - 1; i >= 0; i--) o.WriteByte((byte)(x >> (8 * i)));
        }
    }
}
