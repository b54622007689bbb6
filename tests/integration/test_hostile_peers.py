"""What one misbehaving local process can do to the runtime, and what it cannot.

Each test runs the attack against a real runtime process while a healthy session streams
exact frames beside it, then checks that the runtime is alive, the healthy session was never
disturbed, nothing leaked (slot memory, descriptors, memory), and the attacker got a clear
answer. SECURITY.md lists the threat model these tests stand for.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psutil
import pytest
import zmq

from lsd_runtime import protocol
from lsd_runtime.client import RuntimeClient
from lsd_runtime.server.state_file import (
    RuntimeInfo,
    StateDirError,
    check_state_dir,
    read_state,
    write_state,
)
from lsd_runtime.tools.runtime_process import RuntimeProcess
from lsd_runtime.tools.scene import render
from lsd_runtime.transport.shm import MEMFD_PATH, SHM_KINDS
from support.slots import held_slots, slot_ids, slots_alive

LINUX = sys.platform.startswith("linux")
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
RING = {"width": 64, "height": 48, "format": "rgba8"}


class Healthy:
    """A session streaming identity frames in a thread, checking every one is exact."""

    def __init__(self, runtime: RuntimeProcess):
        self.client = RuntimeClient(runtime.endpoint, runtime.token, name="healthy")
        self.client.connect()
        self.client.bind(64, 48, "rgba8")
        self.client.set_style(style="identity")
        self.frames = 0
        self.bad: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="healthy-session")

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            image = render(i % 8, 64, 48)
            try:
                out = self.client.process(image, timeout=10)
            except Exception as exc:  # any failure is the test's failure
                self.bad.append(f"frame {i}: {exc!r}")
                return
            if not np.array_equal(out, image):
                self.bad.append(f"frame {i} differs")
            self.frames += 1
            i += 1

    def __enter__(self) -> Healthy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(20)
        self.client.close()
        assert not self._thread.is_alive()
        assert self.bad == [], self.bad
        assert self.frames > 0, "the healthy session never streamed"


@contextmanager
def dealer(endpoint: str, routing_id: bytes | None = None) -> Iterator[zmq.Socket]:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    if routing_id is not None:
        sock.setsockopt(zmq.ROUTING_ID, routing_id)
    sock.connect(endpoint)
    try:
        yield sock
    finally:
        sock.close(0)
        ctx.term()


def ask(sock: zmq.Socket, t: str, rid: int, timeout_ms: int = 5000, **fields: object) -> dict:
    sock.send(protocol.pack(t, rid, **fields))
    assert sock.poll(timeout_ms), f"no answer to {t}"
    return protocol.decode(sock.recv(), "runtime", max_bytes=1 << 30)  # not a protocol limit


def ask_until_answered(sock: zmq.Socket, t: str, rid: int, limit_s: float = 10.0, **fields: object) -> dict:
    """``ask``, sending again until answered: a connection that takes a routing id just freed
    can be refused by ZeroMQ while the old one is still being torn down (its message is then
    lost, and the DEALER reconnects by itself)."""
    deadline = time.monotonic() + limit_s
    while True:
        sock.send(protocol.pack(t, rid, **fields))
        if sock.poll(500):
            return protocol.decode(sock.recv(), "runtime", max_bytes=1 << 30)  # not a protocol limit
        assert time.monotonic() < deadline, f"no answer to {t}"


def open_session(sock: zmq.Socket, token: str) -> dict:
    welcome = ask(sock, "hello", 1, token=token, client="attacker/1", transports=["shm"], shm=SHM_KINDS)
    assert welcome["t"] == "welcome", welcome
    return welcome


def fds(pid: int) -> int:
    return psutil.Process(pid).num_fds()


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


@pytest.fixture
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess() as rt:
        yield rt
        assert rt.alive(), f"the runtime died:\n{rt.log()}"


# --- 1. shrinking slot memory after bind ----------------------------------------------


@pytest.mark.skipif(not LINUX, reason="sealed memfd slots are the Linux transport")
def test_a_client_cannot_shrink_its_slots_and_the_runtime_survives_trying(runtime):
    base_fds, base_rss = fds(runtime.pid), rss_mb(runtime.pid)
    with Healthy(runtime), dealer(runtime.endpoint) as sock:
        open_session(sock, runtime.token)
        bound = ask(sock, "bind", 2, transport="shm", input=RING, output=RING)
        names = bound["input"]["names"] + bound["output"]["names"]
        assert all(MEMFD_PATH.fullmatch(n) for n in names)
        for name in names:
            fd = os.open(name, os.O_RDWR)
            try:
                for size in (0, bound["input"]["size"] // 2, bound["input"]["size"] * 2):
                    with pytest.raises(PermissionError):
                        os.ftruncate(fd, size)  # F_SEAL_SHRINK / F_SEAL_GROW
            finally:
                os.close(fd)
            with pytest.raises(PermissionError):
                os.close(os.open(name, os.O_RDWR | os.O_TRUNC))  # the same through another door
        # punching a hole is allowed (it cannot fault anyone): the runtime reads zeros there
        fd = os.open(names[0], os.O_RDWR)
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            punch = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
            assert libc.fallocate(fd, punch, ctypes.c_long(0), ctypes.c_long(bound["input"]["size"])) == 0
        finally:
            os.close(fd)
        for k in range(20):
            done = ask(sock, "frame", 10 + k, slot=0, time=float(k), release=[] if k == 0 else [0])
            assert done["t"] == "frame_done", done
        ids = slot_ids(names)
    deadline = time.monotonic() + 2
    while slots_alive(runtime.pid, ids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert runtime.alive()
    assert slots_alive(runtime.pid, ids) == []  # the attacker's slots went with its connection
    assert fds(runtime.pid) <= base_fds + 2
    assert rss_mb(runtime.pid) - base_rss < 20


# --- 2. more slot memory than there is --------------------------------------------------


def test_binds_beyond_the_slot_memory_cap_are_refused_and_nothing_changes():
    with RuntimeProcess(args=["--max-slot-memory", "48"]) as rt, Healthy(rt):
        big = {"width": 2048, "height": 1024, "format": "rgba8", "slots": 2}  # 32 MiB: not a protocol limit
        with dealer(rt.endpoint) as first, dealer(rt.endpoint) as second:
            open_session(first, rt.token)
            assert ask(first, "bind", 2, transport="shm", input=big, output=big)["t"] == "bound"
            open_session(second, rt.token)
            refused = ask(second, "bind", 2, transport="shm", input=big, output=big)
            assert refused["t"] == "error" and refused["code"] == "no_memory", refused
            assert (
                "32.0 MiB" in refused["message"] and "15.9 MiB of the 48.0 MiB" in refused["message"]
            )  # the healthy session has the rest
            small = ask(second, "bind", 3, transport="shm", input=RING, output=RING)
            assert small["t"] == "bound"  # what fits still binds
            ask(first, "bye", 9)
            time.sleep(0.3)
            again = ask(second, "bind", 4, transport="shm", input=big, output=big)
            assert again["t"] == "bound", again  # the memory came back with the first session
        assert rt.alive()


# --- 4. the state directory ----------------------------------------------------------


def test_a_state_directory_writable_by_others_is_refused(tmp_path: Path):
    shared = tmp_path / "lsd"
    shared.mkdir()
    shared.chmod(0o777)
    proc = subprocess.run(
        [sys.executable, "-m", "lsd_runtime", "serve", "--state-dir", str(shared)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "writable by others" in proc.stderr and "chmod 700" in proc.stderr, proc.stderr
    assert not (shared / "runtime.json").exists()
    with pytest.raises(StateDirError, match="writable by others"):
        read_state(shared)


@pytest.mark.skipif(not ROOT, reason="making a directory of another user needs root (CI runs as root)")
def test_a_state_directory_of_another_user_is_refused_by_runtime_and_clients(tmp_path: Path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    (theirs / "runtime.json").write_text('{"endpoint": "tcp://127.0.0.1:9", "token": "x", "pid": 1}')
    (theirs / "runtime.json").chmod(0o600)
    os.chown(theirs / "runtime.json", 65534, 65534)
    os.chown(theirs, 65534, 65534)
    proc = subprocess.run(
        [sys.executable, "-m", "lsd_runtime", "serve", "--state-dir", str(theirs)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "belongs to uid 65534" in proc.stderr, proc.stderr
    with pytest.raises(StateDirError, match="belongs to uid 65534"):
        RuntimeClient(state_dir=theirs)
    # our own directory, but a runtime.json someone else planted (or made readable)
    mine = tmp_path / "mine"
    check_state_dir(mine, create=True)
    planted = mine / "runtime.json"
    planted.write_text('{"endpoint": "tcp://127.0.0.1:9", "token": "x", "pid": 1}')
    planted.chmod(0o644)
    with pytest.raises(StateDirError, match="open to others"):
        read_state(mine)
    planted.chmod(0o600)
    os.chown(planted, 65534, 65534)
    with pytest.raises(StateDirError, match="not a file of this user's"):
        read_state(mine)


def test_the_state_file_is_written_without_following_links(tmp_path: Path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    state = tmp_path / "state"
    check_state_dir(state, create=True)
    (state / "runtime.json").symlink_to(victim)
    write_state(state, RuntimeInfo("ipc:///x", "t" * 64, os.getpid(), "0"))
    assert victim.read_text() == "precious"  # the link was replaced, not followed
    assert not (state / "runtime.json").is_symlink()
    assert stat.S_IMODE((state / "runtime.json").stat().st_mode) == 0o600
    assert [p.name for p in state.iterdir()] == ["runtime.json"]  # no temporary file left
    (state / "runtime.json").unlink()
    (state / "runtime.json").symlink_to(victim)
    with pytest.raises(StateDirError, match="is a link"):
        read_state(state)


def test_by_default_the_runtime_listens_on_a_socket_only_its_user_can_reach(tmp_path: Path):
    state = tmp_path / "home"
    with RuntimeProcess(endpoint=None, state_dir=state) as rt:
        assert rt.endpoint == f"ipc://{state}/runtime.sock"
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        with RuntimeClient(state_dir=state) as client:
            client.bind(64, 48)
            client.set_style(style="identity")
            image = render(1, 64, 48)
            assert np.array_equal(client.process(image), image)
        second = subprocess.run(
            [sys.executable, "-m", "lsd_runtime", "serve", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0 and f"pid {rt.pid}" in second.stderr, second.stderr
        assert rt.alive() and read_state(state).pid == rt.pid  # the first runtime keeps its socket


def test_two_runtimes_started_together_in_one_state_directory_leave_one(tmp_path: Path):
    state = tmp_path / "together"
    cmd = [sys.executable, "-m", "lsd_runtime", "serve", "--state-dir", str(state)]
    check_state_dir(state, create=True)
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and all(p.poll() is None for p in procs):
            time.sleep(0.1)
        exited = [p for p in procs if p.poll() is not None]
        assert len(exited) == 1 and exited[0].returncode != 0
        assert "already serves" in exited[0].stderr.read()
        survivor = next(p for p in procs if p.poll() is None)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (state / "runtime.json").exists():
            time.sleep(0.1)
        assert read_state(state).pid == survivor.pid
        with RuntimeClient(state_dir=state) as client:
            assert client.ping() < 1000
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)


# --- 6. huge messages from peers that never said hello ---------------------------------


def test_huge_messages_are_refused_before_they_are_buffered(runtime):
    rss_before, fds_before = rss_mb(runtime.pid), fds(runtime.pid)
    blob = b"\0" * (100 << 20)
    with Healthy(runtime):
        for _ in range(5):
            with dealer(runtime.endpoint) as sock:
                sock.send(blob)
                assert not sock.poll(300)  # no answer: libzmq dropped the peer at the size header
        with dealer(runtime.endpoint) as sock:  # a peer that behaves is still served
            assert open_session(sock, runtime.token)["t"] == "welcome"
    grown = rss_mb(runtime.pid) - rss_before
    assert grown < 50, f"the runtime's memory grew {grown:.0f} MiB for five 100 MiB messages"
    # the refused peers' connections are gone (libzmq disconnects a peer at the size header:
    # there is no reply to send it, since its message was never read)
    assert fds(runtime.pid) <= fds_before + 2


def test_an_oversized_control_message_gets_a_clear_error_where_the_socket_lets_it_in():
    """With inline frames allowed the socket must take large messages, so the runtime reads an
    oversized control message and answers too_large; the session goes on. (Without inline,
    libzmq refuses it unread and closes that connection, as above.)"""
    with RuntimeProcess(args=["--inline"]) as rt, Healthy(rt), dealer(rt.endpoint) as sock:
        open_session(sock, rt.token)
        big = ask(sock, "set_style", 2, prompt="x" * 1000, params={"pad": "y" * 70_000})
        assert (big["t"], big["code"]) == ("error", "too_large"), big
        assert f"the limit is {protocol.MAX_MESSAGE_BYTES}" in big["message"]
        assert ask(sock, "get_stats", 3)["t"] == "stats"  # the session goes on


# --- 7. floods of idle connections ---------------------------------------------------


def test_a_flood_of_idle_connections_does_not_lock_out_a_real_client(runtime):
    import resource

    rss_before = rss_mb(runtime.pid)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (min(hard, 1 << 12), hard)
    )  # descriptors: not a protocol limit
    host, port = runtime.endpoint[len("tcp://") :].rsplit(":", 1)
    idle: list[socket.socket] = []
    try:
        healthy = Healthy(runtime)
        healthy.__enter__()
        for _ in range(1100):
            s = socket.create_connection((host, int(port)))  # never speaks ZeroMQ
            idle.append(s)
        t0 = time.monotonic()
        with RuntimeClient(runtime.endpoint, runtime.token, timeout=10) as client:
            client.bind(64, 48)
            client.set_style(style="identity")
            image = render(2, 64, 48)
            assert np.array_equal(client.process(image), image)
        assert time.monotonic() - t0 < 10
        # the runtime drops connections that never finish the handshake
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and fds(runtime.pid) > 600:
            time.sleep(0.2)
        assert fds(runtime.pid) < 600, fds(runtime.pid)
        healthy.__exit__(None, None, None)  # streamed exact frames throughout
        assert rss_mb(runtime.pid) - rss_before < 30
    finally:
        for s in idle:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- 8. taking over a session by its routing id ----------------------------------------


def test_a_session_cannot_be_taken_over_by_reusing_its_routing_id(runtime):
    with Healthy(runtime):
        with dealer(runtime.endpoint, routing_id=b"victim-0001") as victim:
            open_session(victim, runtime.token)
            bound = ask(victim, "bind", 2, transport="shm", input=RING, output=RING)
            ids = slot_ids(bound["input"]["names"] + bound["output"]["names"])
            assert slots_alive(runtime.pid, ids) == ids
        # the victim's connection closed: its session ends now, not at the heartbeat timeout
        t0 = time.monotonic()
        while slots_alive(runtime.pid, ids) and time.monotonic() < t0 + 1.0:
            time.sleep(0.02)
        assert slots_alive(runtime.pid, ids) == []
        assert time.monotonic() - t0 < 1.0  # far less than the 2 s heartbeat timeout
        with dealer(runtime.endpoint, routing_id=b"victim-0001") as attacker:
            for t, fields in (
                ("get_stats", {}),
                ("frame", {"slot": 0, "time": 0.0}),
                ("bind", {"transport": "shm", "input": RING, "output": RING}),
            ):
                reply = ask_until_answered(attacker, t, 5, **fields)
                assert reply["t"] == "error" and reply["code"] == "no_session", reply


# --- 9. squatting slot names ---------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="on Linux slots have no names to squat")
def test_pre_created_segment_names_cannot_make_binds_fail(runtime):
    squatted = []
    try:
        for k in range(64):  # every name an older runtime would have used next, and more
            name = f"/dev/shm/lsd-{runtime.pid}-s{k}-0000-g1-in-0"
            with open(name, "wb"):
                pass
            squatted.append(name)
        with RuntimeClient(runtime.endpoint, runtime.token) as client:
            for _ in range(3):
                bound = client.bind(64, 48)
                assert all(MEMFD_PATH.fullmatch(n) for n in bound["input"]["names"])
    finally:
        for name in squatted:
            try:
                os.unlink(name)
            except OSError as exc:
                assert exc.errno == errno.ENOENT


def test_the_runtime_holds_no_slot_memory_once_the_sessions_are_gone(runtime):
    with RuntimeClient(runtime.endpoint, runtime.token) as client:
        client.bind(64, 48)
        assert held_slots(runtime.pid)
    deadline = time.monotonic() + 2
    while held_slots(runtime.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert held_slots(runtime.pid) == []
