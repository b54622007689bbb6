"""Python client of the runtime (used by the tests, the demo, the bench and the SDK).

A background I/O thread owns the ZeroMQ DEALER socket: it sends what the caller queues,
answers and sends heartbeats, and sorts replies into request futures and a queue of
finished frames. Every public method is safe to call from any thread.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from . import __version__, protocol
from .pixel_formats import RingSpec, image_view
from .shm_transport import ShmSlot
from .state_file import read_state


class RuntimeReplyError(Exception):
    """The runtime answered with ``error``."""

    def __init__(self, code: str, message: str, ref: str = "", request_id: int = 0):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.ref = ref
        self.request_id = request_id


class RuntimeGone(ConnectionError):
    """The runtime stopped answering, or said bye."""


@dataclass
class FrameResult:
    frame_id: int
    image: np.ndarray | None  # image-order [H, W, 4]; None when dropped
    dropped: str = ""  # the drop reason, "" for a finished frame
    timings: dict[str, float] = field(default_factory=dict)
    time: float = 0.0
    round_trip_ms: float = 0.0  # submit → answer received by the client's I/O thread


@dataclass
class _Ring:
    spec: RingSpec
    slots: list[ShmSlot]

    def buffer(self, k: int) -> memoryview:
        return self.slots[k].buffer

    def close(self) -> None:
        for s in self.slots:
            s.close()


class RuntimeClient:
    def __init__(self, endpoint: str | None = None, token: str | None = None, *,
                 state_dir: Path | str | None = None, name: str = f"python/{__version__}",
                 transports: tuple[str, ...] = ("shm", "inline"), timeout: float = 10.0,
                 server_key: str = ""):
        if endpoint is None or token is None:
            info = read_state(Path(state_dir) if state_dir else None)
            endpoint, token = endpoint or info.endpoint, token or info.token
            server_key = server_key or info.server_key
        self._server_key = server_key
        self.endpoint = endpoint
        self._token = token
        self._name = name
        self._transports = list(transports)
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._ctx = zmq.Context()
        self._outq: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._wake_addr = f"inproc://lsd-client-{id(self)}"
        self._wake_rx = self._ctx.socket(zmq.PULL)
        self._wake_rx.bind(self._wake_addr)
        self._wake_tx = self._ctx.socket(zmq.PUSH)
        self._wake_tx.connect(self._wake_addr)
        self._lock = threading.Lock()
        self._futures: dict[int, Future[dict[str, Any]]] = {}
        self._results: queue.SimpleQueue[FrameResult | dict[str, Any]] = queue.SimpleQueue()
        self.errors: list[RuntimeReplyError] = []  # errors that answered no request
        self._submitted: dict[int, tuple[int, float]] = {}  # frame id -> (input slot, perf time)
        self._free_inputs: set[int] = set()
        self._slot_free = threading.Condition(self._lock)
        self._to_release: list[int] = []
        self._inputs: _Ring | None = None
        self._outputs: _Ring | None = None
        self.welcome: dict[str, Any] = {}
        self.transport = ""
        self.heartbeat_s = 0.5
        self.runtime_timeout_s = 2.0
        self._gone: str = ""
        self._stop = threading.Event()
        self._io = threading.Thread(target=self._io_loop, name="lsd-client-io", daemon=True)
        self._connected = False

    # --- lifecycle -------------------------------------------------------------------

    def connect(self) -> dict[str, Any]:
        if not self._connected:
            self._connected = True
            self._io.start()
        self.welcome = self.request("hello", token=self._token, client=self._name,
                                    transports=self._transports, pid=os.getpid())
        self.transport = self.welcome["transport"]
        self.heartbeat_s = self.welcome["heartbeat_ms"] / 1000.0
        self.runtime_timeout_s = self.welcome["timeout_ms"] / 1000.0
        return self.welcome

    def close(self) -> None:
        if self._connected and not self._gone and not self._stop.is_set():
            with contextlib.suppress(RuntimeGone, RuntimeReplyError, TimeoutError):
                self.request("bye", timeout=1.0)
        self._stop.set()
        if self._connected:
            self._io.join(2.0)
        self._unmap()
        self._wake_tx.close(0)
        self._wake_rx.close(0)
        self._ctx.term()

    def __enter__(self) -> RuntimeClient:
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- requests ----------------------------------------------------------------------

    def send(self, msg_type: str, request_id: int | None = None, **fields: Any) -> int:
        """Queue a message; returns its id."""
        rid = next(self._ids) if request_id is None else request_id
        if self._gone:
            raise RuntimeGone(self._gone)
        self._outq.put(protocol.pack(msg_type, rid, **fields))
        with self._lock:
            self._wake_tx.send(b"", zmq.NOBLOCK)
        return rid

    def request(self, msg_type: str, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """Send a request and wait for its reply (``error`` raises ``RuntimeReplyError``)."""
        rid = next(self._ids)
        fut: Future[dict[str, Any]] = Future()
        with self._lock:
            self._futures[rid] = fut
        self.send(msg_type, rid, **fields)
        try:
            return fut.result(self.timeout if timeout is None else timeout)
        except FutureTimeout:
            raise TimeoutError(f"no answer to '{msg_type}' within "
                               f"{self.timeout if timeout is None else timeout} s") from None
        finally:
            with self._lock:
                self._futures.pop(rid, None)

    def bind(self, width: int, height: int, fmt: str = "rgba8", *, out_width: int | None = None,
             out_height: int | None = None, out_format: str | None = None, pitch: int = 0,
             out_pitch: int = 0, bottom_up: bool = False, color: str | None = None,
             out_color: str | None = None, slots: int = 3, model_size: tuple[int, int] | None = None,
             ) -> dict[str, Any]:
        """Allocate the session's rings (re-binding frees the old ones)."""
        in_spec = RingSpec(width, height, fmt, pitch, bottom_up, color or "", slots)
        out_spec = RingSpec(out_width or width, out_height or height, out_format or fmt, out_pitch,
                            bottom_up, out_color or color or "", slots)
        fields: dict[str, Any] = {"transport": self.transport, "input": in_spec.to_message(),
                                  "output": out_spec.to_message()}
        if model_size is not None:
            fields["model_width"], fields["model_height"] = model_size
        bound = self.request("bind", **fields)
        self._unmap()
        in_spec = RingSpec(in_spec.width, in_spec.height, in_spec.format, bound["input"]["pitch"],
                           in_spec.bottom_up, in_spec.color, in_spec.slots)
        out_spec = RingSpec(out_spec.width, out_spec.height, out_spec.format, bound["output"]["pitch"],
                            out_spec.bottom_up, out_spec.color, out_spec.slots)
        with self._lock:
            self._inputs = self._map(in_spec, bound["input"])
            self._outputs = self._map(out_spec, bound["output"])
            self._free_inputs = set(range(in_spec.slots))
            self._submitted.clear()
            self._to_release.clear()
        return bound

    def set_style(self, backend: str = "effects", style: str | None = None, prompt: str | None = None,
                  strength: float | None = None, seed: int | None = None,
                  params: dict[str, Any] | None = None, timeout: float | None = None) -> dict[str, Any]:
        return self.request("set_style", timeout=timeout, backend=backend, style=style, prompt=prompt,
                            strength=strength, seed=seed, params=params)

    def stats(self) -> dict[str, Any]:
        return self.request("get_stats")

    def ping(self) -> float:
        """Round trip of a ping, in milliseconds."""
        t0 = time.perf_counter()
        self.request("ping", time=time.time())
        return (time.perf_counter() - t0) * 1e3

    # --- frames --------------------------------------------------------------------------

    @property
    def input_spec(self) -> RingSpec:
        if self._inputs is None:
            raise RuntimeError("bind() first")
        return self._inputs.spec

    @property
    def output_spec(self) -> RingSpec:
        if self._outputs is None:
            raise RuntimeError("bind() first")
        return self._outputs.spec

    def submit(self, image: np.ndarray, *, capture_time: float | None = None, flags: int = 0,
               wait: float = 0.0) -> int | None:
        """Write ``image`` (image order ``[H, W, 4]``) into a free input slot and send ``frame``.

        Returns the frame id, or None when no input slot came free within ``wait`` seconds.
        """
        spec = self.input_spec
        if image.shape != (spec.height, spec.width, 4):
            raise ValueError(f"frame is {image.shape}, the bound input is {(spec.height, spec.width, 4)}")
        deadline = time.monotonic() + wait
        with self._slot_free:
            while not self._free_inputs:
                left = deadline - time.monotonic()
                if left <= 0 or self._gone:
                    return None
                self._slot_free.wait(left)
            slot = min(self._free_inputs)
            self._free_inputs.discard(slot)
            release, self._to_release = self._to_release, []
            fid = next(self._ids)
            self._submitted[fid] = (slot, time.perf_counter())
        data = None
        if self.transport == "inline":
            buf = bytearray(spec.size)
            image_view(buf, spec)[...] = image
            data = bytes(buf)
        else:
            assert self._inputs is not None
            image_view(self._inputs.buffer(slot), spec)[...] = image
        self.send("frame", fid, slot=slot, time=time.time() if capture_time is None else capture_time,
                  flags=flags or None, release=release or None, data=data)
        return fid

    def receive(self, timeout: float | None = None) -> FrameResult:
        """The next finished or dropped frame; the output is copied and its slot handed back."""
        try:
            item = self._results.get(timeout=self.timeout if timeout is None else timeout)
        except queue.Empty:
            if self._gone:
                raise RuntimeGone(self._gone) from None
            raise TimeoutError("no frame result in time") from None
        if isinstance(item, FrameResult):
            return item
        if item["t"] == "gone":
            raise RuntimeGone(item["reason"])
        return self._finish(item)

    def poll_results(self) -> list[FrameResult]:
        """Every result that has arrived, without waiting (an engine calls this each tick)."""
        out = []
        while True:
            try:
                item = self._results.get_nowait()
            except queue.Empty:
                return out
            if isinstance(item, FrameResult):
                out.append(item)
            elif item["t"] == "gone":
                raise RuntimeGone(item["reason"])
            else:
                out.append(self._finish(item))

    def process(self, image: np.ndarray, timeout: float | None = None) -> np.ndarray:
        """Submit one frame and wait for its restyled image (sequential use)."""
        fid = self.submit(image, wait=self.timeout if timeout is None else timeout)
        if fid is None:
            raise TimeoutError("no free input slot")
        while True:
            result = self.receive(timeout)
            if result.frame_id == fid:
                if result.image is None:
                    raise RuntimeError(f"frame {fid} was dropped: {result.dropped}")
                return result.image

    def _finish(self, msg: dict[str, Any]) -> FrameResult:
        fid = msg["id"]
        if msg["t"] == "dropped":
            return FrameResult(fid, None, dropped=msg["reason"], round_trip_ms=self._since(msg))
        out = self.output_spec
        j = msg["slot"]
        if self.transport == "inline":
            image = image_view(msg["data"], out).copy()
        else:
            assert self._outputs is not None
            image = image_view(self._outputs.buffer(j), out).copy()
        with self._lock:
            self._to_release.append(j)
        return FrameResult(fid, image, timings=msg["timings"], time=msg["time"],
                           round_trip_ms=self._since(msg))

    @staticmethod
    def _since(msg: dict[str, Any]) -> float:
        """Submit → answer arrived (the bridge's round trip, not when the caller looked)."""
        sent = msg.get("_submitted_at")
        return (msg["_arrived_at"] - sent) * 1e3 if sent else 0.0

    # --- shm mapping -----------------------------------------------------------------------

    def _map(self, spec: RingSpec, reply: dict[str, Any]) -> _Ring:
        slots = [ShmSlot(n, reply["size"], create=False) for n in reply["names"]]
        return _Ring(spec, slots)

    def _unmap(self) -> None:
        with self._lock:
            for ring in (self._inputs, self._outputs):
                if ring is not None:
                    ring.close()
            self._inputs = self._outputs = None

    # --- I/O thread ------------------------------------------------------------------------

    def _io_loop(self) -> None:
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        if self._server_key:  # the runtime encrypts (remote endpoint or --curve)
            public, secret = zmq.curve_keypair()
            sock.curve_serverkey = self._server_key.encode()
            sock.curve_publickey = public
            sock.curve_secretkey = secret
        sock.connect(self.endpoint)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(self._wake_rx, zmq.POLLIN)
        last_sent = last_heard = time.monotonic()
        backlog: deque[bytes] = deque()
        try:
            while not self._stop.is_set():
                events = dict(poller.poll(20))
                if self._wake_rx in events:
                    while self._wake_rx.poll(0):
                        self._wake_rx.recv()
                while True:
                    if not backlog:
                        try:
                            backlog.append(self._outq.get_nowait())
                        except queue.Empty:
                            break
                    try:  # never block: a peer that is not there must not freeze this thread
                        sock.send(backlog[0], zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    backlog.popleft()
                    last_sent = time.monotonic()
                if sock in events:
                    while sock.poll(0):
                        last_heard = time.monotonic()
                        reply = sock.recv()
                        if self._on_message(reply, sock):
                            last_sent = time.monotonic()
                now = time.monotonic()
                if self.welcome and now - last_sent > self.heartbeat_s and not backlog:
                    backlog.append(protocol.pack("ping", next(self._ids), time=time.time()))
                    last_sent = now
                if self.welcome and now - last_heard > self.runtime_timeout_s + self.heartbeat_s:
                    self._go(f"the runtime at {self.endpoint} stopped answering")
                    return
        finally:
            sock.close(0)

    def _on_message(self, payload: bytes, sock: zmq.Socket) -> bool:
        try:
            msg = protocol.decode(payload, sender="runtime", max_bytes=1 << 31)
        except protocol.ProtocolError as exc:
            self.errors.append(RuntimeReplyError(exc.code.value, "runtime sent: " + exc.message))
            return False
        t, rid = msg["t"], msg["id"]
        if t == "ping":
            with contextlib.suppress(zmq.Again):
                sock.send(protocol.pack("pong", rid, time=msg["time"]), zmq.NOBLOCK)
            return True
        if t in ("frame_done", "dropped"):
            with self._lock:  # the input slot is free again as soon as the answer arrives
                submitted = self._submitted.pop(rid, None)
                msg["_arrived_at"] = time.perf_counter()
                if submitted is not None:
                    self._free_inputs.add(msg["in_slot"])
                    msg["_submitted_at"] = submitted[1]
                    self._slot_free.notify_all()
            self._results.put(msg)
            return False
        with self._lock:
            fut = self._futures.get(rid)
        if t == "error":
            err = RuntimeReplyError(msg["code"], msg["message"], msg["ref"], rid)
            if fut is not None:
                fut.set_exception(err)
                return False
            if msg["code"] == "no_session":  # the runtime restarted: our session is gone
                self._go(f"the runtime no longer has this session: {msg['message']}")
                return False
            with self._lock:
                frame = self._submitted.pop(rid, None) if msg["ref"] == "frame" else None
                if frame is not None:  # the frame was refused: its slot is ours again
                    self._free_inputs.add(frame[0])
                    self._slot_free.notify_all()
            if frame is not None:
                self._results.put(FrameResult(rid, None, dropped=f"error: {msg['code']}"))
            self.errors.append(err)
            return False
        if t == "bye" and fut is None:
            self._go(f"the runtime closed the session: {msg.get('reason', '')}")
            return False
        if fut is not None and not fut.done():
            fut.set_result(msg)
        return False

    def _go(self, reason: str) -> None:
        self._gone = reason
        with self._lock:
            futures = list(self._futures.values())
            self._slot_free.notify_all()
        for fut in futures:
            if not fut.done():
                fut.set_exception(RuntimeGone(reason))
        self._results.put({"t": "gone", "reason": reason})
