using System;
using System.Diagnostics;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    /// <summary>Against a real `lsd-runtime serve` process through the real native library.</summary>
    [TestFixture]
    public class StreamingTests
    {
        private RuntimeProcess _runtime;

        [OneTimeSetUp]
        public void StartRuntime() { _runtime = RuntimeProcess.Start(); }

        [OneTimeTearDown]
        public void StopRuntime() { if (_runtime != null) _runtime.Dispose(); }

        internal static byte[] Pattern(int width, int height, int bpp, int seed)
        {
            var rnd = new Random(seed);
            var b = new byte[width * height * bpp];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    for (int c = 0; c < bpp; c++)
                    {
                        // smooth gradients plus noise: edges and flat areas for the effects
                        int v = (x * 255 / width + y * 97 / height + c * 60 + seed * 7) & 0xff;
                        b[(y * width + x) * bpp + c] = (byte)((v + rnd.Next(0, 24)) & 0xff);
                    }
            return b;
        }

        private static void AssertSameBytes(byte[] expected, byte[] actual, string what)
        {
            Assert.AreEqual(expected.Length, actual.Length, what + " length");
            for (int i = 0; i < expected.Length; i++)
                if (expected[i] != actual[i])
                    Assert.Fail(string.Format("{0}: byte {1} is {2}, expected {3}", what, i, actual[i], expected[i]));
        }

        private LSDClient Connect(LSDBindOptions bind, LSDStyle style)
        {
            LSDClient c = LSDClient.FromStateDirectory(_runtime.StateDirectory, "unity-tests");
            Assert.IsTrue(c.Connect(10000), "connect");
            Assert.AreEqual(LSDStatus.Ok, c.Bind(bind, 10000));
            Assert.AreEqual(LSDStatus.Ok, c.SetStyle(style, 30000));
            Assert.AreEqual(LSDConnectionState.Ready, c.State);
            return c;
        }

        /// <summary>Submits one frame and waits (bounded) for its result.</summary>
        internal static LSDFrameResult RoundTrip(LSDClient c, byte[] frame, byte[] output, double time)
        {
            ulong id;
            LSDStatus s = c.Submit(frame, 0, time, LSDFrameFlags.None, out id);
            Assert.AreEqual(LSDStatus.Ok, s, "submit");
            var sw = Stopwatch.StartNew();
            while (sw.ElapsedMilliseconds < 20000)
            {
                LSDFrameResult r;
                s = c.Take(output, 1000, out r);
                if (s == LSDStatus.Ok)
                {
                    Assert.AreEqual(id, r.FrameId, "frame id");
                    return r;
                }
                Assert.AreEqual(LSDStatus.NoFrame, s, "take");
            }
            Assert.Fail("no result for frame " + id + " within 20 s");
            return default(LSDFrameResult);
        }

        [Test]
        public void Stream100IdentityFramesExactly()
        {
            const int W = 96, H = 54;
            var bind = new LSDBindOptions(W, H, LSDPixelFormat.Rgba8);
            bind.Input.BottomUp = true;       // Unity's CPU row order, both ways
            bind.Output.BottomUp = true;
            using (LSDClient c = Connect(bind, new LSDStyle("effects", "identity")))
            {
                var output = new byte[W * H * 4];
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < 100; i++)
                {
                    byte[] frame = Pattern(W, H, 4, i);
                    LSDFrameResult r = RoundTrip(c, frame, output, 1.0 + i);
                    Assert.AreEqual(W, r.Width);
                    Assert.AreEqual(H, r.Height);
                    Assert.AreEqual(LSDPixelFormat.Rgba8, r.Format);
                    Assert.AreEqual(1.0 + i, r.Time, "time echoed");
                    Assert.IsTrue(r.Timings.TotalMs >= 0 && r.Timings.RoundTripMs > 0, "timings");
                    AssertSameBytes(frame, output, "frame " + i);
                }
                LSDStats st = c.GetStats();
                Console.WriteLine("       100 frames in {0} ms; {1}", sw.ElapsedMilliseconds, st);
                Assert.AreEqual(100UL, st.FramesSubmitted);
                Assert.AreEqual(100UL, st.FramesDone);
                Assert.AreEqual(100UL, st.FramesTaken);
                Assert.AreEqual(0UL, st.FramesLost);
                Assert.AreEqual(0UL, st.Errors);
                Assert.AreEqual(LSDConnectionState.Ready, st.State);
                Assert.IsTrue(st.RoundTrip.Samples > 0 && st.RoundTrip.P50Ms > 0, st.RoundTrip.ToString());
            }
        }

        [Test]
        public void ToonMatchesLsdRuntimeApply()
        {
            // `apply` takes tightly packed, top-down frames: bind top-down rings
            const int W = 64, H = 40;
            foreach (string style in new[] { "toon", "sketch" })
            {
                var bind = new LSDBindOptions(W, H, LSDPixelFormat.Rgba8);
                using (LSDClient c = Connect(bind, new LSDStyle("effects", style)))
                {
                    var output = new byte[W * H * 4];
                    int n = style == "toon" ? 3 : 1;   // each `apply` starts a Python process (~2 s)
                    for (int i = 0; i < n; i++)
                    {
                        byte[] frame = Pattern(W, H, 4, 100 + i);
                        byte[] expected = RuntimeProcess.Apply(style, W, H, "rgba8", frame);
                        RoundTrip(c, frame, output, 0);
                        bool differs = false;
                        for (int k = 0; k < frame.Length && !differs; k++) differs = frame[k] != expected[k];
                        Assert.IsTrue(differs, style + " is not the identity");
                        AssertSameBytes(expected, output, style + " frame " + i);
                    }
                }
            }
        }

        [Test]
        public void PitchedBgraFramesFromUnmanagedMemory()
        {
            const int W = 40, H = 24, Pitch = 40 * 4 + 32;
            var bind = new LSDBindOptions(W, H, LSDPixelFormat.Bgra8);
            using (LSDClient c = Connect(bind, new LSDStyle("effects", "identity")))
            {
                byte[] tight = Pattern(W, H, 4, 7);
                IntPtr src = System.Runtime.InteropServices.Marshal.AllocHGlobal(Pitch * H);
                IntPtr dst = System.Runtime.InteropServices.Marshal.AllocHGlobal(Pitch * H);
                try
                {
                    for (int y = 0; y < H; y++)
                        System.Runtime.InteropServices.Marshal.Copy(tight, y * W * 4, src + y * Pitch, W * 4);
                    ulong id;
                    Assert.AreEqual(LSDStatus.Ok, c.Submit(src, (long)Pitch * H, Pitch, 0, LSDFrameFlags.None, out id));
                    var sw = Stopwatch.StartNew();
                    LSDFrameResult r;
                    LSDStatus s;
                    while ((s = c.Take(dst, (long)Pitch * H, Pitch, 1000, out r)) == LSDStatus.NoFrame && sw.ElapsedMilliseconds < 20000) { }
                    Assert.AreEqual(LSDStatus.Ok, s);
                    var row = new byte[W * 4];
                    for (int y = 0; y < H; y++)
                    {
                        System.Runtime.InteropServices.Marshal.Copy(dst + y * Pitch, row, 0, W * 4);
                        for (int k = 0; k < row.Length; k++)
                            if (row[k] != tight[y * W * 4 + k]) Assert.Fail("row " + y + " byte " + k);
                    }
                }
                finally
                {
                    System.Runtime.InteropServices.Marshal.FreeHGlobal(src);
                    System.Runtime.InteropServices.Marshal.FreeHGlobal(dst);
                }
            }
        }

        [Test]
        public void UnknownStyleIsRejectedWithTheRuntimesMessage()
        {
            var bind = new LSDBindOptions(32, 32, LSDPixelFormat.Rgba8);
            using (LSDClient c = Connect(bind, new LSDStyle("effects", "identity")))
            {
                var e = Assert.Throws<LSDException>(() => c.SetStyle(new LSDStyle("effects", "no-such-style"), 10000));
                Assert.AreEqual(LSDStatus.Rejected, e.Status);
                Assert.IsTrue(e.NativeMessage.Length > 0, "native message");
                Console.WriteLine("       " + e.Message);
                // the session goes on
                Assert.AreEqual(LSDConnectionState.Ready, c.State);
                byte[] frame = Pattern(32, 32, 4, 3);
                var output = new byte[frame.Length];
                RoundTrip(c, frame, output, 0);
                AssertSameBytes(frame, output, "after the rejected style");
            }
        }

        [Test]
        public void SessionEventsAndStyleChanges()
        {
            const int W = 48, H = 32;
            var session = new LSDStreamSession(new LSDSessionOptions
            {
                StateDirectory = _runtime.StateDirectory, Model = "identity", Width = W, Height = H,
            });
            int connected = 0, disconnected = 0;
            session.Connected += () => connected++;
            session.Disconnected += () => disconnected++;
            session.Start();
            Assert.IsTrue(session.WaitReady(15000), "ready");
            session.Poll();
            session.Poll();
            Assert.AreEqual(1, connected);
            byte[] frame = Pattern(W, H, 4, 11);
            var output = new byte[frame.Length];
            RoundTrip(session.Client, frame, output, 0);
            AssertSameBytes(frame, output, "identity");

            session.SetModel("sepia");
            session.SetStrength(1.0);
            session.SetSeed(5);
            Assert.AreEqual("sepia", session.Style.Style);
            // the style request is asynchronous (timeout 0): wait for the next results to change
            var sw = Stopwatch.StartNew();
            bool changed = false;
            while (!changed && sw.ElapsedMilliseconds < 15000)
            {
                RoundTrip(session.Client, frame, output, 0);
                for (int k = 0; k < frame.Length && !changed; k++) changed = frame[k] != output[k];
            }
            Assert.IsTrue(changed, "sepia applied");
            Assert.AreEqual(0UL, session.GetStats().Errors);
            session.Stop();
            Assert.AreEqual(1, disconnected);
            session.Dispose();
        }

        [Test]
        public void LatestFrameWinsWithoutBlocking()
        {
            const int W = 256, H = 256;
            var bind = new LSDBindOptions(W, H, LSDPixelFormat.Rgba8);
            using (LSDClient c = Connect(bind, new LSDStyle("effects", "watercolour")))
            {
                byte[] frame = Pattern(W, H, 4, 1);
                var sw = Stopwatch.StartNew();
                long worst = 0;
                int ok = 0, noSlot = 0;
                for (int i = 0; i < 200; i++)
                {
                    long t0 = sw.ElapsedTicks;
                    ulong id;
                    LSDStatus s = c.Submit(frame, out id);
                    worst = Math.Max(worst, sw.ElapsedTicks - t0);
                    if (s == LSDStatus.Ok) ok++;
                    else if (s == LSDStatus.NoFreeSlot) noSlot++;
                    else Assert.Fail("submit: " + s);
                }
                double worstMs = worst * 1000.0 / Stopwatch.Frequency;
                Console.WriteLine("       200 submits: {0} queued, {1} skipped (no free slot), slowest {2:F3} ms", ok, noSlot, worstMs);
                Assert.Less(worstMs, 50, "submit never waits on the runtime");
                Assert.IsTrue(noSlot > 0, "a burst faster than the runtime fills the ring");
            }
        }
    }
}
