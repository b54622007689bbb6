using System;
using System.Diagnostics;
using NUnit.Framework;

namespace LSDBridge.Tests
{
    /// <summary>The runtime is killed mid-stream and restarted (new port, new token) in the same
    /// state directory: calls keep returning within their timeouts, the client reconnects by itself.</summary>
    [TestFixture]
    public class ReconnectTests
    {
        [Test]
        public void RuntimeKilledAndRestarted()
        {
            const int W = 32, H = 32;
            RuntimeProcess rt = RuntimeProcess.Start();
            string dir = rt.StateDirectory;
            try
            {
                var session = new LSDStreamSession(ArgumentTests.Options(dir, W, H, "identity"));
                int connected = 0, disconnected = 0;
                session.Connected += () => connected++;
                session.Disconnected += () => disconnected++;
                using (session)
                {
                    session.Start();
                    Assert.IsTrue(session.WaitReady(15000), "ready");
                    session.Poll();
                    byte[] frame = StreamingTests.Pattern(W, H, 4, 21);
                    var output = new byte[frame.Length];
                    StreamingTests.RoundTrip(session.Client, frame, output, 0);

                    rt.Kill();
                    // the client notices within its timeout (2 s default) and calls keep returning at once
                    var sw = Stopwatch.StartNew();
                    while (session.State == LSDConnectionState.Ready && sw.ElapsedMilliseconds < 10000)
                    {
                        var t = Stopwatch.StartNew();
                        session.Submit(frame);
                        LSDFrameResult r;
                        session.TryTake(output, out r);
                        Assert.Less(t.ElapsedMilliseconds, 100, "calls while the runtime is dead");
                        System.Threading.Thread.Sleep(20);
                    }
                    Assert.AreNotEqual(LSDConnectionState.Ready, session.State, "runtime death noticed");
                    Console.WriteLine("       death noticed after {0} ms", sw.ElapsedMilliseconds);
                    session.Poll();
                    Assert.AreEqual(1, disconnected);
                    Assert.AreEqual(LSDStatus.NotConnected, session.Submit(frame));

                    rt = RuntimeProcess.Start(dir);
                    Assert.IsTrue(session.WaitReady(20000), "re-bound after the restart");
                    session.Poll();
                    Assert.AreEqual(2, connected);
                    StreamingTests.RoundTrip(session.Client, frame, output, 0);
                    for (int k = 0; k < frame.Length; k++)
                        if (frame[k] != output[k]) Assert.Fail("byte " + k + " after reconnect");
                    LSDStats st = session.GetStats();
                    Assert.IsTrue(st.Reconnects >= 1, st.ToString());
                }
            }
            finally
            {
                rt.Dispose();
            }
        }
    }
}
