using System;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    [TestFixture]
    public class LibraryTests
    {
        [Test]
        public void NativeVersionIsSet()
        {
            string v = LSDRuntime.NativeVersion;
            Assert.IsTrue(v.Length > 0 && v.Split('.').Length == 3, "version " + v);
        }

        [Test]
        public void StatusNamesMatchTheNativeTable()
        {
            foreach (LSDStatus s in Enum.GetValues(typeof(LSDStatus)))
                Assert.AreEqual(LSDRuntime.NativeStatusName(s), LSDRuntime.StatusName(s));
        }

        [Test]
        public void BytesPerPixelMatchNative()
        {
            foreach (LSDPixelFormat f in Enum.GetValues(typeof(LSDPixelFormat)))
                Assert.AreEqual((int)NativeMethods.lsd_format_bytes_per_pixel(f), LSDRuntime.BytesPerPixel(f), f.ToString());
            Assert.Throws<ArgumentOutOfRangeException>(() => LSDRuntime.BytesPerPixel((LSDPixelFormat)7));
        }

        [Test]
        public void CudaProbeDoesNotThrowWithoutADriver()
        {
            int n = LSDRuntime.CudaDeviceCount;
            Assert.IsTrue(n >= -1);
            Assert.AreEqual(n > 0, LSDRuntime.CudaAvailable);
        }

        [Test]
        public void ReadRuntimeStateOfAnEmptyDirectoryIsAnIoError()
        {
            string dir = RuntimeProcess.MakeTempDir("lsd-unity-empty");
            var e = Assert.Throws<LSDException>(() => LSDRuntime.ReadRuntimeState(dir));
            Assert.AreEqual(LSDStatus.Io, e.Status);
            Assert.IsTrue(e.NativeMessage.Length > 0, "native message");
            Assert.IsTrue(e.Message.Contains("LSD_E_IO"), e.Message);
        }

        [Test]
        public void ModelAndBackendTogetherAreRefusedBeforeTheNativeCall()
        {
            using (LSDClient c = LSDClient.FromEndpoint("tcp://127.0.0.1:9", "t", "test"))
            {
                var both = new LSDStyle("toon") { Backend = "effects" };
                Assert.Throws<ArgumentException>(() => c.SetStyle(both, 0));
                Assert.AreEqual(LSDStatus.NotConnected, c.SetStyle(new LSDStyle("toon"), 0));
            }
        }

        [Test]
        public void ColourEncodingRules()
        {
            Assert.AreEqual(LSDColorEncoding.Srgb, LSDFrameConventions.ResolveColor(false, false, LSDPixelFormat.Rgba8));
            Assert.AreEqual(LSDColorEncoding.Srgb, LSDFrameConventions.ResolveColor(false, true, LSDPixelFormat.Rgba8));
            Assert.AreEqual(LSDColorEncoding.Srgb, LSDFrameConventions.ResolveColor(true, true, LSDPixelFormat.Rgba8));
            Assert.AreEqual(LSDColorEncoding.Linear, LSDFrameConventions.ResolveColor(true, false, LSDPixelFormat.Bgra8));
            Assert.AreEqual(LSDColorEncoding.Linear, LSDFrameConventions.ResolveColor(false, false, LSDPixelFormat.Rgba16F));
        }

        [Test]
        public void RowOrderRules()
        {
            foreach (bool top in new[] { false, true })
            {
                Assert.IsTrue(LSDFrameConventions.ResolveBottomUp(LSDFlipMode.Auto, LSDFrameSourceKind.UnityTexture, top));
                Assert.AreEqual(!top, LSDFrameConventions.ResolveBottomUp(LSDFlipMode.Auto, LSDFrameSourceKind.UnflippedTarget, top));
                Assert.IsTrue(LSDFrameConventions.ResolveBottomUp(LSDFlipMode.ForceBottomUp, LSDFrameSourceKind.UnflippedTarget, top));
                Assert.IsFalse(LSDFrameConventions.ResolveBottomUp(LSDFlipMode.ForceTopDown, LSDFrameSourceKind.UnityTexture, top));
            }
        }

        [Test]
        public void RingFrameBytes()
        {
            var r = LSDRingOptions.Create(10, 3, LSDPixelFormat.Rgba16F);
            Assert.AreEqual(240L, r.FrameBytes);
            r.Pitch = 100;
            Assert.AreEqual(100L * 2 + 80, r.FrameBytes);
        }
    }
}
