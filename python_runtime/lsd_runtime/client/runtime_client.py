"""Python client of the runtime (used by the tests, the demo, the bench and the SDK).

A background I/O thread owns the ZeroMQ DEALER socket: it sends what the caller queues,
answers and sends heartbeats, and sorts replies into request futures and a queue of
finished frames. Every public method is safe to call from any thread.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from .. import __version__, protocol
from ..pipeline.pixel_formats import RingSpec, image_view
from ..pipeline.planes import DepthPlane, MotionPlane, PlaneSpec, write_plane
from ..server.state_file import read_state
from ..server.waker import Waker
from ..transport.cuda_driver import CudaUnavailable
from ..transport.shm import SHM_KINDS, ShmSlot
from .device_rings import DeviceRings, client_gpu, open_device_rings

log = logging.getLogger(__name__)

BYE_WAIT_S = 1.0  # close(): how long to wait for the runtime's bye
IO_JOIN_S = 2.0  # close(): how long to wait for the I/O thread (it polls every 20 ms)


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
    image: Any  # image-order [H, W, 4] numpy array (a CUDA tensor with device_frames); None: dropped
    dropped: str = ""  # the drop reason, "" for a finished frame
    timings: dict[str, float] = field(default_factory=dict)
    time: float = 0.0
    round_trip_ms: float = 0.0  # submit → answer received by the client's I/O thread


@dataclass
class _Ring:
    spec: RingSpec | PlaneSpec
    slots: list[ShmSlot]

    def buffer(self, k: int) -> memoryview:
        return self.slots[k].buffer

    def close(self) -> None:
        for s in self.slots:
            s.close()


class RuntimeClient:
    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        *,
        state_dir: Path | str | None = None,
        name: str = f"python/{__version__}",
        transports: tuple[str, ...] = ("shm", "inline"),
        timeout: float = 10.0,
        server_key: str = "",
        device_frames: bool = False,
    ):
        """``transports`` best first; with ``cuda_ipc`` the frames stay on the GPU: ``submit`` takes
        numpy arrays or CUDA tensors and results are CUDA tensors when ``device_frames``, numpy
        arrays otherwise. Where ``cuda_ipc`` cannot be used the session falls back to ``shm`` and
        ``fallback`` says why."""
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
        self._outq: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._waker = Waker()  # API threads wake the I/O thread; only it touches ZeroMQ
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
        self._planes: dict[str, _Ring] = {}  # "motion", "depth": the engine's planes, when bound
        self._motion_gap = False  # a frame was skipped: the next one's motion does not hold
        self.welcome: dict[str, Any] = {}
        self.transport = ""
        self.fallback = ""  # why the frames do not travel on the first transport asked for
        self.device_frames = device_frames
        self._device: DeviceRings | None = None  # cuda_ipc: the runtime's device slots, opened
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
        self.welcome = self.request(
            "hello",
            token=self._token,
            client=self._name,
            transports=self._transports,
            pid=os.getpid(),
            shm=SHM_KINDS,
            gpu=client_gpu() if "cuda_ipc" in self._transports else None,
        )
        self.transport = self.welcome["transport"]
        self.fallback = self.welcome.get("fallback", "")
        self.heartbeat_s = self.welcome["heartbeat_ms"] / 1000.0
        self.runtime_timeout_s = self.welcome["timeout_ms"] / 1000.0
        return self.welcome

    def close(self) -> None:
        """Say bye (waiting at most BYE_WAIT_S), stop the I/O thread (which closes its socket and
        its own ZeroMQ context) and unmap the slots. Returns within BYE_WAIT_S + IO_JOIN_S
        whatever the runtime does: nothing here waits on ZeroMQ."""
        if self._connected and not self._gone and not self._stop.is_set():
            with contextlib.suppress(RuntimeGone, RuntimeReplyError, TimeoutError):
                self.request("bye", timeout=BYE_WAIT_S)
        self._stop.set()
        self._waker.wake()
        if self._connected:
            self._io.join(IO_JOIN_S)
            if self._io.is_alive():
                log.warning(
                    "the client's I/O thread did not stop within %.1f s; leaving it (daemon)", IO_JOIN_S
                )
        self._unmap()
        self._waker.close()

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
        self._waker.wake()
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
            raise TimeoutError(
                f"no answer to '{msg_type}' within {self.timeout if timeout is None else timeout} s"
            ) from None
        finally:
            with self._lock:
                self._futures.pop(rid, None)

    def bind(
        self,
        width: int,
        height: int,
        fmt: str = "rgba8",
        *,
        out_width: int | None = None,
        out_height: int | None = None,
        out_format: str | None = None,
        pitch: int = 0,
        out_pitch: int = 0,
        bottom_up: bool = False,
        color: str | None = None,
        out_color: str | None = None,
        slots: int = 3,
        model_size: tuple[int, int] | None = None,
        motion: MotionPlane | None = None,
        depth: DepthPlane | None = None,
    ) -> dict[str, Any]:
        """Allocate the session's rings (re-binding frees the old ones). ``motion``/``depth``
        also ask for the engine's planes beside the input ring (``submit`` fills them)."""
        in_spec = RingSpec(width, height, fmt, pitch, bottom_up, color or "", slots)
        out_spec = RingSpec(
            out_width or width,
            out_height or height,
            out_format or fmt,
            out_pitch,
            bottom_up,
            out_color or color or "",
            slots,
        )
        fields: dict[str, Any] = {
            "transport": self.transport,
            "input": in_spec.to_message(),
            "output": out_spec.to_message(),
        }
        if model_size is not None:
            fields["model_width"], fields["model_height"] = model_size
        if motion is not None:
            fields.update(
                motion_format=motion.format,
                motion_units=motion.units,
                motion_sign=motion.sign,
                motion_y_up=motion.y_up,
                motion_pitch=motion.pitch or None,
            )
        if depth is not None:
            fields.update(depth_format=depth.format, depth_kind=depth.kind, depth_pitch=depth.pitch or None)
            if depth.kind == "device":
                fields.update(
                    depth_reversed_z=depth.reversed_z,
                    depth_near=float(depth.near),
                    depth_far=float(depth.far),
                )
        bound = self.request("bind", **fields)
        self._unmap()
        device = None
        if bound["transport"] == "cuda_ipc":
            try:
                device = open_device_rings(
                    replace(in_spec, pitch=bound["input"]["pitch"]),
                    replace(out_spec, pitch=bound["output"]["pitch"]),
                    bound,
                )
            except (CudaUnavailable, RuntimeError, ValueError) as exc:
                # the runtime's device slots cannot be opened here: the same rings in shared memory
                self.fallback = f"cuda_ipc: the runtime's device slots could not be opened ({exc})"
                log.warning("%s; binding shm instead", self.fallback)
                bound = self.request("bind", **{**fields, "transport": "shm"})
        elif bound.get("fallback"):
            self.fallback = bound["fallback"]
        self.transport = bound["transport"]
        in_spec = RingSpec(
            in_spec.width,
            in_spec.height,
            in_spec.format,
            bound["input"]["pitch"],
            in_spec.bottom_up,
            in_spec.color,
            in_spec.slots,
        )
        out_spec = RingSpec(
            out_spec.width,
            out_spec.height,
            out_spec.format,
            bound["output"]["pitch"],
            out_spec.bottom_up,
            out_spec.color,
            out_spec.slots,
        )
        planes: dict[str, _Ring] = {}
        for name, desc in (("motion", motion), ("depth", depth)):
            if desc is not None and name in bound:
                spec = PlaneSpec.beside(in_spec, desc.format, bound[name]["pitch"])
                planes[name] = self._map(spec, bound[name])
        with self._lock:
            self._planes = planes
            self._device = device
            self._inputs = self._map(in_spec, bound["input"])
            self._outputs = self._map(out_spec, bound["output"])
            self._free_inputs = set(range(in_spec.slots))
            self._submitted.clear()
            self._to_release.clear()
        return bound

    def set_style(
        self,
        backend: str | None = None,
        style: str | None = None,
        prompt: str | None = None,
        strength: float | None = None,
        seed: int | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
        *,
        model: str | None = None,
    ) -> dict[str, Any]:
        """Restyle from the next frame on. Name the look with ``model`` (``"toon"``, ``"watercolor"``,
        ``"sd-turbo"``...: the runtime resolves it) or with ``backend`` and ``style``; ``style`` alone
        means an effects style. Nothing named: the runtime's default model (``effects``)."""
        if backend is None and style is not None and model is None:
            backend = "effects"
        return self.request(
            "set_style",
            timeout=timeout,
            backend=backend,
            style=style,
            prompt=prompt,
            strength=strength,
            seed=seed,
            params=params,
            model=model,
        )

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
        assert isinstance(self._inputs.spec, RingSpec)
        return self._inputs.spec

    @property
    def output_spec(self) -> RingSpec:
        if self._outputs is None:
            raise RuntimeError("bind() first")
        assert isinstance(self._outputs.spec, RingSpec)
        return self._outputs.spec

    def submit(
        self,
        image: np.ndarray,
        *,
        capture_time: float | None = None,
        flags: int = 0,
        wait: float = 0.0,
        motion: np.ndarray | None = None,
        depth: np.ndarray | None = None,
    ) -> int | None:
        """Write ``image`` (image order ``[H, W, 4]``) into a free input slot and send ``frame``.
        ``motion`` (``[H, W, 2]``) and ``depth`` (``[H, W]``), in the conventions ``bind``
        declared, go into the same slot of their planes (and the frame's flags say so).

        Returns the frame id, or None when no input slot came free within ``wait`` seconds.
        """
        spec = self.input_spec
        if image.shape != (spec.height, spec.width, 4):
            raise ValueError(f"frame is {image.shape}, the bound input is {(spec.height, spec.width, 4)}")
        for name, values in (("motion", motion), ("depth", depth)):
            if values is not None and name not in self._planes:
                raise ValueError(f"no {name} plane is bound: pass {name}= to bind()")
        deadline = time.monotonic() + wait
        with self._slot_free:
            while not self._free_inputs:
                left = deadline - time.monotonic()
                if left <= 0 or self._gone:
                    self._motion_gap = True  # the engine's next motion is from a frame never sent
                    return None
                self._slot_free.wait(left)
            if self._motion_gap and motion is not None:
                motion = None  # it measures from a frame the runtime never saw (PROTOCOL.md §4)
            self._motion_gap = False
            slot = min(self._free_inputs)
            self._free_inputs.discard(slot)
            release, self._to_release = self._to_release, []
            fid = next(self._ids)
            self._submitted[fid] = (slot, time.perf_counter())
        data = None
        if self._device is not None:
            self._device.write(slot, image)
        elif self.transport == "inline":
            buf = bytearray(spec.size)
            image_view(buf, spec)[...] = image
            data = bytes(buf)
        else:
            assert self._inputs is not None
            image_view(self._inputs.buffer(slot), spec)[...] = image
        for name, values, bit in (
            ("motion", motion, protocol.FLAG_MOTION),
            ("depth", depth, protocol.FLAG_DEPTH),
        ):
            if values is None:
                continue
            plane = self._planes[name]
            assert isinstance(plane.spec, PlaneSpec)
            write_plane(plane.buffer(slot), plane.spec, values)
            flags |= bit
        self.send(
            "frame",
            fid,
            slot=slot,
            time=time.time() if capture_time is None else capture_time,
            flags=flags or None,
            release=release or None,
            data=data,
        )
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
        out: list[FrameResult] = []
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
        if self._device is not None:
            image = self._device.read(j, to_host=not self.device_frames)
        elif self.transport == "inline":
            image = image_view(msg["data"], out).copy()
        else:
            assert self._outputs is not None
            image = image_view(self._outputs.buffer(j), out).copy()
        with self._lock:
            self._to_release.append(j)
        return FrameResult(
            fid, image, timings=msg["timings"], time=msg["time"], round_trip_ms=self._since(msg)
        )

    @staticmethod
    def _since(msg: dict[str, Any]) -> float:
        """Submit → answer arrived (the bridge's round trip, not when the caller looked)."""
        sent = msg.get("_submitted_at")
        return (msg["_arrived_at"] - sent) * 1e3 if sent else 0.0

    # --- shm mapping -----------------------------------------------------------------------

    def _map(self, spec: RingSpec | PlaneSpec, reply: dict[str, Any]) -> _Ring:
        session = self.welcome["session"] if self.welcome else None
        slots = [ShmSlot(n, reply["size"], create=False, session=session) for n in reply["names"]]
        return _Ring(spec, slots)

    def _unmap(self) -> None:
        with self._lock:
            for ring in (self._inputs, self._outputs, *self._planes.values()):
                if ring is not None:
                    ring.close()
            self._inputs = self._outputs = None
            self._planes = {}
            if self._device is not None:
                self._device.close()
                self._device = None

    # --- I/O thread ------------------------------------------------------------------------

    def _io_loop(self) -> None:
        # this thread's own context and socket: nothing else in the process can hold up their end
        ctx = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        if self._server_key:  # the runtime encrypts (remote endpoint or --curve)
            public, secret = zmq.curve_keypair()
            sock.curve_serverkey = self._server_key.encode()
            sock.curve_publickey = public
            sock.curve_secretkey = secret
        sock.connect(self.endpoint)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(self._waker.fileno(), zmq.POLLIN)
        last_sent = last_heard = time.monotonic()
        backlog: deque[bytes] = deque()
        try:
            while not self._stop.is_set():
                events = dict(poller.poll(20))
                if self._waker.fileno() in events:
                    self._waker.drain()
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
            ctx.term()

    def _on_message(self, payload: bytes, sock: zmq.Socket) -> bool:
        try:
            # an inline frame_done carries a frame: never more than a whole bind
            msg = protocol.decode(payload, sender="runtime", max_bytes=protocol.MAX_BIND_BYTES)
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
