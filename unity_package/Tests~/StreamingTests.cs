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
        public void MotionAndDepthAsUnityStoresThemReachTheBackend()
        {
            // Unity's conventions: rows bottom-up, motion in UV units with +y up, reversed-Z device
            // depth (an infinite far plane here). The `planes` style shows what the backend got:
            // red/green = 128 + motion in pixels (+y down), blue = linear depth.
            const int W = 96, H = 54;
            var bind = new LSDBindOptions(W, H, LSDPixelFormat.Rgba8);
            bind.Input.BottomUp = true;
            bind.Output.BottomUp = true;
            bind.Motion = new LSDMotionOptions { Format = LSDMotionFormat.Rg32f, Units = LSDMotionUnits.Uv, YUp = true };
            bind.Depth = LSDDepthOptions.Device(1.0f, 0.0f, true);
            using (LSDClient c = Connect(bind, new LSDStyle("effects", "planes")))
            {
                var motion = new float[W * H * 2];
                var depth = new float[W * H];
                var expected = new byte[W * H * 4];
                for (int frame = 0; frame < 5; frame++)
                {
                    for (int y = 0; y < H; y++)
                        for (int x = 0; x < W; x++)
                        {
                            int k = y * W + x;
                            int dx = (x + frame) % 21 - 10, dy = (y + 2 * frame) % 17 - 8, z = 1 + (x + y + frame) % 200;
                            motion[2 * k] = (float)dx / W;
                            motion[2 * k + 1] = (float)dy / H;
                            depth[k] = 1.0f / z;  // reversed-Z, infinite far: near / z
                            expected[4 * k] = (byte)(128 + dx);
                            expected[4 * k + 1] = (byte)(128 - dy);
                            expected[4 * k + 2] = (byte)z;
                            expected[4 * k + 3] = 255;
                        }
                    var output = new byte[W * H * 4];
                    byte[] pixels = Pattern(W, H, 4, frame);
                    var pins = new[]
                    {
                        System.Runtime.InteropServices.GCHandle.Alloc(pixels, System.Runtime.InteropServices.GCHandleType.Pinned),
                        System.Runtime.InteropServices.GCHandle.Alloc(motion, System.Runtime.InteropServices.GCHandleType.Pinned),
                        System.Runtime.InteropServices.GCHandle.Alloc(depth, System.Runtime.InteropServices.GCHandleType.Pinned),
                    };
                    ulong id;
                    try
                    {
                        var planes = new LSDFramePlanes
                        {
                            Motion = pins[1].AddrOfPinnedObject(), MotionBytes = motion.Length * 4L,
                            Depth = pins[2].AddrOfPinnedObject(), DepthBytes = depth.Length * 4L,
                        };
                        Assert.AreEqual(LSDStatus.Ok, c.Submit(pins[0].AddrOfPinnedObject(), pixels.LongLength, 0, 1.0 + frame,
                                                               LSDFrameFlags.None, planes, out id));
                    }
                    finally
                    {
                        foreach (var p in pins) p.Free();
                    }
                    LSDFrameResult r;
                    Assert.AreEqual(LSDStatus.Ok, c.Take(output, 20000, out r));
                    Assert.AreEqual(id, r.FrameId);
                    AssertSameBytes(expected, output, "frame " + frame);
                }
                // a plane the bind did not declare is refused before it reaches the library
                var bare = new LSDBindOptions(W, H, LSDPixelFormat.Rgba8);
                Assert.AreEqual(LSDStatus.Ok, c.Bind(bare, 10000));
                var pin = System.Runtime.InteropServices.GCHandle.Alloc(depth, System.Runtime.InteropServices.GCHandleType.Pinned);
                try
                {
                    ulong id;
                    var ex = Assert.Throws<ArgumentException>(() => c.Submit(
                        pin.AddrOfPinnedObject(), W * H * 4, 0, 9.0, LSDFrameFlags.None,
                        new LSDFramePlanes { Depth = pin.AddrOfPinnedObject(), DepthBytes = depth.Length * 4L }, out id));
                    Assert.IsTrue(ex.Message.Contains("Bind declared none"), ex.Message);
                }
                finally
                {
                    pin.Free();
                }
            }
        }

        [Test]
        public void ACudaIpcBindOnAMachineWithoutTheDriverStreamsOnShmAndSaysWhy()
        {
            const int W = 32, H = 16;
            var bind = new LSDBindOptions(W, H, LSDPixelFormat.Rgba8) { Transport = LSDTransport.CudaIpc };
            using (LSDClient c = Connect(bind, new LSDStyle("effects", "identity")))
            {
                LSDTransportInfo t = c.GetTransport();
                Assert.AreEqual(LSDTransport.CudaIpc, t.Requested);
                // the test runtime runs on the CPU: shm, whether this machine has a driver (the runtime says why)
                // or not (the library says why)
                Assert.AreEqual(LSDTransport.Shm, t.Transport);
                Assert.IsFalse(t.ZeroCopy);
                Assert.AreEqual("", t.Gpu);
                Assert.IsTrue(t.Reason.StartsWith("cuda_ipc: "), t.Reason);
                if (!t.CudaDriver)
                    Assert.IsTrue(t.Reason.EndsWith("; frames go through host memory"), t.Reason);
                Assert.AreEqual("shm (" + t.Reason + ")", t.Description);
                byte[] frame = Pattern(W, H, 4, 3);
                var output = new byte[W * H * 4];
                RoundTrip(c, frame, output, 1.0);
                Assert.AreEqual(Convert.ToBase64String(frame), Convert.ToBase64String(output));
            }
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
        public void ModelNamesAreResolvedByTheRuntime()
        {
            // the C# layer sends the name as typed; the runtime resolves aliases and "backend:name"
            const int W = 48, H = 32;
            var cases = new[] { new[] { "Watercolor", "watercolour" }, new[] { "effects:sketch", "sketch" } };
            foreach (string[] pair in cases)
            {
                var bind = new LSDBindOptions(W, H, LSDPixelFormat.Rgba8);
                using (LSDClient c = Connect(bind, new LSDStyle(pair[0])))
                {
                    byte[] frame = Pattern(W, H, 4, 5);
                    byte[] expected = RuntimeProcess.Apply(pair[1], W, H, "rgba8", frame);
                    var output = new byte[frame.Length];
                    RoundTrip(c, frame, output, 0);
                    AssertSameBytes(expected, output, pair[0]);
                }
            }
            using (LSDClient c = Connect(new LSDBindOptions(W, H, LSDPixelFormat.Rgba8), new LSDStyle("identity")))
            {
                Assert.AreEqual("identity", c.GetAppliedStyle().Model);
                var e = Assert.Throws<LSDException>(() => c.SetStyle(new LSDStyle("no-such-model"), 10000));
                Assert.AreEqual(LSDStatus.Rejected, e.Status);
                Assert.IsTrue(e.NativeMessage.Contains("unknown model 'no-such-model'"), e.NativeMessage);
                LSDAppliedStyle applied = c.GetAppliedStyle();
                Assert.AreEqual(LSDStatus.Rejected, applied.Status);
                Assert.IsTrue(applied.Message.Contains("no-such-model"), applied.Message);
                Assert.AreEqual("identity", applied.Model, "what is still applied");
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
            var session = new LSDStreamSession(ArgumentTests.Options(_runtime.StateDirectory, W, H, "identity"));
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

            session.Model = "sepia";
            session.Strength = 1.0;
            session.Seed = 5;
            Assert.AreEqual("sepia", session.Style.Model);
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
