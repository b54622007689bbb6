"""Dead and silent clients lose their slots fast; the runtime keeps serving the others."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import zmq

from lsd_runtime import protocol
from lsd_runtime.client import RuntimeClient, RuntimeGone
from lsd_runtime.scene import render
from lsd_runtime.shm_transport import list_segments, segment_exists
from lsd_runtime.testing import RuntimeProcess

CLIENT_SCRIPT = textwrap.dedent("""
    import json, sys, numpy as np
    from lsd_runtime.client import RuntimeClient, RuntimeGone
    c = RuntimeClient(sys.argv[1], sys.argv[2])
    c.connect()
    bound = c.bind(128, 96, "rgba8")
    c.set_style(style="toon")
    print(json.dumps(bound["input"]["names"] + bound["output"]["names"]), flush=True)
    image = np.zeros((96, 128, 4), np.uint8)
    i = 0
    while True:
        image[..., 0] = i % 256
        c.process(image)
        i += 1
""")


def wait_gone(names: list[str], limit: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if not any(segment_exists(n) for n in names):
            return time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError(f"segments still present after {limit} s: {[n for n in names if segment_exists(n)]}")


def test_sigkilled_client_loses_its_slots_within_3s(runtime):
    with RuntimeClient(runtime.endpoint, runtime.token) as other:
        other.bind(64, 64, "rgba8")
        other.set_style(style="identity")
        proc = subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, runtime.endpoint, runtime.token],
                                stdout=subprocess.PIPE, text=True)
        try:
            names = json.loads(proc.stdout.readline())
            assert len(names) == 6 and all(segment_exists(n) for n in names)
            time.sleep(0.5)  # mid-stream
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)
            killed_at = time.monotonic()
            took = wait_gone(names, 3.0)
            assert time.monotonic() - killed_at < 3.0
        finally:
            if proc.poll() is None:
                proc.kill()
        image = render(0, 64, 64)
        for _ in range(20):
            assert np.array_equal(other.process(image), image)
    assert runtime.alive()
    print(f"slots freed {took * 1000:.0f} ms after SIGKILL")


def test_silent_client_times_out_and_is_freed(runtime):
    """A client that gave no pid and stops talking is dropped after timeout_ms."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(runtime.endpoint)
    try:
        sock.send(protocol.pack("hello", 1, token=runtime.token, client="silent", transports=["shm"]))
        welcome = protocol.decode(sock.recv(), "runtime")
        ring = {"width": 64, "height": 64, "format": "rgba8"}
        sock.send(protocol.pack("bind", 2, transport="shm", input=ring, output=ring))
        bound = protocol.decode(sock.recv(), "runtime")
        names = bound["input"]["names"] + bound["output"]["names"]
        assert all(segment_exists(n) for n in names)
        t0 = time.monotonic()
        took = wait_gone(names, welcome["timeout_ms"] / 1000 + 1.0)
        assert took >= welcome["timeout_ms"] / 1000 - 0.3  # not before the timeout
        assert sock.poll(1000)
        bye = protocol.decode(sock.recv(), "runtime")
        assert bye["t"] == "bye" and "heartbeat" in bye["reason"]
        assert time.monotonic() - t0 < welcome["timeout_ms"] / 1000 + 1.0
    finally:
        sock.close()
        ctx.term()


def test_idle_client_with_heartbeats_is_kept(runtime):
    with RuntimeClient(runtime.endpoint, runtime.token) as client:
        bound = client.bind(64, 64)
        time.sleep(client.runtime_timeout_s * 1.5)  # idle, but the I/O thread pings
        assert all(segment_exists(n) for n in bound["input"]["names"])
        assert client.ping() < 1000


def test_bye_frees_slots_at_once(runtime):
    client = RuntimeClient(runtime.endpoint, runtime.token)
    client.connect()
    bound = client.bind(64, 64)
    names = bound["input"]["names"] + bound["output"]["names"]
    client.close()
    assert wait_gone(names, 1.0) < 1.0


def test_runtime_shutdown_removes_segments_and_state_file():
    with RuntimeProcess() as rt:
        client = RuntimeClient(rt.endpoint, rt.token)
        client.connect()
        bound = client.bind(64, 64)
        names = bound["input"]["names"] + bound["output"]["names"]
        assert list_segments(f"lsd-{rt.pid}-")
        assert rt.stop(signal.SIGTERM) == 0
        assert not any(segment_exists(n) for n in names)
        assert not list_segments(f"lsd-{rt.pid}-")
        assert not (rt.state_dir / "runtime.json").exists()
        with pytest.raises(RuntimeGone, match="runtime shutting down"):
            client.receive(timeout=3)  # the client hears about it instead of hanging
        client.close()


def test_state_file_is_owner_only():
    with RuntimeProcess() as rt:
        state = rt.state_dir / "runtime.json"
        assert state.stat().st_mode & 0o777 == 0o600
        info = json.loads(state.read_text())
        assert info["endpoint"] == rt.endpoint and len(info["token"]) == 64 and info["pid"] == rt.pid
        client = RuntimeClient(state_dir=rt.state_dir)
        client.connect()
        bound = client.bind(64, 64)
        path = "/dev/shm/" + bound["input"]["names"][0].lstrip("/")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        client.close()


def test_curve_encrypted_runtime_needs_its_server_key():
    with RuntimeProcess(args=["--curve"]) as rt:
        assert len(rt.server_key) == 40
        with RuntimeClient(state_dir=rt.state_dir) as client:  # the key comes from runtime.json
            client.bind(64, 64)
            image = render(2, 64, 64)
            client.set_style(style="identity")
            assert np.array_equal(client.process(image), image)
        plain = RuntimeClient(rt.endpoint, rt.token, timeout=1.0)
        with pytest.raises(TimeoutError):  # no handshake without the key: nothing gets through
            plain.connect()
        plain.close()


def test_non_loopback_endpoint_is_refused_without_allow_remote():
    proc = subprocess.run([sys.executable, "-m", "lsd_runtime", "serve", "--endpoint", "tcp://0.0.0.0:0",
                           "--state-dir", "/tmp/lsd-refuse-test"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "refusing to listen on '0.0.0.0'" in proc.stderr and "--allow-remote" in proc.stderr


def test_ipc_endpoint_serves_frames(tmp_path):
    sock_path = tmp_path / "lsd.sock"
    with RuntimeProcess(endpoint=f"ipc://{sock_path}") as rt:
        assert rt.endpoint == f"ipc://{sock_path}"
        with RuntimeClient(state_dir=rt.state_dir) as client:
            client.bind(64, 48, "bgra8")
            client.set_style(style="identity")
            image = render(1, 64, 48)
            assert np.array_equal(client.process(image), image)


def test_new_runtime_sweeps_segments_of_a_killed_runtime():
    with RuntimeProcess() as first:
        client = RuntimeClient(first.endpoint, first.token)
        client.connect()
        bound = client.bind(64, 64)
        names = bound["input"]["names"] + bound["output"]["names"]
        first.stop(signal.SIGKILL)
        assert all(segment_exists(n) for n in names)  # nobody cleaned up
        client.close()
        with RuntimeProcess(state_dir=first.state_dir) as second:
            assert not any(segment_exists(n) for n in names)
            assert "removed 6 shared-memory segments" in second.log()


def test_client_learns_its_session_is_gone_from_no_session():
    """A runtime restarted on the same endpoint: the old socket reconnects silently."""
    # a long timeout, so the client waits out the restart instead of giving up on silence
    with RuntimeProcess(args=["--timeout-ms", "20000"]) as first:
        endpoint, state_dir = first.endpoint, first.state_dir
        client = RuntimeClient(first.endpoint, first.token)
        client.connect()
        first.stop(signal.SIGKILL)
        with RuntimeProcess(endpoint=endpoint, state_dir=state_dir), \
                pytest.raises(RuntimeGone, match="no longer has this session"):
            client.receive(timeout=15)
        client.close()
