// Starts a real `lsd-runtime serve` on a free loopback port with its own state directory
// (the command comes from $LSD_RUNTIME_CMD, else `python3 -m lsd_runtime`), waits for its
// runtime.json, and kills it at the end. Also runs `lsd-runtime apply` for expected pixels.
using System;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace LSDBridge.Tests
{
    public sealed class RuntimeProcess : IDisposable
    {
        private Process _process;
        private StreamWriter _log;
        public string StateDirectory { get; private set; }
        public string LogPath { get; private set; }

        public static string[] Command()
        {
            string env = Environment.GetEnvironmentVariable("LSD_RUNTIME_CMD");
            if (!string.IsNullOrEmpty(env))
                return env.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            return new[] { "python3", "-m", "lsd_runtime" };
        }

        public static string MakeTempDir(string prefix)
        {
            string dir = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            Directory.CreateDirectory(dir);
            return dir;
        }

        /// <summary>Starts a runtime in a new state directory (or the given one) and waits for runtime.json.</summary>
        public static RuntimeProcess Start(string stateDirectory = null)
        {
            var rp = new RuntimeProcess();
            rp.StateDirectory = stateDirectory ?? MakeTempDir("lsd-unity-test");
            string json = Path.Combine(rp.StateDirectory, "runtime.json");
            if (File.Exists(json)) File.Delete(json);
            rp.LogPath = Path.Combine(rp.StateDirectory, "runtime-" + Guid.NewGuid().ToString("N").Substring(0, 6) + ".log");
            string[] cmd = Command();
            string args = string.Join(" ", cmd, 1, cmd.Length - 1) +
                          " serve --endpoint tcp://127.0.0.1:0 --state-dir \"" + rp.StateDirectory + "\"";
            var psi = new ProcessStartInfo(cmd[0], args)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            rp._process = Process.Start(psi);
            var log = new StreamWriter(rp.LogPath, true) { AutoFlush = true };
            rp._log = log;
            rp._process.OutputDataReceived += (s, e) => WriteLog(log, e.Data);
            rp._process.ErrorDataReceived += (s, e) => WriteLog(log, e.Data);
            rp._process.BeginOutputReadLine();
            rp._process.BeginErrorReadLine();
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < 60)
            {
                if (File.Exists(json))
                {
                    try
                    {
                        LSDRuntimeInfo info = LSDRuntime.ReadRuntimeState(rp.StateDirectory);
                        if (info.Pid == rp._process.Id) return rp;
                    }
                    catch (LSDException) { }
                }
                if (rp._process.HasExited)
                    throw new Exception("lsd-runtime exited with " + rp._process.ExitCode + "; log: " + rp.LogPath);
                Thread.Sleep(50);
            }
            rp.Dispose();
            throw new TimeoutException("lsd-runtime did not write runtime.json within 60 s; log: " + rp.LogPath);
        }

        private static void WriteLog(StreamWriter log, string line)
        {
            if (line == null) return;
            lock (log)
            {
                try { log.WriteLine(line); }
                catch (ObjectDisposedException) { }
            }
        }

        /// <summary>SIGKILL (no clean shutdown), for liveness tests.</summary>
        public void Kill()
        {
            if (_process == null) return;
            try
            {
                if (!_process.HasExited) _process.Kill();
                _process.WaitForExit(5000);
            }
            catch (InvalidOperationException) { }
        }

        public void Dispose()
        {
            Kill();
            if (_process != null) _process.Dispose();
            _process = null;
            if (_log != null) lock (_log) _log.Dispose();
            _log = null;
        }

        /// <summary>`lsd-runtime apply`: the exact runtime output for one top-down, tightly packed frame.</summary>
        public static byte[] Apply(string style, int width, int height, string format, byte[] input)
        {
            string dir = MakeTempDir("lsd-unity-apply");
            try
            {
                string inPath = Path.Combine(dir, "in.raw"), outPath = Path.Combine(dir, "out.raw");
                File.WriteAllBytes(inPath, input);
                string[] cmd = Command();
                string args = string.Join(" ", cmd, 1, cmd.Length - 1) + string.Format(
                    " apply --style {0} --width {1} --height {2} --format {3} --input \"{4}\" --output \"{5}\"",
                    style, width, height, format, inPath, outPath);
                var psi = new ProcessStartInfo(cmd[0], args) { UseShellExecute = false, RedirectStandardError = true };
                using (Process p = Process.Start(psi))
                {
                    string err = p.StandardError.ReadToEnd();
                    if (!p.WaitForExit(120000)) throw new TimeoutException("lsd-runtime apply took over 120 s");
                    if (p.ExitCode != 0) throw new Exception("lsd-runtime apply failed (" + p.ExitCode + "): " + err);
                }
                return File.ReadAllBytes(outPath);
            }
            finally
            {
                try { Directory.Delete(dir, true); } catch (IOException) { }
            }
        }
    }
}
