using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    /// <summary>LSDFrameAssembler (colour, motion and depth readbacks of one frame put back together), the
    /// sendMotionAndDepth rules, and the whole path through a real session to the runtime's `planes` view.</summary>
    [TestFixture]
    public class FrameAssemblerTests
    {
        private const int W = 4, H = 3;

        private sealed class Sent
        {
            public byte[] Color, Motion, Depth;
            public long ColorBytes, MotionBytes, DepthBytes;
            public int MotionPitch, DepthPitch;
            public double Time;
            public LSDFrameFlags Flags;
        }

        /// <summary>A submit that copies out what it was handed (the memory is valid during the call only).</summary>
        private sealed class Sink
        {
            public readonly List<Sent> Frames = new List<Sent>();
            public LSDStatus Answer = LSDStatus.Ok;

            public LSDStatus Submit(IntPtr color, long colorBytes, double time, LSDFrameFlags flags, LSDFramePlanes planes)
            {
                Frames.Add(new Sent
                {
                    Color = Copy(color, colorBytes),
                    ColorBytes = colorBytes,
                    Motion = planes.Motion == IntPtr.Zero ? null : Copy(planes.Motion, planes.MotionBytes),
                    MotionBytes = planes.MotionBytes,
                    MotionPitch = planes.MotionPitch,
                    Depth = planes.Depth == IntPtr.Zero ? null : Copy(planes.Depth, planes.DepthBytes),
                    DepthBytes = planes.DepthBytes,
                    DepthPitch = planes.DepthPitch,
                    Time = time,
                    Flags = flags,
                });
                return Answer;
            }

            private static byte[] Copy(IntPtr p, long n)
            {
                var b = new byte[n];
                Marshal.Copy(p, b, 0, (int)n);
                return b;
            }
        }

        private static LSDFrameAssembler Make(Sink sink, LSDReadbackGate gate, bool planes = true, bool flip = false)
        {
            return new LSDFrameAssembler(W, H, LSDPixelFormat.Rgba8,
                                         planes ? new LSDMotionOptions { Format = LSDMotionFormat.Rg16f } : null,
                                         planes ? new LSDDepthOptions { Format = LSDDepthFormat.R32f } : null,
                                         flip, gate, sink.Submit);
        }

        /// <summary>Bytes that say which frame and part they belong to.</summary>
        private static byte[] Part(long frame, LSDFrameParts part, int bytes = W * H * 4)
        {
            var b = new byte[bytes];
            for (int i = 0; i < b.Length; i++) b[i] = (byte)(frame * 31 + (int)part * 67 + i);
            return b;
        }

        /// <summary>Hands <paramref name="bytes"/> over as a readback callback does, then scribbles over them:
        /// whatever the assembler did not copy during the call is gone.</summary>
        private static void Arrive(LSDFrameAssembler a, long frame, LSDFrameParts part, byte[] bytes = null)
        {
            byte[] data = bytes ?? Part(frame, part);
            GCHandle pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            try
            {
                a.PartArrived(frame, part, pin.AddrOfPinnedObject(), data.Length);
            }
            finally
            {
                pin.Free();
            }
            for (int i = 0; i < data.Length; i++) data[i] = 0xEE;
        }

        private static void AssertBytes(byte[] expected, byte[] actual, string what)
        {
            Assert.IsNotNull(actual, what + ": missing");
            Assert.AreEqual(expected.Length, actual.Length, what + " length");
            for (int i = 0; i < expected.Length; i++)
                if (expected[i] != actual[i])
                    Assert.Fail(string.Format("{0}: byte {1} is {2}, expected {3}", what, i, actual[i], expected[i]));
        }

        private static void AssertFrame(Sent s, long frame, bool motion = true, bool depth = true)
        {
            AssertBytes(Part(frame, LSDFrameParts.Color), s.Color, "frame " + frame + " colour");
            Assert.AreEqual((long)W * H * 4, s.ColorBytes);
            if (motion)
            {
                AssertBytes(Part(frame, LSDFrameParts.Motion), s.Motion, "frame " + frame + " motion");
                Assert.AreEqual((long)W * H * 4, s.MotionBytes);
            }
            else Assert.AreEqual(null, s.Motion, "frame " + frame + " has no motion plane");
            if (depth)
            {
                AssertBytes(Part(frame, LSDFrameParts.Depth), s.Depth, "frame " + frame + " depth");
                Assert.AreEqual((long)W * H * 4, s.DepthBytes);
            }
            else Assert.AreEqual(null, s.Depth, "frame " + frame + " has no depth plane");
            Assert.AreEqual(0, s.MotionPitch, "tight");
            Assert.AreEqual(0, s.DepthPitch, "tight");
        }

        private const LSDFrameParts All = LSDFrameParts.Color | LSDFrameParts.Motion | LSDFrameParts.Depth;

        private static long Begin(LSDFrameAssembler a, LSDFrameParts parts = All, double time = 0)
        {
            long frame;
            Assert.IsTrue(a.TryBeginFrame(parts, time, out frame), "a gate place for the frame");
            return frame;
        }

        [Test]
        public void PartsInAnyOrderGiveExactlyTheBytesOfTheirFrame()
        {
            LSDFrameParts[][] orders =
            {
                new[] { LSDFrameParts.Color, LSDFrameParts.Motion, LSDFrameParts.Depth },
                new[] { LSDFrameParts.Color, LSDFrameParts.Depth, LSDFrameParts.Motion },
                new[] { LSDFrameParts.Motion, LSDFrameParts.Color, LSDFrameParts.Depth },
                new[] { LSDFrameParts.Motion, LSDFrameParts.Depth, LSDFrameParts.Color },
                new[] { LSDFrameParts.Depth, LSDFrameParts.Color, LSDFrameParts.Motion },
                new[] { LSDFrameParts.Depth, LSDFrameParts.Motion, LSDFrameParts.Color },
            };
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            using (LSDFrameAssembler a = Make(sink, gate))
            {
                for (int i = 0; i < orders.Length; i++)
                {
                    long frame = Begin(a, All, 10.5 + i);
                    Assert.AreEqual((long)i, frame, "frames are numbered as they begin");
                    Arrive(a, frame, orders[i][0]);
                    Arrive(a, frame, orders[i][1]);
                    Assert.AreEqual(i, sink.Frames.Count, "nothing is submitted before every part is in");
                    Arrive(a, frame, orders[i][2]);
                    Assert.AreEqual(i + 1, sink.Frames.Count);
                    Sent s = sink.Frames[i];
                    AssertFrame(s, frame);
                    Assert.AreEqual(10.5 + i, s.Time);
                    Assert.AreEqual(LSDFrameFlags.None, s.Flags);
                    Assert.AreEqual(0, gate.InFlight, "the frame's gate place is back");
                    Assert.AreEqual(0, a.FramesInFlight);
                }
                Assert.AreEqual((long)orders.Length, a.FramesSubmitted);
            }
        }

        [Test]
        public void ColourOnlyFramesNeedNoPlanes()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            using (LSDFrameAssembler a = Make(sink, gate, planes: false))
            {
                Assert.AreEqual(LSDFrameParts.None, a.Planes);
                Assert.AreEqual(0, a.PinnedBuffers, "a one-part frame is submitted straight from its readback: nothing kept");
                long f = Begin(a, LSDFrameParts.Color, 1.0);
                Arrive(a, f, LSDFrameParts.Color);
                AssertFrame(sink.Frames[0], f, motion: false, depth: false);
                Assert.Throws<ArgumentException>(() => { long x; a.TryBeginFrame(All, 0, out x); }, "planes it has no buffers for");
                Assert.AreEqual(0, gate.InFlight, "a refused begin takes no place");
            }
        }

        [Test]
        public void OneGatePlacePerFrameNotPerPart()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            using (LSDFrameAssembler a = Make(sink, gate))
            {
                Assert.AreEqual(6, a.PinnedBuffers, "colour, motion and depth for each of the two places");
                long f0 = Begin(a);
                Assert.AreEqual(1, gate.InFlight, "three readbacks, one place");
                long f1 = Begin(a);
                Assert.AreEqual(2, gate.InFlight);
                long f2;
                Assert.IsFalse(a.TryBeginFrame(All, 0, out f2), "the GPU is behind: skip");
                Assert.AreEqual(-1L, f2);
                Arrive(a, f0, LSDFrameParts.Color);
                Arrive(a, f0, LSDFrameParts.Motion);
                Assert.AreEqual(2, gate.InFlight, "a place is held until every part of its frame reported");
                Arrive(a, f0, LSDFrameParts.Depth);
                Assert.AreEqual(1, gate.InFlight);
                Assert.IsTrue(a.TryBeginFrame(All, 0, out f2));
                Assert.AreEqual(2L, f2);
                foreach (LSDFrameParts p in new[] { LSDFrameParts.Depth, LSDFrameParts.Color, LSDFrameParts.Motion })
                {
                    Arrive(a, f2, p);
                    Arrive(a, f1, p);
                }
                Assert.AreEqual(0, gate.InFlight);
                Assert.AreEqual(2, sink.Frames.Count, "frame 1 completed after frame 2 was submitted: latest wins");
                AssertFrame(sink.Frames[0], f0);
                AssertFrame(sink.Frames[1], f2);
                Assert.AreEqual(1L, a.FramesSuperseded);
            }
        }

        [Test]
        public void ANewerFrameThatCompletesFirstAbandonsTheOlderAndPartsNeverMix()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            using (LSDFrameAssembler a = Make(sink, gate))
            {
                long f0 = Begin(a, All, 1.0), f1 = Begin(a, All, 2.0);
                // interleaved: parts of both frames, the newer one complete first
                Arrive(a, f1, LSDFrameParts.Motion);
                Arrive(a, f0, LSDFrameParts.Color);
                Arrive(a, f1, LSDFrameParts.Depth);
                Arrive(a, f0, LSDFrameParts.Motion);
                Arrive(a, f1, LSDFrameParts.Color);
                Assert.AreEqual(1, sink.Frames.Count);
                AssertFrame(sink.Frames[0], f1);
                Assert.AreEqual(2.0, sink.Frames[0].Time);
                Assert.AreEqual(1L, a.FramesSuperseded, "frame 0 can no longer be sent");
                Assert.AreEqual(1, gate.InFlight, "frame 0's depth readback is still on the GPU");
                Arrive(a, f0, LSDFrameParts.Depth);
                Assert.AreEqual(1, sink.Frames.Count, "an older frame is never sent after a newer one");
                Assert.AreEqual(0, gate.InFlight);
                Assert.AreEqual(0, a.FramesInFlight);
                // a part of a frame long finished with (or never begun) is ignored
                Arrive(a, f0, LSDFrameParts.Depth);
                Arrive(a, 99, LSDFrameParts.Color);
                a.PartFailed(f1, LSDFrameParts.Motion);
                Assert.AreEqual(1, sink.Frames.Count);
                Assert.AreEqual(0, gate.InFlight);

                // in order, both are sent, oldest first
                long f2 = Begin(a, All, 3.0), f3 = Begin(a, All, 4.0);
                foreach (LSDFrameParts p in new[] { LSDFrameParts.Color, LSDFrameParts.Motion, LSDFrameParts.Depth }) Arrive(a, f2, p);
                foreach (LSDFrameParts p in new[] { LSDFrameParts.Depth, LSDFrameParts.Motion, LSDFrameParts.Color }) Arrive(a, f3, p);
                Assert.AreEqual(3, sink.Frames.Count);
                AssertFrame(sink.Frames[1], f2);
                AssertFrame(sink.Frames[2], f3);
            }
        }

        [Test]
        public void AFailedPlaneIsLeftOutAndAFailedColourDropsTheFrame()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            using (LSDFrameAssembler a = Make(sink, gate))
            {
                long f0 = Begin(a);
                a.PartFailed(f0, LSDFrameParts.Motion);
                Arrive(a, f0, LSDFrameParts.Depth);
                Arrive(a, f0, LSDFrameParts.Color);
                Assert.AreEqual(1, sink.Frames.Count, "sent without its motion");
                AssertFrame(sink.Frames[0], f0, motion: false, depth: true);
                Assert.AreEqual(1L, a.PlanesDropped);

                long f1 = Begin(a);
                Arrive(a, f1, LSDFrameParts.Motion);
                a.PartFailed(f1, LSDFrameParts.Color);
                Assert.AreEqual(1, gate.InFlight, "the depth readback is still out");
                Arrive(a, f1, LSDFrameParts.Depth);
                Assert.AreEqual(1, sink.Frames.Count, "planes without their picture are not sent");
                Assert.AreEqual(1L, a.FramesDropped);
                Assert.AreEqual(0, gate.InFlight);

                // a part shorter than the session's layout counts as failed
                long f2 = Begin(a);
                Arrive(a, f2, LSDFrameParts.Color);
                Arrive(a, f2, LSDFrameParts.Motion);
                Arrive(a, f2, LSDFrameParts.Depth, new byte[W * H * 4 - 1]);
                Assert.AreEqual(2, sink.Frames.Count);
                AssertFrame(sink.Frames[1], f2, motion: true, depth: false);
                a.PartArrived(Begin(a, LSDFrameParts.Color), LSDFrameParts.Color, IntPtr.Zero, 0);
                Assert.AreEqual(2L, a.FramesDropped, "no colour data");
                Assert.AreEqual(0, gate.InFlight);
            }
        }

        [Test]
        public void ACameraCutGoesOnTheNextFrameSubmittedThatWasCapturedAfterIt()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            using (LSDFrameAssembler a = Make(sink, gate, planes: false))
            {
                long f0 = Begin(a, LSDFrameParts.Color);
                a.MarkCameraCut();
                Assert.IsTrue(a.CameraCutPending);
                long f1 = Begin(a, LSDFrameParts.Color);
                Arrive(a, f0, LSDFrameParts.Color);
                Assert.AreEqual(LSDFrameFlags.None, sink.Frames[0].Flags, "captured before the cut");
                Arrive(a, f1, LSDFrameParts.Color);
                Assert.AreEqual(LSDFrameFlags.Reset, sink.Frames[1].Flags);
                Assert.IsFalse(a.CameraCutPending);
                Arrive(a, Begin(a, LSDFrameParts.Color), LSDFrameParts.Color);
                Assert.AreEqual(LSDFrameFlags.None, sink.Frames[2].Flags, "once");

                // the first frame after the cut is dropped (colour failed): the next one carries it
                a.MarkCameraCut();
                a.PartFailed(Begin(a, LSDFrameParts.Color), LSDFrameParts.Color);
                Arrive(a, Begin(a, LSDFrameParts.Color), LSDFrameParts.Color);
                Assert.AreEqual(4, sink.Frames.Count);
                Assert.AreEqual(LSDFrameFlags.Reset, sink.Frames[3].Flags);

                // the session refuses the frame (no free slot): the next one carries it
                a.MarkCameraCut();
                sink.Answer = LSDStatus.NoFreeSlot;
                Arrive(a, Begin(a, LSDFrameParts.Color), LSDFrameParts.Color);
                Assert.AreEqual(LSDFrameFlags.Reset, sink.Frames[4].Flags);
                Assert.AreEqual(1L, a.FramesRefused);
                sink.Answer = LSDStatus.Ok;
                Arrive(a, Begin(a, LSDFrameParts.Color), LSDFrameParts.Color);
                Assert.AreEqual(LSDFrameFlags.Reset, sink.Frames[5].Flags);
                Arrive(a, Begin(a, LSDFrameParts.Color), LSDFrameParts.Color);
                Assert.AreEqual(LSDFrameFlags.None, sink.Frames[6].Flags);

                // two cuts before anything is sent: a frame between them carries the first, and the frame
                // after the second carries that one too
                a.MarkCameraCut();
                long between = Begin(a, LSDFrameParts.Color);
                a.MarkCameraCut();
                long after = Begin(a, LSDFrameParts.Color);
                Arrive(a, between, LSDFrameParts.Color);
                Assert.AreEqual(LSDFrameFlags.Reset, sink.Frames[7].Flags);
                Assert.IsTrue(a.CameraCutPending, "the second cut is still to be told");
                Arrive(a, after, LSDFrameParts.Color);
                Assert.AreEqual(LSDFrameFlags.Reset, sink.Frames[8].Flags);
                Assert.IsFalse(a.CameraCutPending);
                Assert.AreEqual(0, gate.InFlight);
            }
        }

        [Test]
        public void PlaneRowsAreTurnedOverWhenTheColourRunsTheOtherWay()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            using (LSDFrameAssembler a = Make(sink, gate, flip: true))
            {
                // the plane arriving last takes the copying path as well (it must be turned over)
                foreach (LSDFrameParts last in new[] { LSDFrameParts.Color, LSDFrameParts.Depth })
                {
                    long f = Begin(a);
                    foreach (LSDFrameParts p in new[] { LSDFrameParts.Motion, LSDFrameParts.Color, LSDFrameParts.Depth })
                        if (p != last) Arrive(a, f, p);
                    Arrive(a, f, last);
                    Sent s = sink.Frames[sink.Frames.Count - 1];
                    AssertBytes(Part(f, LSDFrameParts.Color), s.Color, "colour as it came");
                    foreach (LSDFrameParts plane in new[] { LSDFrameParts.Motion, LSDFrameParts.Depth })
                    {
                        byte[] came = Part(f, plane), sent = plane == LSDFrameParts.Motion ? s.Motion : s.Depth;
                        int row = W * 4;
                        for (int y = 0; y < H; y++)
                            for (int x = 0; x < row; x++)
                                Assert.AreEqual(came[y * row + x], sent[(H - 1 - y) * row + x], plane + " row " + y);
                    }
                }
            }
        }

        [Test]
        public void DisposeFreesEveryPinAndGivesTheGatePlacesBack()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            LSDFrameAssembler a = Make(sink, gate);
            Assert.AreEqual(6, a.PinnedBuffers);
            long f0 = Begin(a);
            Arrive(a, f0, LSDFrameParts.Color);
            Begin(a);
            Assert.AreEqual(2, gate.InFlight);
            a.Dispose();
            Assert.IsTrue(a.IsDisposed);
            Assert.AreEqual(0, a.PinnedBuffers, "no pinned buffer outlives the assembler");
            Assert.AreEqual(0, gate.InFlight, "a stopped capture holds no place");
            // readbacks of the stopped capture come back later: ignored, nothing sent, nothing thrown
            Arrive(a, f0, LSDFrameParts.Motion);
            a.PartFailed(f0, LSDFrameParts.Depth);
            Assert.AreEqual(0, sink.Frames.Count);
            Assert.Throws<ObjectDisposedException>(() => { long x; a.TryBeginFrame(All, 0, out x); });
            Assert.Throws<ObjectDisposedException>(() => a.MarkCameraCut());
            a.Dispose();

            // many assemblers made and disposed leave no pinned handle behind (each pin is counted)
            for (int i = 0; i < 200; i++)
            {
                LSDFrameAssembler b = Make(sink, gate);
                Arrive(b, Begin(b), LSDFrameParts.Color);
                b.Dispose();
                Assert.AreEqual(0, b.PinnedBuffers);
            }
            Assert.AreEqual(0, gate.InFlight);
        }

        [Test]
        public void AGateRestartedUnderItDoesNotJamIt()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            using (LSDFrameAssembler a = Make(sink, gate, planes: false))
            {
                long old0 = Begin(a, LSDFrameParts.Color), old1 = Begin(a, LSDFrameParts.Color);
                gate.Restart();   // a new capture on the same gate
                long f = Begin(a, LSDFrameParts.Color);
                Arrive(a, old0, LSDFrameParts.Color);
                Arrive(a, old1, LSDFrameParts.Color);
                Assert.AreEqual(0, sink.Frames.Count, "frames of the old capture are not sent");
                Arrive(a, f, LSDFrameParts.Color);
                Assert.AreEqual(1, sink.Frames.Count);
                AssertFrame(sink.Frames[0], f, motion: false, depth: false);
                Assert.AreEqual(0, gate.InFlight);
            }
        }

        [Test]
        public void MisuseIsRefusedWithAReason()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            Assert.Throws<ArgumentNullException>(() => new LSDFrameAssembler(W, H, LSDPixelFormat.Rgba8, null, null, false, null, sink.Submit));
            Assert.Throws<ArgumentNullException>(() => new LSDFrameAssembler(W, H, LSDPixelFormat.Rgba8, null, null, false, gate, null));
            Assert.Throws<ArgumentOutOfRangeException>(() => new LSDFrameAssembler(0, H, LSDPixelFormat.Rgba8, null, null, false, gate, sink.Submit));
            using (LSDFrameAssembler a = Make(sink, gate))
            {
                long x;
                Assert.Throws<ArgumentException>(() => a.TryBeginFrame(LSDFrameParts.Motion, 0, out x), "no colour");
                long f = Begin(a, LSDFrameParts.Color | LSDFrameParts.Depth);
                Assert.Throws<InvalidOperationException>(() => Arrive(a, f, LSDFrameParts.Motion), "not asked for");
                Assert.Throws<ArgumentException>(() => a.PartFailed(f, LSDFrameParts.Color | LSDFrameParts.Depth), "one part at a time");
                Arrive(a, f, LSDFrameParts.Depth);
                var e = Assert.Throws<InvalidOperationException>(() => Arrive(a, f, LSDFrameParts.Depth));
                Assert.IsTrue(e.Message.Contains("reported twice"), e.Message);
                Arrive(a, f, LSDFrameParts.Color);
                Assert.AreEqual(1, sink.Frames.Count);
                AssertFrame(sink.Frames[0], f, motion: false, depth: true);
                Assert.AreEqual(0L, a.PlanesDropped, "a plane not asked for is not a dropped one");
            }
        }

        [Test]
        public void ThousandsOfFramesInRandomOrderStayExactAndLeakNothing()
        {
            var sink = new Sink();
            var gate = new LSDReadbackGate(2);
            var rnd = new Random(7);
            var pending = new List<KeyValuePair<long, LSDFrameParts>>();
            long next = 0;   // the number the next frame begun gets (its time, so a sent frame names itself)
            using (LSDFrameAssembler a = Make(sink, gate))
            {
                for (int step = 0; step < 20000; step++)
                {
                    if (rnd.Next(3) == 0)
                    {
                        LSDFrameParts parts = LSDFrameParts.Color | (rnd.Next(2) == 0 ? LSDFrameParts.Motion : 0) |
                                              (rnd.Next(2) == 0 ? LSDFrameParts.Depth : 0);
                        long f;
                        if (a.TryBeginFrame(parts, next, out f))
                        {
                            Assert.AreEqual(next++, f);
                            foreach (LSDFrameParts p in new[] { LSDFrameParts.Color, LSDFrameParts.Motion, LSDFrameParts.Depth })
                                if ((parts & p) != 0) pending.Add(new KeyValuePair<long, LSDFrameParts>(f, p));
                        }
                        if (rnd.Next(50) == 0) a.MarkCameraCut();
                    }
                    else if (pending.Count > 0)
                    {
                        int k = rnd.Next(pending.Count);
                        KeyValuePair<long, LSDFrameParts> part = pending[k];
                        pending.RemoveAt(k);
                        if (rnd.Next(20) == 0) a.PartFailed(part.Key, part.Value);
                        else Arrive(a, part.Key, part.Value);
                    }
                    Assert.IsTrue(gate.InFlight <= 2 && gate.InFlight == a.FramesInFlight, "in flight: " + gate.InFlight);
                }
                foreach (KeyValuePair<long, LSDFrameParts> part in pending) Arrive(a, part.Key, part.Value);
                Assert.AreEqual(0, gate.InFlight);
                Assert.AreEqual(0, a.FramesInFlight);
                // every frame sent is exactly one frame's bytes, each newer than the one before
                long last = -1;
                foreach (Sent s in sink.Frames)
                {
                    long frame = (long)s.Time;
                    Assert.IsTrue(frame > last, "frame " + frame + " sent after frame " + last);
                    last = frame;
                    AssertBytes(Part(frame, LSDFrameParts.Color), s.Color, "colour of frame " + frame);
                    if (s.Motion != null) AssertBytes(Part(frame, LSDFrameParts.Motion), s.Motion, "motion of frame " + frame);
                    if (s.Depth != null) AssertBytes(Part(frame, LSDFrameParts.Depth), s.Depth, "depth of frame " + frame);
                }
                Assert.GreaterOrEqual(sink.Frames.Count, 1000);
                Assert.GreaterOrEqual(a.FramesSuperseded, 1);
                Assert.GreaterOrEqual(a.FramesDropped, 1);
                Assert.GreaterOrEqual(a.PlanesDropped, 1);
                Console.WriteLine("       sent {0}, superseded {1}, dropped {2}, planes dropped {3}", a.FramesSubmitted,
                                  a.FramesSuperseded, a.FramesDropped, a.PlanesDropped);
            }
        }

        // ---- the rules LSDStreamEngine applies -------------------------------------------------------

        [Test]
        public void PlanesAreSentOnlyWhereTheyCanBeHadAndOtherwiseItIsSaid()
        {
            LSDPlanesDecision off = LSDPlaneRules.Decide(false, "UniversalRenderPipelineAsset", null, false, true, true);
            Assert.AreEqual(LSDFrameParts.None, off.Parts);
            Assert.AreEqual(null, off.Warning, "not asked: nothing to say");

            LSDPlanesDecision builtin = LSDPlaneRules.Decide(true, null, null, false, true, true);
            Assert.AreEqual(LSDFrameParts.Motion | LSDFrameParts.Depth, builtin.Parts);
            Assert.AreEqual(null, builtin.Warning);
            Assert.AreEqual("motion vectors and depth from the camera (built-in render pipeline)", builtin.Status);

            LSDPlanesDecision urp = LSDPlaneRules.Decide(true, "UniversalRenderPipelineAsset", null, false, true, true);
            Assert.AreEqual(LSDFrameParts.None, urp.Parts, "colour only on a scriptable pipeline");
            Assert.AreEqual("LSD Bridge: sendMotionAndDepth is on, but only colour is sent: the project renders with " +
                            "UniversalRenderPipelineAsset, a scriptable render pipeline; this version captures them on the " +
                            "built-in render pipeline only (see the package README, \"Motion vectors and depth\").", urp.Warning);
            Assert.IsTrue(LSDPlaneRules.Decide(true, "HDRenderPipelineAsset", null, false, true, true).Warning.Contains("HDRenderPipelineAsset"));

            LSDPlanesDecision texture = LSDPlaneRules.Decide(true, null, LSDPlaneRules.TextureSource, false, true, true);
            Assert.AreEqual(LSDFrameParts.None, texture.Parts);
            Assert.IsTrue(texture.Warning.Contains("the source is a texture"), texture.Warning);
            Assert.IsTrue(LSDPlaneRules.Decide(true, null, LSDPlaneRules.NoCamera, false, true, true).Warning.Contains("no Camera.main"));

            LSDPlanesDecision ortho = LSDPlaneRules.Decide(true, null, null, true, true, true);
            Assert.AreEqual(LSDFrameParts.Motion, ortho.Parts, "an orthographic camera sends its motion, not its depth");
            Assert.IsTrue(ortho.Warning.Contains("orthographic"), ortho.Warning);
            Assert.IsTrue(ortho.Status.StartsWith("motion vectors from the camera"), ortho.Status);

            Assert.AreEqual(LSDFrameParts.Depth, LSDPlaneRules.Decide(true, null, null, false, false, true).Parts);
            Assert.AreEqual(LSDFrameParts.Motion, LSDPlaneRules.Decide(true, null, null, false, true, false).Parts);
            LSDPlanesDecision none = LSDPlaneRules.Decide(true, null, null, true, false, true);
            Assert.AreEqual(LSDFrameParts.None, none.Parts);
            Assert.IsTrue(none.Warning.Contains("RGHalf") && none.Warning.Contains("orthographic"), none.Warning);

            Assert.IsTrue(LSDPlaneRules.DepthMatchesBind(0.3f, 1000f, 0.3f, 1000f, false));
            Assert.IsFalse(LSDPlaneRules.DepthMatchesBind(0.3f, 1000f, 0.3f, 500f, false), "far plane moved");
            Assert.IsFalse(LSDPlaneRules.DepthMatchesBind(0.3f, 1000f, 0.3f, 1000f, true), "now orthographic");
        }

        [Test]
        public void StreamOptionsCarryTheSwitchAndOnlyWhenAsked()
        {
            var o = new LSDStreamOptions();
            Assert.IsFalse(o.sendMotionAndDepth, "off by default: colour only, as before");
            o.sendMotionAndDepth = true;
            Assert.IsTrue(o.Clone().sendMotionAndDepth);
            o.Validate();
        }
    }

    /// <summary>Through a real session and runtime: what the engine does with three readbacks, checked by the
    /// runtime's `planes` view (red, green: 128 + motion in pixels with +y down; blue: linear depth).</summary>
    [TestFixture]
    public class FrameAssemblerStreamingTests
    {
        private RuntimeProcess _runtime;

        [OneTimeSetUp]
        public void StartRuntime() { _runtime = RuntimeProcess.Start(); }

        [OneTimeTearDown]
        public void StopRuntime() { if (_runtime != null) _runtime.Dispose(); }

        // IEEE half of a value that is exact in half (small multiples of powers of two)
        private static ushort Half(float f)
        {
            if (f == 0f) return 0;
            uint b = BitConverter.ToUInt32(BitConverter.GetBytes(f), 0);
            uint sign = (b >> 16) & 0x8000u;
            int exp = (int)((b >> 23) & 0xff) - 127 + 15;
            Assert.IsTrue(exp > 0 && exp < 31 && (b & 0x1fffu) == 0, "exact in half: " + f);
            return (ushort)(sign | ((uint)exp << 10) | ((b >> 13) & 0x3ffu));
        }

        private static void Hand(LSDFrameAssembler a, long frame, LSDFrameParts part, byte[] data)
        {
            GCHandle pin = GCHandle.Alloc(data, GCHandleType.Pinned);
            try { a.PartArrived(frame, part, pin.AddrOfPinnedObject(), data.Length); }
            finally { pin.Free(); }
        }

        [Test]
        public void ThreeReadbacksInAnyOrderReachTheBackendAsUnityStoresThem()
        {
            // Unity's conventions, as the engine binds them: RGHalf motion in UV units, +y up; RFloat
            // reversed-Z device depth (an infinite far plane here, so near / z); rows bottom-up
            const int W = 64, H = 32;
            var options = ArgumentTests.Options(_runtime.StateDirectory, W, H, "effects:planes");
            options.InputBottomUp = true;
            options.OutputBottomUp = true;
            options.Motion = LSDMotionOptions.UnityCamera();
            options.Depth = LSDDepthOptions.Device(1.0f, 0.0f, true);
            options.Depth.Format = LSDDepthFormat.R32f;
            var gate = new LSDReadbackGate(2);
            using (var session = new LSDStreamSession(options))
            {
                session.Start();
                Assert.AreEqual(LSDMotionFormat.Rg16f, session.BindOptions.Motion.Format, "the bind declares the planes");
                Assert.AreEqual(LSDDepthKind.Device, session.BindOptions.Depth.Kind);
                Assert.IsTrue(session.WaitReady(20000), "ready");
                using (var a = new LSDFrameAssembler(W, H, LSDPixelFormat.Rgba8, options.Motion, options.Depth, false, gate,
                                                     (c, n, t, flags, planes) => session.Submit(c, n, 0, t, flags, planes)))
                {
                    var rnd = new Random(3);
                    for (int frame = 0; frame < 4; frame++)
                    {
                        var color = new byte[W * H * 4];
                        rnd.NextBytes(color);
                        var motion = new byte[W * H * 4];
                        var depth = new byte[W * H * 4];
                        var expected = new byte[W * H * 4];
                        for (int y = 0; y < H; y++)
                            for (int x = 0; x < W; x++)
                            {
                                int k = y * W + x;
                                int dx = (x + frame) % 21 - 10, dy = (y + 2 * frame) % 17 - 8, z = 1 + (x + 3 * y + frame) % 200;
                                BitConverter.GetBytes(Half((float)dx / W)).CopyTo(motion, 4 * k);
                                BitConverter.GetBytes(Half((float)dy / H)).CopyTo(motion, 4 * k + 2);
                                BitConverter.GetBytes(1.0f / z).CopyTo(depth, 4 * k);
                                expected[4 * k] = (byte)(128 + dx);
                                expected[4 * k + 1] = (byte)(128 - dy);
                                expected[4 * k + 2] = (byte)z;
                                expected[4 * k + 3] = 255;
                            }
                        if (frame == 2) a.MarkCameraCut();
                        long f;
                        Assert.IsTrue(a.TryBeginFrame(LSDFrameParts.Color | LSDFrameParts.Motion | LSDFrameParts.Depth, 1.0 + frame, out f));
                        // a different order each frame, as readback callbacks may come
                        if (frame % 2 == 0)
                        {
                            Hand(a, f, LSDFrameParts.Depth, depth);
                            Hand(a, f, LSDFrameParts.Color, color);
                            Hand(a, f, LSDFrameParts.Motion, motion);
                        }
                        else
                        {
                            Hand(a, f, LSDFrameParts.Motion, motion);
                            Hand(a, f, LSDFrameParts.Depth, depth);
                            Hand(a, f, LSDFrameParts.Color, color);
                        }
                        Assert.AreEqual(frame + 1L, a.FramesSubmitted, "submitted");
                        var output = new byte[W * H * 4];
                        LSDFrameResult r;
                        Assert.AreEqual(LSDStatus.Ok, session.Client.Take(output, 20000, out r));
                        Assert.AreEqual(1.0 + frame, r.Time);
                        for (int i = 0; i < expected.Length; i++)
                            if (expected[i] != output[i])
                                Assert.Fail(string.Format("frame {0}: byte {1} (pixel {2}, channel {3}) is {4}, expected {5}",
                                                          frame, i, i / 4, i % 4, output[i], expected[i]));
                    }
                    Assert.AreEqual(0, gate.InFlight);
                    Assert.IsFalse(a.CameraCutPending, "the cut went out with frame 2");
                }
                Assert.AreEqual(0UL, session.GetStats().Errors);
            }
        }
    }
}
