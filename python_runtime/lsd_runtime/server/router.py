"""The runtime's ZeroMQ ROUTER loop: the one thread that owns a ZeroMQ socket.

The I/O thread receives client messages and hands them to the ``Dispatcher`` (the protocol
logic, transport-free), and sends every reply. Session workers never touch ZeroMQ: they
queue replies in an outbox and wake the I/O thread through a ``Waker`` (a plain socket
pair it polls), so no ZeroMQ socket is shared between threads. Shutdown is safe however
long a worker takes: the context only holds the ROUTER and its connection monitor, both
owned by the I/O thread, so closing them ends the context, and a worker that finishes later
finds the waker closed and its reply unread.
Nothing a client sends can stop the loop: every failure becomes an ``error`` reply to
that client alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

import torch
import zmq
from zmq.utils.monitor import recv_monitor_message

from .. import __version__, protocol
from .config import ServerConfig, check_config, check_endpoint, max_message_bytes, supported_transports
from .dispatch import Dispatcher
from .liveness import sweep_stale_segments
from .state_file import RuntimeInfo, StateDirLock, check_state_dir, new_token, remove_state, write_state
from .waker import Waker

log = logging.getLogger(__name__)

WORKER_JOIN_S = 2.0  # how long shutdown lets each session finish the frame in hand
HANDSHAKE_MS = 2000  # a connection that has not finished the ZeroMQ handshake by then is dropped
RCVHWM = 64  # messages queued per connection (64 KiB each at most): 4 MiB per peer
RCVHWM_INLINE = 8  # with inline frames (up to --max-inline-mb each) allowed
BYE_LINGER_MS = 100  # how long the closing ROUTER may take to deliver the last byes


class RuntimeServer:
    def __init__(self, config: ServerConfig):
        check_config(config)
        remote = check_endpoint(config.endpoint, config.allow_remote)
        self.config = config
        self.token = new_token()
        self._ctx = zmq.Context()
        self._router = self._ctx.socket(zmq.ROUTER)
        self._router.setsockopt(zmq.LINGER, 0)
        self._router.setsockopt(zmq.SNDHWM, 10000)
        # what a peer that never said hello can make the runtime hold: libzmq refuses (and
        # disconnects) a message over max_message_bytes before buffering it, queues at most
        # RCVHWM messages per connection (latest frame wins: a client needs only a few in
        # flight), and drops a connection that has not finished the handshake in HANDSHAKE_MS
        inline = "inline" in supported_transports(config)
        self._router.setsockopt(zmq.RCVHWM, RCVHWM_INLINE if inline else RCVHWM)
        self._router.setsockopt(zmq.MAXMSGSIZE, max_message_bytes(config))
        self._router.setsockopt(zmq.HANDSHAKE_IVL, HANDSHAKE_MS)
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
        self.endpoint = self._router.getsockopt_string(zmq.LAST_ENDPOINT)
        # connection events: a session ends when the connection that opened it closes
        self._monitor: zmq.Socket | None = self._router.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self._srcfd_seen = False
        self._waker = Waker()
        self._outbox: queue.SimpleQueue[tuple[bytes, bytes]] = queue.SimpleQueue()
        self.dispatcher = Dispatcher(config, self.token, self._send, torch.device(config.device))
        self._stop = threading.Event()
        self._closed = False
        self._publish_lock = threading.Lock()
        self.console: Any = None  # the web console, when serving one
        self.console_login = ""
        self.state_path: Path | None = None
        self._io_ident = threading.get_ident()

    @property
    def sessions(self) -> dict:
        return self.dispatcher.sessions

    # --- lifecycle -------------------------------------------------------------------

    def publish(self) -> Path:
        """Write the state file that clients discover the endpoint and token from (and, with
        the web console, its current login URL)."""
        with self._publish_lock:
            info = RuntimeInfo(
                self.endpoint, self.token, os.getpid(), __version__, self.server_key, self.console_login
            )
            self.state_path = write_state(self.config.state_dir, info)
            return self.state_path

    def start_console(self) -> str:
        """Serve the web console (``serve --web``); returns its first login URL."""
        from ..web.console import serve_console

        def publish(url: str) -> None:
            self.console_login = url
            if self.state_path is not None and not self._closed:
                self.publish()

        c = self.config
        self.console = serve_console(self.dispatcher, c.web_host, c.web_port, c.web_cert, c.web_key, publish)
        assert self.console.access is not None
        self.console_login = self.console.access.login_url
        return self.console_login

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    def stop(self) -> None:
        """Ask the loop to end (any thread, a signal handler too); it shuts down on its way out."""
        self._stop.set()
        self._waker.wake()

    def serve_forever(self) -> None:
        self._io_ident = threading.get_ident()
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._waker.fileno(), zmq.POLLIN)
        if self._monitor is not None:  # drained promptly: libzmq's I/O thread waits on a full monitor
            poller.register(self._monitor, zmq.POLLIN)
        next_reap = time.monotonic()
        try:
            while not self._stop.is_set():
                events = dict(poller.poll(50))
                if self._waker.fileno() in events:
                    self._waker.drain()
                self._flush_outbox()
                self._drain_monitor()
                if self._router in events:
                    for _ in range(256):  # bounded so housekeeping still runs under load
                        try:
                            frames = self._router.recv_multipart(zmq.NOBLOCK, copy=False)
                        except zmq.Again:
                            break
                        # a disconnect that happened before this message arrived is in the monitor's
                        # queue by now: handle it first, so a new connection that reuses the closed
                        # one's descriptor never meets the closed one's session
                        self._drain_monitor()
                        self._on_frames(frames)
                    self._flush_outbox()
                now = time.monotonic()
                if now >= next_reap:
                    self.dispatcher.reap(now)
                    next_reap = now + 0.1
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Close every session, let their workers finish the frame in hand (bounded), say bye,
        remove the state file, then close the ROUTER and the context. Call from the I/O
        thread (serve_forever does, on its way out) or when the loop never ran."""
        if self._closed:
            return
        self._closed = True
        if self.console is not None:
            self.console.stop()
        closing = self.dispatcher.close_all()
        deadline = time.monotonic() + WORKER_JOIN_S
        for session in closing:  # let workers finish the frame in hand before memory goes
            session.join(max(0.0, deadline - time.monotonic()))
            if session.worker_alive():
                log.warning(
                    "session %s is still busy after %.1f s; shutting down without it",
                    session.id,
                    WORKER_JOIN_S,
                )
        self._flush_outbox()
        if self.state_path is not None:
            remove_state(self.config.state_dir, os.getpid())
        self._waker.close()  # a worker finishing later wakes nobody
        if self._monitor is not None:
            self._drain_monitor()  # never leave libzmq blocked on a full monitor while disabling it
            self._router.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None
        self._router.close(linger=BYE_LINGER_MS)
        self._ctx.term()  # the ROUTER was the context's only socket: this cannot wait on a worker

    # --- sending ---------------------------------------------------------------------

    def _send(self, identity: bytes, msg: dict[str, Any]) -> None:
        """Thread-safe: queue a reply for the I/O thread and wake it."""
        self._outbox.put((identity, protocol.encode(msg)))
        if threading.get_ident() != self._io_ident:
            self._waker.wake()

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

    def _on_frames(self, frames: list[zmq.Frame]) -> None:
        identity = frames[0].bytes
        if len(frames) == 2:
            conn = _connection_of(frames[1])
            if conn is None and not self._srcfd_seen:
                self._srcfd_seen = True  # once: sessions then follow routing ids alone
                log.warning("libzmq names no connection for messages here: sessions follow routing ids only")
            self.dispatcher.on_message(identity, frames[1].bytes, conn)
        elif len(frames) > 2:  # a DEALER sent a multi-part message
            self.dispatcher.reject_multipart(identity, len(frames) - 1)

    def _drain_monitor(self) -> None:
        monitor = self._monitor
        if monitor is None:
            return
        while True:
            try:
                event = recv_monitor_message(monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            if event["event"] == zmq.EVENT_DISCONNECTED:
                self.dispatcher.on_disconnect(int(event["value"]))


def _connection_of(frame: zmq.Frame) -> int | None:
    """The descriptor of the connection a message came on (libzmq's ZMQ_SRCFD)."""
    try:
        return int(frame.get(zmq.SRCFD))
    except (zmq.ZMQError, AttributeError, TypeError, ValueError):
        return None


def raise_descriptor_limit() -> int:
    """Lift this process's open-file limit to its hard limit (POSIX): each client connection
    and slot takes descriptors, and a flood of idle connections must not use them all up."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def serve(config: ServerConfig) -> None:
    if config.threads > 0:
        # CPU backends run single-threaded per session by default: the game keeps its cores,
        # sessions run in parallel, and small frames avoid thread hand-off stalls
        torch.set_num_threads(config.threads)
        from ..backends import effects_cpu  # the effects' CPU path: OpenCV, held to the same count

        if effects_cpu.AVAILABLE:
            effects_cpu.cv2.setNumThreads(config.threads)
    raise_descriptor_limit()
    check_state_dir(config.state_dir, create=True)
    lock = StateDirLock(config.state_dir)  # before the socket: a second runtime must not take it over
    try:
        _serve_locked(config)
    finally:
        lock.release()


def _serve_locked(config: ServerConfig) -> None:
    stale = sweep_stale_segments()
    if stale:
        log.info("removed %d shared-memory segments left by runtimes that died", len(stale))
    server = RuntimeServer(config)
    if config.web:
        url = server.start_console()
        log.info("web console: %s  (works once; `lsd-runtime console` prints a fresh one)", url)
    server.publish()
    if threading.current_thread() is threading.main_thread():
        server.install_signal_handlers()
    server.serve_forever()
