using System;
using System.Diagnostics;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    /// <summary>No runtime: every call returns within its timeout (measured), nothing hangs.</summary>
    [TestFixture]
    public class RuntimeAbsentTests
    {
        // scheduling slack on a loaded 2-core CI machine
        private const long SlackMs = 250;

        private static long Ms(Action a)
        {
            var sw = Stopwatch.StartNew();
            a();
            return sw.ElapsedMilliseconds;
        }

        private static void CheckCalls(LSDClient c)
        {
            bool connected = true;
            long t = Ms(() => connected = c.Connect(300));
            Assert.IsFalse(connected, "connected to nothing");
            Assert.Less(t, 300 + SlackMs, "Connect(300) took " + t + " ms");
            Assert.GreaterOrEqual(t, 250, "Connect(300) waited its timeout (" + t + " ms)");

            LSDStatus s = LSDStatus.Ok;
            t = Ms(() => s = c.Bind(new LSDBindOptions(32, 32, LSDPixelFormat.Rgba8), 200));
            Assert.AreEqual(LSDStatus.NotConnected, s);
            Assert.Less(t, 200 + SlackMs, "Bind(200) took " + t + " ms");

            t = Ms(() => s = c.SetStyle(new LSDStyle("effects", "toon"), 200));
            Assert.AreEqual(LSDStatus.NotConnected, s);
            Assert.Less(t, 200 + SlackMs, "SetStyle(200) took " + t + " ms");

            var frame = new byte[32 * 32 * 4];
            ulong id;
            t = Ms(() => s = c.Submit(frame, out id));
            Assert.AreEqual(LSDStatus.NotConnected, s);
            Assert.Less(t, 50, "Submit (never waits) took " + t + " ms");

            LSDFrameResult r;
            t = Ms(() => s = c.Take(frame, 200, out r));
            Assert.IsTrue(s == LSDStatus.NotConnected || s == LSDStatus.NoFrame, s.ToString());
            Assert.Less(t, 200 + SlackMs, "Take(200) took " + t + " ms");

            t = Ms(() => s = c.Take(frame, 0, out r));
            Assert.Less(t, 50, "Take(0) took " + t + " ms");

            LSDStats st = c.GetStats();
            Assert.AreEqual(LSDConnectionState.Connecting, st.State);
            Assert.AreEqual(0UL, st.FramesSubmitted);

            t = Ms(c.Dispose);
            Assert.Less(t, 1000, "Dispose while connecting took " + t + " ms");
        }

        [Test]
        public void NoRuntimeJson()
        {
            CheckCalls(LSDClient.FromStateDirectory(RuntimeProcess.MakeTempDir("lsd-unity-absent"), "unity-tests"));
        }

        [Test]
        public void NobodyListensOnTheEndpoint()
        {
            // a port nobody listens on: take a free one and release it
            var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            l.Start();
            int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            CheckCalls(LSDClient.FromEndpoint("tcp://127.0.0.1:" + port, new string('0', 64), "unity-tests"));
        }

        [Test]
        public void SessionStartNeverBlocks()
        {
            var session = new LSDStreamSession(ArgumentTests.Options(RuntimeProcess.MakeTempDir("lsd-unity-absent"), 64, 64, "sd-turbo"));
            int events = 0;
            session.Connected += () => events++;
            session.Disconnected += () => events++;
            long t = Ms(session.Start);
            Assert.Less(t, 200, "Start took " + t + " ms");
            session.Poll();
            Assert.AreEqual(0, events);
            Assert.IsFalse(session.WaitReady(100));
            Assert.AreEqual(LSDStatus.NotConnected, session.Submit(new byte[64 * 64 * 4]));
            t = Ms(session.Dispose);
            Assert.Less(t, 1000, "Dispose took " + t + " ms");
            Assert.AreEqual(0, events);
        }
    }
}
