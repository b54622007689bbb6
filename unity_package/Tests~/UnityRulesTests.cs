using System;
using System.Collections.Generic;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    /// <summary>The decisions LSDStreamEngine takes, as pure logic (no Unity needed): which output
    /// textures work, how many readbacks may be in flight across a restart, which path frames take
    /// and what is said about it, and that every live engine is disposed when its world ends.</summary>
    [TestFixture]
    public class UnityRulesTests
    {
        [Test]
        public void Texture2DOfTheStreamsSizeFormatAndOneMipIsAccepted()
        {
            Assert.AreEqual(null, LSDOutputRules.Texture2DProblem(512, 288, true, 1, 512, 288));
        }

        [Test]
        public void Texture2DProblemsAreAllNamed()
        {
            string why = LSDOutputRules.Texture2DProblem(256, 256, false, 9, 512, 288);
            Assert.IsTrue(why.Contains("it is 256x256, the stream 512x288"), why);
            Assert.IsTrue(why.Contains("its format is not RGBA32"), why);
            Assert.IsTrue(why.Contains("it has 9 mip levels, not 1"), why);
            Assert.IsTrue(why.Contains("new Texture2D(512, 288, TextureFormat.RGBA32, false)"), why);
            // one problem alone is named alone
            string mips = LSDOutputRules.Texture2DProblem(512, 288, true, 2, 512, 288);
            Assert.IsTrue(mips.Contains("2 mip levels") && !mips.Contains("format") && !mips.Contains("stream 512"), mips);
        }

        [Test]
        public void ReadbacksAreCappedAndARestartStartsAtZero()
        {
            var gate = new LSDReadbackGate(2);
            int g1, g2, g3;
            Assert.IsTrue(gate.TryBegin(out g1));
            Assert.IsTrue(gate.TryBegin(out g2));
            Assert.IsFalse(gate.TryBegin(out g3), "a third readback while two are in flight");
            Assert.AreEqual(2, gate.InFlight);
            // Stop + StartCapture while both are still in flight (the bug: the count stayed at 2 and
            // the new capture never read back a frame)
            gate.Restart();
            Assert.AreEqual(0, gate.InFlight);
            int n1, n2;
            Assert.IsTrue(gate.TryBegin(out n1));
            // the old readbacks complete now: ignored, and they do not free the new capture's places
            Assert.IsFalse(gate.Complete(g1));
            Assert.IsFalse(gate.Complete(g2));
            Assert.AreEqual(1, gate.InFlight);
            Assert.IsTrue(gate.TryBegin(out n2));
            Assert.IsFalse(gate.TryBegin(out g3));
            Assert.IsTrue(gate.Complete(n1));
            Assert.IsTrue(gate.Complete(n2));
            Assert.AreEqual(0, gate.InFlight);
            Assert.Throws<ArgumentOutOfRangeException>(() => new LSDReadbackGate(0));
        }

        [Test]
        public void ThousandsOfFramesAcrossRestartsNeverLeakAPlace()
        {
            var gate = new LSDReadbackGate(2);
            var pending = new Queue<int>();
            int used = 0;
            for (int frame = 0; frame < 5000; frame++)
            {
                if (frame % 997 == 0) gate.Restart();
                int g;
                if (gate.TryBegin(out g)) pending.Enqueue(g);
                if (frame % 3 != 0 && pending.Count > 0 && gate.Complete(pending.Dequeue())) used++;
                Assert.IsTrue(gate.InFlight >= 0 && gate.InFlight <= 2, "in flight: " + gate.InFlight);
            }
            while (pending.Count > 0) gate.Complete(pending.Dequeue());
            Assert.AreEqual(0, gate.InFlight);
            Assert.GreaterOrEqual(used, 3000);
        }

        [Test]
        public void DefaultPathIsTheOneThatWorksAndSaysNothing()
        {
            LSDPathDecision d = LSDPathChoice.Decide(null, "no CUDA device");
            Assert.IsFalse(d.UseGpu);
            Assert.AreEqual(null, d.Warning);
            Assert.AreEqual("no CUDA device", d.GpuStatus);
            Assert.AreEqual("AsyncGPUReadback + shared memory (GPU path: no CUDA device)", d.Description);

            LSDPathDecision gpu = LSDPathChoice.Decide(null, null);
            Assert.IsTrue(gpu.UseGpu);
            Assert.AreEqual(null, gpu.Warning);
            Assert.AreEqual("GPU (render-thread copies)", gpu.Description);
        }

        [Test]
        public void AskingForTheGpuPathWarnsWhyItCannotBeHad()
        {
            LSDPathDecision d = LSDPathChoice.Decide(true, "the texture -> CUDA copy is not in this build");
            Assert.IsFalse(d.UseGpu);
            Assert.AreEqual("LSD Bridge: GPU path unavailable (the texture -> CUDA copy is not in this build); " +
                            "using AsyncGPUReadback + shared memory.", d.Warning);
            Assert.IsTrue(LSDPathChoice.Decide(true, null).UseGpu);
            LSDPathDecision off = LSDPathChoice.Decide(false, null);
            Assert.IsFalse(off.UseGpu);
            Assert.AreEqual(null, off.Warning);
            Assert.AreEqual("AsyncGPUReadback + shared memory (GPU path: not asked for (useGPU: false))", off.Description);
        }

        private sealed class Resource : IDisposable
        {
            private readonly LSDLiveSet<Resource> _set;
            private readonly bool _throws;
            public int Disposed;
            public Resource(LSDLiveSet<Resource> set, bool throws = false) { _set = set; _throws = throws; }
            public void Dispose()
            {
                Disposed++;
                _set.Forget(this);   // as LSDStreamEngine.Stop does
                if (_throws) throw new InvalidOperationException("boom");
            }
        }

        [Test]
        public void EveryLiveEngineIsDisposedOnceEvenWhenOneThrows()
        {
            var set = new LSDLiveSet<Resource>();
            var a = new Resource(set);
            var b = new Resource(set, throws: true);
            var c = new Resource(set);
            Assert.IsTrue(set.Track(a), "the first Track hooks the events");
            Assert.IsFalse(set.Track(b));
            Assert.IsFalse(set.Track(c));
            Assert.IsFalse(set.Track(a), "tracked twice, still once");
            Assert.AreEqual(3, set.Count);
            List<Exception> errors = set.DisposeAll();
            Assert.AreEqual(1, errors.Count);
            Assert.AreEqual("boom", errors[0].Message);
            Assert.AreEqual(1, a.Disposed);
            Assert.AreEqual(1, b.Disposed);
            Assert.AreEqual(1, c.Disposed);
            Assert.AreEqual(0, set.Count);
            Assert.AreEqual(0, set.DisposeAll().Count);
            Assert.AreEqual(1, a.Disposed, "a second DisposeAll (quit after leaving Play Mode) disposes nothing again");
            Assert.IsFalse(set.Track(a), "events stay hooked for the life of the domain");
            Assert.Throws<ArgumentNullException>(() => set.Track(null));
        }

        [Test]
        public void TheTransportIsDescribedAsTheStatusWindowShowsIt()
        {
            var gpu = new LSDTransportInfo
            {
                Requested = LSDTransport.CudaIpc, Transport = LSDTransport.CudaIpc, ZeroCopy = true,
                Gpu = "GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60",
            };
            Assert.AreEqual("cuda_ipc: frames stay on the GPU (GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60)", gpu.Description);
            var fallback = new LSDTransportInfo
            {
                Requested = LSDTransport.CudaIpc, Transport = LSDTransport.Shm,
                Reason = "cuda_ipc: this runtime runs on the CPU (serve --device cuda for device slots)",
            };
            Assert.AreEqual("shm (cuda_ipc: this runtime runs on the CPU (serve --device cuda for device slots))",
                            fallback.Description);
            Assert.AreEqual("inline", new LSDTransportInfo { Transport = LSDTransport.Inline }.Description);
        }
    }
}
