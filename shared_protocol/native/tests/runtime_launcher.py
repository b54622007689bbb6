#!/usr/bin/env python3
"""Starts and stops `lsd-runtime` processes for the native tests when they run on Windows.

The Windows build of the tests cannot fork the runtime: under Wine the runtime is a Linux
process (and its shared memory is invisible to Windows processes, so those runs use the
`inline` transport over TCP), and on Windows it is a Python process like any other. Either way
this launcher, run beside the tests, does the process work for them. The tests find it through
LSD_TEST_LAUNCHER=host:port (tests/runtime_process.cpp).

Protocol: one JSON object per line in, one per line out, one request per connection. Paths are
this machine's own (the tests convert Wine's Z:\\ paths). Ops:
  hello                                      -> {"os": "posix" | "nt"}
  mkdtemp  {prefix}                          -> {"path"}
  rmtree   {path}                            -> {}
  start    {state_dir, endpoint, extra, wait_s} -> {"ok", "pid", "why"}
  kill9    {pid}                             -> {}   (no clean-up by the runtime; stale shm removed)
  stop     {pid}                             -> {}   (SIGTERM, SIGKILL after 5 s)
  run      {args, log}                       -> {"status"}   (the runtime command + args, e.g. apply)
  free_port                                  -> {"port"}

    python3 runtime_launcher.py [--port-file FILE]     # prints "launcher listening on PORT"
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PROCESSES: dict[int, subprocess.Popen[bytes]] = {}
LOCK = threading.Lock()


def runtime_command() -> list[str]:
    env = os.environ.get("LSD_RUNTIME_CMD", "").strip()
    if env:
        return shlex.split(env)
    exe = shutil.which("lsd-runtime")
    return [exe] if exe else [sys.executable, "-m", "lsd_runtime"]


def start(state_dir: str, endpoint: str, extra: list[str], wait_s: float) -> dict[str, Any]:
    log = Path(state_dir) / "runtime.log"
    # --inline: a Windows client under Wine reaches the Linux runtime only through messages
    cmd = [*runtime_command(), "serve", "--endpoint", endpoint, "--state-dir", state_dir, "--inline", *extra]
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    with LOCK:
        PROCESSES[proc.pid] = proc
    want = f'"pid": {proc.pid}'
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            why = "the runtime exited at start; log:\n" + log.read_text(errors="replace")
            return {"ok": False, "why": why}
        try:
            if want in (Path(state_dir) / "runtime.json").read_text():
                return {"ok": True, "pid": proc.pid}
        except OSError:
            pass
        time.sleep(0.05)
    stop(proc.pid)
    why = f"the runtime did not write runtime.json within {wait_s} s; log:\n"
    why += log.read_text(errors="replace")
    return {"ok": False, "why": why}


def kill9(pid: int) -> None:
    with LOCK:
        proc = PROCESSES.pop(pid, None)
    if proc is None:
        return
    proc.kill()
    proc.wait()
    # a killed runtime cannot unlink its segments (named lsd-<pid>-...); the tests' POSIX helper does the same
    shm = Path("/dev/shm")
    if shm.is_dir():
        for seg in shm.glob(f"lsd-{pid}-*"):
            seg.unlink(missing_ok=True)


def stop(pid: int) -> None:
    with LOCK:
        proc = PROCESSES.get(pid)
    if proc is None:
        return
    if os.name == "nt":
        proc.terminate()
    else:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
        with LOCK:
            PROCESSES.pop(pid, None)
    except subprocess.TimeoutExpired:
        kill9(pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def handle(req: dict[str, Any]) -> dict[str, Any]:
    op = req.get("op")
    if op == "hello":
        return {"os": "nt" if os.name == "nt" else "posix"}
    if op == "mkdtemp":
        return {"path": tempfile.mkdtemp(prefix=str(req.get("prefix", "lsd")) + "-")}
    if op == "rmtree":
        shutil.rmtree(req["path"], ignore_errors=True)
        return {}
    if op == "start":
        extra = list(req.get("extra", []))
        return start(req["state_dir"], req["endpoint"], extra, float(req.get("wait_s", 60)))
    if op == "kill9":
        kill9(int(req["pid"]))
        return {}
    if op == "stop":
        stop(int(req["pid"]))
        return {}
    if op == "run":
        log = req.get("log") or os.devnull
        with open(log, "ab") as out:
            status = subprocess.call([*runtime_command(), *req["args"]], stdout=out, stderr=subprocess.STDOUT)
        return {"status": status}
    if op == "free_port":
        return {"port": free_port()}
    return {"error": f"unknown op {op!r}"}


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline()
        try:
            reply = handle(json.loads(line))
        except Exception as e:  # noqa: BLE001 - the test gets the reason, the launcher keeps serving
            reply = {"error": f"{type(e).__name__}: {e}"}
        self.wfile.write((json.dumps(reply) + "\n").encode())


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", type=Path, help="write the port here once listening")
    args = ap.parse_args(argv)
    # a SIGTERM from the script that started us still stops every runtime we started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    print(f"launcher listening on {port}", flush=True)
    if args.port_file:
        args.port_file.write_text(str(port))
    try:
        server.serve_forever()
    finally:
        for pid in list(PROCESSES):
            stop(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
