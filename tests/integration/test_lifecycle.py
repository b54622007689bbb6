"""Dead and silent clients lose their slots fast; the runtime keeps serving the others."""

from __future__ import annotations

import contextlib
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
from lsd_runtime.tools.runtime_process import RuntimeProcess
from lsd_runtime.tools.scene import render
from lsd_runtime.transport.shm import SHM_KINDS, list_segments
from support.slots import held_slots, slot_ids, slots_alive

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


def wait_gone(pid: int, ids: list[str], limit: float) -> float:
    """Seconds until runtime ``pid`` holds none of the slots ``ids`` (see support.slots)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if not slots_alive(pid, ids):
            return time.monotonic() - t0
        time.sleep(0.02)
    raise AssertionError(f"slots still held after {limit} s: {slots_alive(pid, ids)}")


def test_sigkilled_client_loses_its_slots_within_3s(runtime):
    with RuntimeClient(runtime.endpoint, runtime.token) as other:
        other.bind(64, 64, "rgba8")
        other.set_style(style="identity")
        proc = subprocess.Popen(
            [sys.executable, "-c", CLIENT_SCRIPT, runtime.endpoint, runtime.token],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            names = json.loads(proc.stdout.readline())
            ids = slot_ids(names)
            assert len(ids) == 6 and not set(ids) - set(held_slots(runtime.pid))
            time.sleep(0.5)  # mid-stream
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)
            killed_at = time.monotonic()
            took = wait_gone(runtime.pid, ids, 3.0)
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
        sock.send(
            protocol.pack("hello", 1, token=runtime.token, client="silent", transports=["shm"], shm=SHM_KINDS)
        )
        welcome = protocol.decode(sock.recv(), "runtime")
        ring = {"width": 64, "height": 64, "format": "rgba8"}
        sock.send(protocol.pack("bind", 2, transport="shm", input=ring, output=ring))
        bound = protocol.decode(sock.recv(), "runtime")
        ids = slot_ids(bound["input"]["names"] + bound["output"]["names"])
        assert len(slots_alive(runtime.pid, ids)) == 6
        t0 = time.monotonic()
        took = wait_gone(runtime.pid, ids, welcome["timeout_ms"] / 1000 + 1.0)
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
        ids = slot_ids(bound["input"]["names"])
        time.sleep(client.runtime_timeout_s * 1.5)  # idle, but the I/O thread pings
        assert slots_alive(runtime.pid, ids) == ids
        assert client.ping() < 1000


def test_bye_frees_slots_at_once(runtime):
    client = RuntimeClient(runtime.endpoint, runtime.token)
    client.connect()
    bound = client.bind(64, 64)
    ids = slot_ids(bound["input"]["names"] + bound["output"]["names"])
    client.close()
    assert wait_gone(runtime.pid, ids, 1.0) < 1.0


def test_runtime_shutdown_removes_segments_and_state_file():
    with RuntimeProcess() as rt:
        client = RuntimeClient(rt.endpoint, rt.token)
        client.connect()
        bound = client.bind(64, 64)
        ids = slot_ids(bound["input"]["names"] + bound["output"]["names"])
        assert len(held_slots(rt.pid)) == 6
        client.close()  # the client's mappings would keep the memory (not the runtime's) alive
        assert rt.stop(signal.SIGTERM) == 0
        assert not list_segments(f"lsd-{rt.pid}-")  # no name left behind in /dev/shm
        assert ids and all(i.startswith("/memfd:lsd-") for i in ids) or sys.platform != "linux"
        assert not (rt.state_dir / "runtime.json").exists()


def test_runtime_shutdown_is_heard_by_its_clients():
    with RuntimeProcess() as rt:
        client = RuntimeClient(rt.endpoint, rt.token)
        client.connect()
        client.bind(64, 64)
        assert rt.stop(signal.SIGTERM) == 0
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
        name = bound["input"]["names"][0]
        if sys.platform == "linux":  # a memfd: only the runtime's user may open /proc/<pid>/fd/<n>
            assert name == f"/proc/{rt.pid}/fd/{name.rsplit('/', 1)[1]}"
            assert stat.S_IMODE(os.stat(f"/proc/{rt.pid}/fd").st_mode) == 0o500
        else:
            assert stat.S_IMODE(os.stat("/dev/shm/" + name.lstrip("/")).st_mode) == 0o600
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
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lsd_runtime",
            "serve",
            "--endpoint",
            "tcp://0.0.0.0:0",
            "--state-dir",
            "/tmp/lsd-refuse-test",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
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


def test_a_killed_runtime_leaves_no_slot_memory_behind():
    """Slots are memfds: when the runtime dies (SIGKILL) they go as soon as its clients let go,
    and no name is left in /dev/shm. Named segments a runtime of an older version (or another
    POSIX system) left behind are still swept by the next runtime."""
    from lsd_runtime.transport.shm import ShmSlot

    with RuntimeProcess() as first:
        client = RuntimeClient(first.endpoint, first.token)
        client.connect()
        client.bind(64, 64)
        dead_pid = first.pid
        first.stop(signal.SIGKILL)
        client.close()
        assert held_slots(dead_pid) == []
        # a named segment of the dead runtime, as an older runtime would have left it
        legacy = f"/lsd-{dead_pid}-s1-0000-g1-in-0"
        fd = os.open("/dev/shm" + legacy, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.close(fd)
        try:
            with RuntimeProcess(state_dir=first.state_dir) as second:
                assert not os.path.exists("/dev/shm" + legacy)
                assert "removed 1 shared-memory segments" in second.log()
        finally:
            with contextlib.suppress(FileNotFoundError):
                ShmSlot.unlink_name(legacy)


def test_client_learns_its_session_is_gone_from_no_session():
    """A runtime restarted on the same endpoint: the old socket reconnects silently."""
    # a long timeout, so the client waits out the restart instead of giving up on silence
    with RuntimeProcess(args=["--timeout-ms", "20000"]) as first:
        endpoint, state_dir = first.endpoint, first.state_dir
        client = RuntimeClient(first.endpoint, first.token)
        client.connect()
        first.stop(signal.SIGKILL)
        with (
            RuntimeProcess(endpoint=endpoint, state_dir=state_dir),
            pytest.raises(RuntimeGone, match="no longer has this session"),
        ):
            client.receive(timeout=15)
        client.close()


def test_client_close_returns_promptly_even_when_the_runtime_is_frozen():
    """close() says bye and stops its I/O thread within its bounds; it never waits on ZeroMQ
    (the I/O thread owns its own context), so a frozen runtime cannot hold the game up."""
    from lsd_runtime.client.runtime_client import BYE_WAIT_S, IO_JOIN_S

    with RuntimeProcess() as rt:
        client = RuntimeClient(rt.endpoint, rt.token)
        client.connect()
        client.bind(64, 64, "rgba8")
        os.kill(rt.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            client.close()
            elapsed = time.monotonic() - t0
        finally:
            os.kill(rt.pid, signal.SIGCONT)
        assert elapsed < BYE_WAIT_S + IO_JOIN_S, elapsed
        assert not client._io.is_alive()


def test_server_shutdown_is_safe_with_a_worker_still_busy(monkeypatch, tmp_path):
    """A session worker stuck in its backend cannot hold shutdown up: the ROUTER is the
    context's only socket, so the context closes; the worker finishes later, harmlessly."""
    import threading

    from lsd_runtime import backends
    from lsd_runtime.server import router
    from lsd_runtime.server.config import ServerConfig
    from support.fake_sender import HeldBackend

    monkeypatch.setitem(backends._REGISTRY, "held", HeldBackend)
    monkeypatch.setitem(backends._REQUIRES, "held", ())
    monkeypatch.setattr(router, "WORKER_JOIN_S", 0.3)
    HeldBackend.instances.clear()
    server = router.RuntimeServer(ServerConfig(endpoint="tcp://127.0.0.1:0", state_dir=tmp_path))
    loop = threading.Thread(target=server.serve_forever, daemon=True)
    loop.start()
    client = RuntimeClient(server.endpoint, server.token)
    client.connect()
    client.bind(16, 16, "rgba8")
    client.set_style(backend="held")
    client.submit(np.zeros((16, 16, 4), np.uint8))
    held = HeldBackend.instances[-1]
    assert held.started.acquire(timeout=10)  # the worker is inside process() and stays there
    t0 = time.monotonic()
    server.stop()
    loop.join(5)
    assert not loop.is_alive() and time.monotonic() - t0 < 3.0
    held.release()  # the worker finishes after shutdown: nothing to wake, nothing raised
    session = next(iter(server.dispatcher.sessions.values()), None)
    assert session is None
    client.close()
