using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    /// <summary>Every NativeMethods struct has the C compiler's size and field offsets
    /// (abi_layout.c, built by run_tests.sh against the current lsd_client.h).</summary>
    [TestFixture]
    public class AbiLayoutTests
    {
        private Dictionary<string, long> _c;

        [OneTimeSetUp]
        public void ReadCLayout()
        {
            string bin = Environment.GetEnvironmentVariable("LSD_ABI_LAYOUT_BIN");
            if (string.IsNullOrEmpty(bin)) Assert.Fail("LSD_ABI_LAYOUT_BIN is not set (run_tests.sh builds abi_layout.c)");
            var psi = new ProcessStartInfo(bin) { UseShellExecute = false, RedirectStandardOutput = true };
            _c = new Dictionary<string, long>();
            using (Process p = Process.Start(psi))
            {
                string line;
                while ((line = p.StandardOutput.ReadLine()) != null)
                {
                    string[] parts = line.Split(' ');
                    _c[parts[0]] = long.Parse(parts[1]);
                }
                p.WaitForExit();
            }
        }

        private void Check(Type t)
        {
            string name = t.Name;
            Assert.AreEqual(_c[name], (long)Marshal.SizeOf(t), "sizeof(" + name + ")");
            int fields = 0;
            foreach (var f in t.GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
            {
                if (f.Name == "struct_size" || (name == "lsd_timings" && f.Name == "queue_ms") ||
                    (name == "lsd_latency" && f.Name == "p50_ms")) continue;
                long c;
                if (!_c.TryGetValue(name + "." + f.Name, out c)) Assert.Fail("abi_layout.c does not print " + name + "." + f.Name);
                Assert.AreEqual(c, Marshal.OffsetOf(t, f.Name).ToInt64(), "offsetof(" + name + ", " + f.Name + ")");
                fields++;
            }
            Assert.IsTrue(fields > 0, name + " has fields");
        }

        [Test] public void EnumsAreInts() { Assert.AreEqual(_c["lsd_status"], 4L); Assert.AreEqual(_c["lsd_format"], 4L); }
        [Test] public void RuntimeInfo() { Check(typeof(NativeMethods.lsd_runtime_info)); }
        [Test] public void ClientConfig() { Check(typeof(NativeMethods.lsd_client_config)); }
        [Test] public void RingDesc() { Check(typeof(NativeMethods.lsd_ring_desc)); }
        [Test] public void BindDesc() { Check(typeof(NativeMethods.lsd_bind_desc)); }
        [Test] public void MotionDesc() { Check(typeof(NativeMethods.lsd_motion_desc)); }
        [Test] public void DepthDesc() { Check(typeof(NativeMethods.lsd_depth_desc)); }
        [Test] public void StyleDesc() { Check(typeof(NativeMethods.lsd_style_desc)); }
        [Test] public void StyleInfo() { Check(typeof(NativeMethods.lsd_style_info)); }
        [Test] public void FrameIn() { Check(typeof(NativeMethods.lsd_frame_in)); }
        [Test] public void Timings() { Check(typeof(NativeMethods.lsd_timings)); }
        [Test] public void FrameOut() { Check(typeof(NativeMethods.lsd_frame_out)); }
        [Test] public void Latency() { Check(typeof(NativeMethods.lsd_latency)); }
        [Test] public void Stats() { Check(typeof(NativeMethods.lsd_stats)); }
        [Test] public void TransportInfo() { Check(typeof(NativeMethods.lsd_transport_info)); }
        [Test] public void UnityTextureEvent() { Check(typeof(NativeMethods.lsd_unity_texture_event)); }

        [Test]
        public void InitHelpersAgreeWithManagedSizes()
        {
            var cfg = new NativeMethods.lsd_client_config();
            NativeMethods.lsd_client_config_init(ref cfg);
            Assert.AreEqual((uint)Marshal.SizeOf(cfg), cfg.struct_size, "lsd_client_config_init");
            var bind = new NativeMethods.lsd_bind_desc();
            NativeMethods.lsd_bind_desc_init(ref bind, 64, 32, LSDPixelFormat.Bgra8);
            Assert.AreEqual((uint)Marshal.SizeOf(bind), bind.struct_size, "lsd_bind_desc_init");
            Assert.AreEqual((uint)Marshal.SizeOf(bind.input), bind.input.struct_size, "ring struct_size");
            Assert.AreEqual(64u, bind.output.width);
            Assert.AreEqual(32u, bind.output.height);
            Assert.AreEqual(LSDPixelFormat.Bgra8, bind.output.format);
            Assert.AreEqual(3u, bind.input.slots);
            var style = new NativeMethods.lsd_style_desc();
            NativeMethods.lsd_style_desc_init(ref style);
            Assert.AreEqual((uint)Marshal.SizeOf(style), style.struct_size, "lsd_style_desc_init");
        }
    }
}
