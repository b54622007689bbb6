using System;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    /// <summary>Bad arguments and lifetimes: clear exceptions, never a crash. No runtime is needed:
    /// the client points at an empty state directory (creating it does not wait).</summary>
    [TestFixture]
    public class ArgumentTests
    {
        private string _dir;
        private LSDClient _client;

        [SetUp]
        public void SetUp()
        {
            _dir = RuntimeProcess.MakeTempDir("lsd-unity-args");
            _client = LSDClient.FromStateDirectory(_dir, "unity-tests");
            Assert.AreEqual(LSDStatus.NotConnected, _client.Bind(new LSDBindOptions(16, 8, LSDPixelFormat.Rgba8), 0));
        }

        [TearDown]
        public void TearDown()
        {
            _client.Dispose();
        }

        [Test]
        public void NullBuffers()
        {
            ulong id;
            LSDFrameResult r;
            Assert.Throws<ArgumentNullException>(() => _client.Submit((byte[])null, out id));
            Assert.Throws<ArgumentNullException>(() => _client.Submit(IntPtr.Zero, 1024, 0, 0, LSDFrameFlags.None, out id));
            Assert.Throws<ArgumentNullException>(() => _client.Take((byte[])null, 0, out r));
            Assert.Throws<ArgumentNullException>(() => _client.Take(IntPtr.Zero, 1024, 0, 0, out r));
            Assert.Throws<ArgumentNullException>(() => _client.Bind(null, 0));
            Assert.Throws<ArgumentNullException>(() => _client.SetStyle(null, 0));
            Assert.Throws<ArgumentNullException>(() => LSDClient.Create(null));
            Assert.Throws<ArgumentNullException>(() => LSDClient.FromEndpoint(null, "t", "x"));
        }

        [Test]
        public void WrongSizes()
        {
            ulong id;
            LSDFrameResult r;
            var e = Assert.Throws<ArgumentException>(() => _client.Submit(new byte[16 * 8 * 4 - 1], out id));
            Assert.IsTrue(e.Message.Contains("needs 512"), e.Message);
            Assert.Throws<ArgumentException>(() => _client.Take(new byte[100], 0, out r));
            // a pitch larger than the buffer allows
            Assert.Throws<ArgumentException>(() => _client.Submit(new byte[512], 128, 0, LSDFrameFlags.None, out id));
            // a pitch smaller than a row
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Submit(new byte[5000], 32, 0, LSDFrameFlags.None, out id));
            // a big enough buffer is accepted (runtime absent: NotConnected, not an exception)
            Assert.AreEqual(LSDStatus.NotConnected, _client.Submit(new byte[512], out id));
        }

        [Test]
        public void NegativeAndOutOfRangeValues()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Bind(new LSDBindOptions(-16, 8, LSDPixelFormat.Rgba8), 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Bind(new LSDBindOptions(16, -8, LSDPixelFormat.Rgba8), 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Bind(new LSDBindOptions(0, 8, LSDPixelFormat.Rgba8), 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Bind(new LSDBindOptions(16, 8, (LSDPixelFormat)9), 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Bind(new LSDBindOptions(16, 8, LSDPixelFormat.Rgba8), -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Connect(-5));
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.SetStyle(new LSDStyle { Strength = 1.5 }, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.SetStyle(new LSDStyle { Strength = double.NaN }, 0));
            ulong id;
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Submit(new byte[512], -4, 0, LSDFrameFlags.None, out id));
            Assert.Throws<ArgumentOutOfRangeException>(() => _client.Submit(new byte[512], 0, -1.0, LSDFrameFlags.None, out id));
            Assert.Throws<ArgumentOutOfRangeException>(() => new LSDStreamSession(Options("", -1, 8)));
        }

        [Test]
        public void NativeRangeChecksBecomeLSDExceptions()
        {
            // positive but below the protocol's minimum size: the native library rejects it, with its message
            var e = Assert.Throws<LSDException>(() => _client.Bind(new LSDBindOptions(4, 4, LSDPixelFormat.Rgba8), 0));
            Assert.AreEqual(LSDStatus.InvalidArgument, e.Status);
            string range = LSDProtocol.MinDimension + ".." + LSDProtocol.MaxDimension;
            Assert.IsTrue(e.NativeMessage.Contains(range), e.NativeMessage);
            // not implemented in this build of the native library
            var b = new LSDBindOptions(16, 8, LSDPixelFormat.Rgba8) { Transport = LSDTransport.CudaVmm };
            e = Assert.Throws<LSDException>(() => _client.Bind(b, 0));
            Assert.AreEqual(LSDStatus.Unsupported, e.Status);
            Assert.IsTrue(e.Message.StartsWith("LSDClient.Bind failed: LSD_E_UNSUPPORTED: cuda_vmm is not in this build"),
                          e.Message);
            // cuda_ipc names a CUDA device
            b = new LSDBindOptions(16, 8, LSDPixelFormat.Rgba8) { Transport = LSDTransport.CudaIpc, DeviceOrdinal = -1 };
            e = Assert.Throws<LSDException>(() => _client.Bind(b, 0));
            Assert.AreEqual(LSDStatus.InvalidArgument, e.Status);
            Assert.AreEqual("device_ordinal is -1; a CUDA device ordinal is >= 0", e.NativeMessage);
            // the last successful bind is still what Submit checks against
            Assert.AreEqual(16, _client.InputRing.Width);
            // a string with NUL cannot cross the C ABI
            Assert.Throws<ArgumentException>(() => _client.SetStyle(new LSDStyle { Prompt = "a\0b" }, 0));
            // endpoint without token
            Assert.Throws<ArgumentException>(() => LSDClient.Create(new LSDClientOptions { Endpoint = "tcp://127.0.0.1:1" }));
        }

        [Test]
        public void SubmitBeforeBind()
        {
            using (LSDClient c = LSDClient.FromStateDirectory(_dir, "unity-tests"))
            {
                ulong id;
                Assert.Throws<InvalidOperationException>(() => c.Submit(new byte[64], out id));
            }
        }

        [Test]
        public void DisposedObject()
        {
            _client.Dispose();
            Assert.IsTrue(_client.IsDisposed);
            Assert.AreEqual(LSDConnectionState.Closed, _client.State);
            ulong id;
            LSDFrameResult r;
            Assert.Throws<ObjectDisposedException>(() => _client.Submit(new byte[512], out id));
            Assert.Throws<ObjectDisposedException>(() => _client.Take(new byte[512], 0, out r));
            Assert.Throws<ObjectDisposedException>(() => _client.Connect(0));
            Assert.Throws<ObjectDisposedException>(() => _client.Bind(new LSDBindOptions(16, 8, LSDPixelFormat.Rgba8), 0));
            Assert.Throws<ObjectDisposedException>(() => _client.SetStyle(new LSDStyle(), 0));
            Assert.Throws<ObjectDisposedException>(() => _client.GetStats());
        }

        [Test]
        public void DisposeTwiceIsHarmless()
        {
            _client.Dispose();
            _client.Dispose();
            var session = new LSDStreamSession(Options(_dir, 16, 8, "identity"));
            session.Start();
            session.Dispose();
            session.Dispose();
            Assert.Throws<ObjectDisposedException>(() => session.Start());
            Assert.Throws<ObjectDisposedException>(() => session.Prompt = "x");
        }

        [Test]
        public void SessionNotStarted()
        {
            using (var session = new LSDStreamSession(Options(_dir, 16, 8)))
            {
                Assert.AreEqual(LSDConnectionState.Idle, session.State);
                Assert.Throws<InvalidOperationException>(() => session.Submit(new byte[512]));
                Assert.AreEqual(LSDConnectionState.Idle, session.GetStats().State);
                session.Prompt = "neon city";      // remembered for Start
                Assert.AreEqual("neon city", session.Style.Prompt);
                Assert.Throws<ArgumentOutOfRangeException>(() => session.Strength = 2);
                Assert.AreEqual(null, session.Style.Strength, "not sent: the model's own strength");
            }
        }

        internal static LSDSessionOptions Options(string dir, int width, int height, string model = null)
        {
            var stream = new LSDStreamOptions { stateDirectory = dir, width = width, height = height };
            if (model != null) stream.model = model;
            return new LSDSessionOptions { Stream = stream };
        }

        [Test]
        public void StreamOptionsHoldTheDefaultsAndNameBadFields()
        {
            var o = new LSDStreamOptions();
            Assert.AreEqual(LSDProtocol.DefaultModel, o.model);
            Assert.AreEqual(LSDStreamOptions.DefaultSize, o.width);
            LSDStyle style = o.ToStyle();
            Assert.AreEqual("effects", style.Model);
            Assert.AreEqual(null, style.Strength, "strength is the model's own unless overridden");
            Assert.AreEqual(null, style.Seed, "a negative seed is the model's choice");
            o.overrideStrength = true;
            o.seed = 3;
            Assert.IsTrue(Math.Abs(LSDStreamOptions.DefaultStrength - o.ToStyle().Strength.Value) < 1e-6, "strength");
            Assert.AreEqual(3L, o.ToStyle().Seed.Value);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LSDStreamOptions { height = 9000 }.Validate());
            Assert.AreEqual("height", e.ParamName);
            e = Assert.Throws<ArgumentOutOfRangeException>(() => new LSDStreamOptions { modelWidth = 64 }.Validate());
            Assert.AreEqual("modelWidth", e.ParamName);
            Assert.Throws<ArgumentOutOfRangeException>(() => new LSDStreamOptions { strength = 1.5f }.Validate());
        }
    }
}
