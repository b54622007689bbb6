"""The runtime's ZeroMQ ROUTER server: sessions, validation, heartbeats, clean-up.

One I/O thread owns the ROUTER socket. Session worker threads hand their replies to it
through a queue and an inproc wake-up socket, so no ZeroMQ socket is shared between
threads. Nothing a client sends can stop the loop: every failure becomes an ``error``
reply to that client alone.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import queue
import secrets
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import torch
import zmq

from . import __version__, protocol
from .backends import available_backends
from .backends.effects import EFFECTS
from .protocol import ErrorCode, ProtocolError
from .session import Session
from .shm_transport import ShmSlot, list_segments
from .state_file import RuntimeInfo, default_state_dir, new_token, remove_state, write_state

DEFAULT_ENDPOINT = "tcp://127.0.0.1:7788"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


@dataclass
class ServerConfig:
    endpoint: str = DEFAULT_ENDPOINT
    state_dir: Path = field(default_factory=default_state_dir)
    heartbeat_ms: int = 500
    timeout_ms: int = 2000
    max_sessions: int = 16
    device: str = "cpu"
    allow_remote: bool = False
    threads: int = 1  # torch CPU threads; 0 keeps torch's default
    curve: bool = False  # encrypt with CURVE (always on for non-loopback endpoints)


def supported_transports() -> list[str]:
    return ["shm", "inline"]


def check_endpoint(endpoint: str, allow_remote: bool) -> bool:
    """Validate an endpoint; returns True when it is reachable from other machines."""
    if endpoint.startswith("ipc://"):
        if os.name == "nt":
            raise ValueError("ipc:// endpoints are not available on Windows; use tcp://127.0.0.1:PORT")
        return False
    if not endpoint.startswith("tcp://"):
        raise ValueError(f"endpoint '{endpoint}' must start with tcp:// or ipc://")
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0]
    if host in LOOPBACK_HOSTS:
        return False
    if not allow_remote:
        raise ValueError(f"refusing to listen on '{host}': only loopback addresses are allowed "
                         "unless --allow-remote is given (the link is then encrypted with CURVE)")
    return True


class ProcessWatch:
    """Tells whether the process a client named in ``hello`` is still alive."""

    def __init__(self, pid: int):
        self.pid = pid
        try:
            self._proc: psutil.Process | None = psutil.Process(pid)
        except (psutil.Error, ValueError):
            self._proc = None  # not visible from here (another namespace): rely on heartbeats

    def alive(self) -> bool:
        if self._proc is None:
            return True
        try:
            return self._proc.is_running() and self._proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True


class RuntimeServer:
    def __init__(self, config: ServerConfig):
        remote = check_endpoint(config.endpoint, config.allow_remote)
        self.config = config
        self.token = new_token()
        self.device = torch.device(config.device)
        self._ctx = zmq.Context()
        self._router = self._ctx.socket(zmq.ROUTER)
        self._router.setsockopt(zmq.LINGER, 0)
        self._router.setsockopt(zmq.SNDHWM, 10000)
        self._router.setsockopt(zmq.RCVHWM, 10000)
        self.server_key = ""
        if remote or config.curve:
            if not zmq.has("curve"):
                raise ValueError("this libzmq has no CURVE support; a remote endpoint needs it")
            public, secret = zmq.curve_keypair()
            self._router.curve_secretkey = secret
            self._router.curve_publickey = public
            self._router.curve_server = True
            self.server_key = public.decode()
        self._router.bind(config.endpoint)
        self.endpoint = self._router.getsockopt(zmq.LAST_ENDPOINT).decode()
        self._wake_addr = f"inproc://lsd-wake-{id(self)}"
        self._wake_rx = self._ctx.socket(zmq.PULL)
        self._wake_rx.bind(self._wake_addr)
        self._wake_tx = self._ctx.socket(zmq.PUSH)
        self._wake_tx.connect(self._wake_addr)
        self._wake_lock = threading.Lock()
        self._outbox: queue.SimpleQueue[tuple[bytes, bytes]] = queue.SimpleQueue()
        self.sessions: dict[bytes, Session] = {}
        self._watches: dict[bytes, ProcessWatch] = {}
        self._counter = 0
        self._stop = threading.Event()
        self._closed = False
        self.state_path: Path | None = None
        self._io_ident = threading.get_ident()

    # --- lifecycle -------------------------------------------------------------------

    def publish(self) -> Path:
        """Write the state file that clients discover the endpoint and token from."""
        info = RuntimeInfo(self.endpoint, self.token, os.getpid(), __version__, self.server_key)
        self.state_path = write_state(self.config.state_dir, info)
        return self.state_path

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())

    def stop(self) -> None:
        self._stop.set()

    def serve_forever(self) -> None:
        self._io_ident = threading.get_ident()
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._wake_rx, zmq.POLLIN)
        next_reap = time.monotonic()
        try:
            while not self._stop.is_set():
                events = dict(poller.poll(50))
                if self._wake_rx in events:
                    while self._wake_rx.poll(0):
                        self._wake_rx.recv()
                self._flush_outbox()
                if self._router in events:
                    for _ in range(256):  # bounded so housekeeping still runs under load
                        try:
                            frames = self._router.recv_multipart(zmq.NOBLOCK, copy=True)
                        except zmq.Again:
                            break
                        self._on_frames(frames)
                    self._flush_outbox()
                now = time.monotonic()
                if now >= next_reap:
                    self._reap(now)
                    next_reap = now + 0.1
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        closing = list(self.sessions.values())
        for session in closing:
            with contextlib.suppress(zmq.ZMQError):
                self._send_now(session.identity, protocol.make("bye", 0, reason="runtime shutting down"))
            self._close_session(session.identity, "closing")
        for session in closing:  # let workers finish the frame in hand before memory goes
            session.join(2.0)
        self._flush_outbox()
        if self.state_path is not None:
            remove_state(self.config.state_dir, os.getpid())
        for sock in (self._router, self._wake_rx, self._wake_tx):
            sock.close(0)
        self._ctx.term()

    # --- sending ---------------------------------------------------------------------

    def _send(self, identity: bytes, msg: dict[str, Any]) -> None:
        """Thread-safe: queue a reply for the I/O thread and wake it."""
        self._outbox.put((identity, protocol.encode(msg)))
        if threading.get_ident() != self._io_ident:
            with self._wake_lock:
                if not self._closed:
                    self._wake_tx.send(b"", zmq.NOBLOCK)

    def _send_now(self, identity: bytes, msg: dict[str, Any]) -> None:
        self._router.send_multipart([identity, protocol.encode(msg)], zmq.NOBLOCK)

    def _flush_outbox(self) -> None:
        while True:
            try:
                identity, payload = self._outbox.get_nowait()
            except queue.Empty:
                return
            # a peer gone or its queue full: drop the reply; the heartbeat reaper will notice
            with contextlib.suppress(zmq.ZMQError):
                self._router.send_multipart([identity, payload], zmq.NOBLOCK)

    # --- receiving -------------------------------------------------------------------

    def _on_frames(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            if len(frames) > 2:  # a DEALER sent a multi-part message
                self._send(frames[0], protocol.error_message(ProtocolError(
                    ErrorCode.MALFORMED, f"expected one frame per message, got {len(frames) - 1}")))
            return
        identity, payload = frames
        session = self.sessions.get(identity)
        if session is not None:
            session.last_seen = time.monotonic()
        limit = protocol.MAX_MESSAGE_BYTES
        b = session.binding if session is not None else None
        if b is not None and session.transport == "inline":
            limit += b.inputs.spec.size
        obj: Any = None
        try:
            obj = protocol.unpack_raw(payload, limit)
            msg = protocol.validate(obj, "client")
            data = msg.get("data") if msg["t"] == "frame" else None
            if data is None and len(payload) > protocol.MAX_MESSAGE_BYTES:
                raise ProtocolError(ErrorCode.TOO_LARGE, f"message is {len(payload)} bytes; the limit "
                                                         f"is {protocol.MAX_MESSAGE_BYTES}",
                                    msg["t"], msg["id"])
            self._dispatch(identity, session, msg, data)
        except ProtocolError as err:
            if session is not None:
                session.count_error()
            self._send(identity, protocol.error_message(err))
        except Exception as exc:  # a bug must not take the runtime down
            traceback.print_exc()
            rid = obj.get("id", 0) if isinstance(obj, dict) else 0
            if not (isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= protocol.MAX_ID):
                rid = 0
            self._send(identity, protocol.make("error", rid, code=ErrorCode.INTERNAL.value,
                                               message=f"internal error: {exc}", ref=""))

    def _dispatch(self, identity: bytes, session: Session | None, msg: dict[str, Any],
                  data: bytes | None) -> None:
        t, rid = msg["t"], msg["id"]
        if t == "hello":
            self._on_hello(identity, session, msg)
            return
        if session is None:
            # a ping too: after a runtime restart on the same port ZeroMQ reconnects the old
            # socket silently, and this is how its client learns the session is gone
            raise ProtocolError(ErrorCode.NO_SESSION, f"'{t}' without a session: say hello with the "
                                                      "token first (the runtime may have restarted)", t, rid)
        if t == "ping":
            self._send(identity, protocol.make("pong", rid, time=float(msg["time"])))
            return
        if t == "frame":
            session.on_frame(msg, data)
        elif t == "release":
            session.on_release(msg)
        elif t == "bind":
            if msg["transport"] != session.transport:
                raise ProtocolError(ErrorCode.TRANSPORT_UNAVAILABLE,
                                    f"this session negotiated '{session.transport}', not "
                                    f"'{msg['transport'][:32]}'", t, rid)
            session.on_bind(msg)
        elif t == "set_style":
            session.on_set_style(msg)
        elif t == "get_stats":
            self._send(identity, protocol.make("stats", rid, **session.stats()))
        elif t == "pong":
            pass
        elif t == "bye":
            self._send(identity, protocol.make("bye", rid, reason="goodbye"))
            self._close_session(identity, "closing")

    def _on_hello(self, identity: bytes, session: Session | None, msg: dict[str, Any]) -> None:
        rid = msg["id"]
        if session is not None:
            raise ProtocolError(ErrorCode.ALREADY_OPEN, f"this socket already has session {session.id}",
                                "hello", rid)
        if not hmac.compare_digest(msg["token"].encode("utf-8", "surrogatepass"), self.token.encode()):
            raise ProtocolError(ErrorCode.AUTH_FAILED, "wrong session token (read it from the runtime's "
                                                       "runtime.json)", "hello", rid)
        offered = supported_transports()
        chosen = next((t for t in msg["transports"] if t in offered), None)
        if chosen is None:
            raise ProtocolError(ErrorCode.TRANSPORT_UNAVAILABLE,
                                f"none of the client's transports ({', '.join(msg['transports'])[:100]}) "
                                f"is available; the runtime offers {', '.join(offered)}", "hello", rid)
        if len(self.sessions) >= self.config.max_sessions:
            raise ProtocolError(ErrorCode.BUSY, f"the runtime already serves {len(self.sessions)} sessions "
                                                f"(--max-sessions)", "hello", rid)
        self._counter += 1
        sid = f"s{self._counter}-{secrets.token_hex(2)}"
        session = Session(sid, identity, self._send, device=self.device,
                          name_prefix=f"/lsd-{os.getpid()}-{sid}", transport=chosen)
        self.sessions[identity] = session
        if msg.get("pid"):
            self._watches[identity] = ProcessWatch(msg["pid"])
        self._send(identity, protocol.make(
            "welcome", rid, session=sid, server=f"lsd-runtime/{__version__}", transport=chosen,
            transports=offered, backends=available_backends(), styles=list(EFFECTS),
            heartbeat_ms=self.config.heartbeat_ms, timeout_ms=self.config.timeout_ms,
            max_message=protocol.MAX_MESSAGE_BYTES))

    # --- housekeeping ----------------------------------------------------------------

    def _close_session(self, identity: bytes, reason: str) -> None:
        session = self.sessions.pop(identity, None)
        self._watches.pop(identity, None)
        if session is not None:
            session.close(reason)

    def _reap(self, now: float) -> None:
        timeout = self.config.timeout_ms / 1000.0
        for identity, session in list(self.sessions.items()):
            watch = self._watches.get(identity)
            if watch is not None and not watch.alive():
                self._close_session(identity, "closing")
            elif now - session.last_seen > timeout:
                self._send(identity, protocol.make("bye", 0, reason="heartbeat timeout"))
                self._close_session(identity, "closing")


def sweep_stale_segments() -> list[str]:
    """Unlink slot segments left by runtimes that died without cleaning up (SIGKILL, crash).

    Segment names start with ``lsd-<pid>-``; only those of processes that no longer exist
    are removed (and only ours can be: they are owner-only).
    """
    removed = []
    for name in list_segments("lsd-"):
        pid_text = name[len("/lsd-"):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or psutil.pid_exists(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            ShmSlot.unlink_name(name)
            removed.append(name)
    return removed


def serve(config: ServerConfig) -> None:
    if config.threads > 0:
        # CPU backends run single-threaded per session by default: the game keeps its cores,
        # sessions run in parallel, and small frames avoid thread hand-off stalls
        torch.set_num_threads(config.threads)
    stale = sweep_stale_segments()
    if stale:
        print(f"lsd-runtime: removed {len(stale)} shared-memory segments left by runtimes that died",
              flush=True)
    server = RuntimeServer(config)
    server.publish()
    if threading.current_thread() is threading.main_thread():
        server.install_signal_handlers()
    server.serve_forever()
