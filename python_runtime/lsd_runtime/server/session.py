"""One client session: its slot rings, slot ownership, frame queue and worker thread.

Threads: the server's I/O thread calls the ``on_*`` methods; the session's own worker
thread owns the backend and runs frames and style changes. Shared state is guarded by
``self._lock``. Replies leave through ``send(identity, message)``, which the server makes
thread-safe; the session never touches a socket, so it runs in-process in the unit tests
with a sender that records what it is given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import torch

from .. import protocol
from ..backends import Backend, StyleError, StyleRequest, create_backend
from ..backends.model_names import ModelChoice, resolve_request
from ..pipeline.device_path import Converters, DeviceFramePath, SessionStream
from ..pipeline.frame_pipeline import FramePipeline
from ..pipeline.latency import LatencyWindow
from ..pipeline.pixel_formats import RingSpec
from ..pipeline.planes import PlaneSpec, planes_of_bind
from ..protocol import DropReason, ErrorCode, ProtocolError
from ..transport import inline_codec
from ..transport.shm import SlotMemoryError
from ..transport.slot_ring import SlotRing
from .slot_budget import SPARE_BYTES, SlotBudget, default_slot_budget, memory_available

Sender = Callable[[bytes, dict[str, Any]], None]
ResultSink = Callable[[dict[str, Any]], None]
# makes one ring of exported device slots: (spec, CUDA device index) -> CudaIpcRing or a stand-in
DeviceRingFactory = Callable[[RingSpec, int], Any]


def cuda_ipc_ring(spec: RingSpec, device_index: int) -> Any:
    from ..transport.cuda_ipc import CudaIpcRing

    return CudaIpcRing(spec, device_index)


class FrameTap(Protocol):
    """Something watching a session's frames (the web console): while it ``wants()`` them, the
    worker hands it each frame's pictures (references the pipeline made anyway, never copies
    made on the frame path) and then the frame's timings; it encodes on its own thread."""

    def wants(self) -> bool: ...

    def capture(self, model_input: Any, model_output: Any) -> None: ...

    def frame_done(self, frame_id: int, timings: dict[str, float]) -> None: ...


log = logging.getLogger(__name__)


def style_error_code(code: str) -> ErrorCode:
    """The protocol code for a backend's ``StyleError`` (``bad_field`` for one it does not know)."""
    try:
        return ErrorCode(code)
    except ValueError:
        return ErrorCode.BAD_FIELD


@dataclass
class PendingFrame:
    seq: int  # arrival order among this session's frames and style changes
    frame_id: int
    slot: int
    time: float
    flags: int
    arrived: float  # perf_counter at arrival


@dataclass
class Binding:
    """Everything one ``bind`` allocated; replaced whole by a re-bind."""

    inputs: Any  # SlotRing, or a ring of device slots (cuda_ipc: CudaIpcRing)
    outputs: Any
    pipeline: FramePipeline
    transport: str = "shm"
    device_path: DeviceFramePath | None = None  # cuda_ipc: the stream-ordered frame path
    out_free: set[int] = field(default_factory=set)
    out_held: set[int] = field(default_factory=set)
    in_runtime: set[int] = field(default_factory=set)  # input slots the runtime owns
    model_fixed: bool = False  # bind named the model size; otherwise it follows the backend
    codec: str | None = None  # inline: the compression both sides may use (bound.codec)
    retired: bool = False
    busy: bool = False  # the worker is using its buffers
    budget: SlotBudget | None = None  # gets the rings' bytes back when they are freed
    nbytes: int = 0
    motion: SlotRing | None = None  # the engine's motion vectors, slot for slot with inputs
    depth: SlotRing | None = None  # the engine's depth, likewise

    def rings(self) -> list[Any]:
        return [r for r in (self.inputs, self.outputs, self.motion, self.depth) if r is not None]

    def close(self) -> None:
        if self.device_path is not None:
            # the work queued on the session's stream still reads and writes these slots
            self.device_path.stream.synchronize()
        for ring in self.rings():
            ring.close()
        if self.budget is not None:
            self.budget.give(self.nbytes)
            self.budget = None


def ring_reply(ring: Any) -> dict[str, Any]:
    """A ``bound`` ring reply: a device ring says it itself (handles, events); host rings name slots."""
    if hasattr(ring, "ring_reply"):
        return dict(ring.ring_reply())
    return {"names": ring.names, "size": ring.spec.size, "pitch": ring.spec.pitch}


class Session:
    def __init__(
        self,
        session_id: str,
        identity: bytes,
        send: Sender,
        *,
        device: torch.device,
        name_prefix: str,
        transport: str,
        budget: SlotBudget | None = None,
        device_rings: DeviceRingFactory | None = None,
        cuda_device: int = 0,
    ):
        self.id = session_id
        self._budget = budget if budget is not None else SlotBudget(default_slot_budget())
        self.transport = transport  # negotiated in hello; every bind uses it (cuda_ipc: or shm)
        self._device_rings = device_rings or cuda_ipc_ring
        self.cuda_device = cuda_device
        self._stream: SessionStream | None = None  # cuda_ipc: made at the first device bind
        self.identity = identity
        self.client_name = ""  # hello.client
        self.style_request: StyleRequest | None = None  # the last style applied, resolved
        self.tap: FrameTap | None = None  # a watcher of the frames (the web console)
        self.conn: int | None = None  # the connection that opened the session (router: its descriptor)
        self.device = device
        self._send = send
        self._name_prefix = name_prefix
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        # (seq, request id, request, who hears the result: None = the client)
        self._commands: deque[tuple[int, int, StyleRequest, ResultSink | None]] = deque()
        self._seq = 0
        self._pending: PendingFrame | None = None
        # a frame was dropped since the backend's last one: the next frame's motion measures from
        # a frame the backend never saw, so it is not handed over (PROTOCOL.md section 4)
        self._motion_gap = False
        self.binding: Binding | None = None
        self._generation = 0  # numbers each bind's segment names
        self._closing = False
        self.backend: Backend = create_backend("effects", device)
        self.created = time.monotonic()
        self.last_seen = time.monotonic()
        self.frames_in = 0
        self.frames_done = 0
        self.frames_dropped = 0
        self.errors = 0
        self.latency = LatencyWindow()
        self._worker = threading.Thread(target=self._run, name=f"lsd-session-{session_id}", daemon=True)
        self._worker.start()

    # --- called from the I/O thread ------------------------------------------------

    def reply(self, msg_type: str, request_id: int, **fields: Any) -> None:
        self._send(self.identity, protocol.make(msg_type, request_id, **fields))

    def on_bind(self, msg: dict[str, Any], transport: str | None = None) -> None:
        """Allocate the rings ``msg`` asks for on ``transport`` (the server checked it: the session's,
        or ``shm`` in a ``cuda_ipc`` session) and answer ``bound``."""
        transport = transport or self.transport
        try:
            in_spec = RingSpec.from_message(msg["input"])
            out_spec = RingSpec.from_message(msg["output"])
        except ValueError as exc:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"'bind' {exc}", "bind", msg["id"]) from None
        if ("model_width" in msg) != ("model_height" in msg):
            raise ProtocolError(
                ErrorCode.BAD_FIELD,
                "'bind' needs both model_width and model_height, or neither",
                "bind",
                msg["id"],
            )
        try:
            motion_desc, depth_desc = planes_of_bind(msg)
            motion_spec = (
                PlaneSpec.beside(in_spec, motion_desc.format, motion_desc.pitch) if motion_desc else None
            )
            depth_spec = (
                PlaneSpec.beside(in_spec, depth_desc.format, depth_desc.pitch) if depth_desc else None
            )
        except ValueError as exc:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"'bind' {exc}", "bind", msg["id"]) from None
        if (motion_spec or depth_spec) and transport != "shm":
            raise ProtocolError(
                ErrorCode.TRANSPORT_UNAVAILABLE,
                f"motion and depth planes travel in shared memory only, not over '{transport}'",
                "bind",
                msg["id"],
            )
        total = in_spec.size * in_spec.slots + out_spec.size * out_spec.slots
        total += sum(p.size * p.slots for p in (motion_spec, depth_spec) if p is not None)
        if total > protocol.MAX_BIND_BYTES:
            raise ProtocolError(
                ErrorCode.BAD_FIELD,
                f"'bind' rings would take {total / 2**20:.0f} MiB; the "
                f"limit is {protocol.MAX_BIND_BYTES >> 20} MiB (fewer "
                "slots or a smaller format)",
                "bind",
                msg["id"],
            )
        fallback = ""
        if transport == "cuda_ipc":
            try:
                device_rings = self._device_ring_pair(in_spec, out_spec)
            except (RuntimeError, MemoryError, OSError) as exc:  # CudaUnavailable, a failed cuMemAlloc
                log.warning("session %s: cuda_ipc rings failed, binding shm instead: %s", self.id, exc)
                fallback = protocol.fit(
                    f"cuda_ipc: the device slots could not be allocated ({exc}); "
                    "the rings are in shared memory"
                )
                transport = "shm"
            else:
                self._install(msg, in_spec, out_spec, device_rings, transport, 0, None, None, None)
                return
        self._reserve_host_memory(total, msg["id"])
        with self._lock:
            gen = self._generation + 1
            prefix = f"{self._name_prefix}-g{gen}"
            made: list[SlotRing] = []
            try:
                inputs = SlotRing(in_spec, transport, prefix + "-in")
                made.append(inputs)
                outputs = SlotRing(out_spec, transport, prefix + "-out")
                made.append(outputs)
                motion_ring = SlotRing(motion_spec, transport, prefix + "-mv") if motion_spec else None
                if motion_ring is not None:
                    made.append(motion_ring)
                depth_ring = SlotRing(depth_spec, transport, prefix + "-z") if depth_spec else None
            except BaseException as exc:
                for ring in made:
                    ring.close()
                self._budget.give(total)
                if isinstance(exc, SlotMemoryError | MemoryError):  # the memory is not there
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "out of memory"
                    raise ProtocolError(
                        ErrorCode.NO_MEMORY,
                        f"'bind' rings need {total / 2**20:.1f} MiB, which the system cannot give: {why}",
                        "bind",
                        msg["id"],
                    ) from None
                if isinstance(exc, OSError):  # descriptor limits and the like: the runtime goes on
                    raise ProtocolError(
                        ErrorCode.INTERNAL,
                        f"could not allocate the slot rings ({total / 2**20:.1f} MiB): {exc}",
                        "bind",
                        msg["id"],
                    ) from None
                raise
            self._generation = gen
        planes = (
            (motion_spec, motion_desc) if motion_spec and motion_desc else None,
            (depth_spec, depth_desc) if depth_spec and depth_desc else None,
        )
        self._install(
            msg,
            in_spec,
            out_spec,
            (inputs, outputs),
            transport,
            total,
            motion_ring,
            depth_ring,
            planes,
            fallback,
        )

    def _device_ring_pair(self, in_spec: RingSpec, out_spec: RingSpec) -> tuple[Any, Any]:
        """The input and output rings of exported device slots (both, or neither and an error)."""
        inputs = self._device_rings(in_spec, self.cuda_device)
        try:
            outputs = self._device_rings(out_spec, self.cuda_device)
        except BaseException:
            inputs.close()
            raise
        return inputs, outputs

    def _reserve_host_memory(self, total: int, request_id: int) -> None:
        """Take ``total`` bytes of the slot budget for host rings, or refuse the bind (no_memory)."""
        available = memory_available()
        if total > available - SPARE_BYTES:
            raise ProtocolError(
                ErrorCode.NO_MEMORY,
                f"'bind' rings need {total / 2**20:.1f} MiB; the system has {available / 2**20:.1f} MiB "
                f"available, and at least {SPARE_BYTES >> 20} MiB must stay free",
                "bind",
                request_id,
            )
        left = self._budget.take(total)
        if left is not None:
            raise ProtocolError(
                ErrorCode.NO_MEMORY,
                f"'bind' rings need {total / 2**20:.1f} MiB; {max(left, 0) / 2**20:.1f} MiB of the "
                f"{self._budget.limit / 2**20:.1f} MiB all sessions' slots may take are left "
                "(serve --max-slot-memory)",
                "bind",
                request_id,
            )

    def _install(
        self,
        msg: dict[str, Any],
        in_spec: RingSpec,
        out_spec: RingSpec,
        rings: tuple[Any, Any],
        transport: str,
        nbytes: int,
        motion_ring: SlotRing | None,
        depth_ring: SlotRing | None,
        planes: tuple[Any, Any] | None,
        fallback: str = "",
    ) -> None:
        """Make the new rings the session's (retiring the old ones) and answer ``bound``."""
        inputs, outputs = rings
        device = transport == "cuda_ipc"
        try:
            with self._lock:
                if "model_width" in msg:
                    model = (msg["model_width"], msg["model_height"])
                else:
                    model = self.backend.model_size(in_spec.width, in_spec.height)
                motion_plane, depth_plane = planes if planes is not None else (None, None)
                pipeline = FramePipeline(
                    in_spec,
                    out_spec,
                    model[0],
                    model[1],
                    self.device,
                    motion_plane=motion_plane,
                    depth_plane=depth_plane,
                )
                device_path = None
                if device:
                    slot_device = inputs.buffers[0].device
                    if self._stream is None or self._stream.device != slot_device:
                        self._stream = SessionStream(slot_device)
                    device_path = DeviceFramePath(
                        in_spec,
                        out_spec,
                        model[0],
                        model[1],
                        self._stream,
                        Converters.for_device(slot_device),
                    )
                self._retire_binding(DropReason.REBIND)
                if device:
                    self._generation += 1
                codec = inline_codec.choose(msg.get("codecs")) if transport == "inline" else None
                self.binding = Binding(
                    inputs,
                    outputs,
                    pipeline,
                    transport=transport,
                    device_path=device_path,
                    out_free=set(range(out_spec.slots)),
                    model_fixed="model_width" in msg,
                    codec=codec,
                    budget=None if device else self._budget,
                    nbytes=nbytes,
                    motion=motion_ring,
                    depth=depth_ring,
                )
        except BaseException:
            # nothing of the new binding stays allocated (the old one is still the session's)
            for ring in (*rings, motion_ring, depth_ring):
                if ring is not None:
                    ring.close()
            if not device:
                self._budget.give(nbytes)
            raise
        self.reply(
            "bound",
            msg["id"],
            transport=transport,
            input=ring_reply(inputs),
            output=ring_reply(outputs),
            model_width=model[0],
            model_height=model[1],
            codec=codec,
            fallback=fallback or None,
            **{
                name: ring_reply(ring)
                for name, ring in (("motion", motion_ring), ("depth", depth_ring))
                if ring
            },
        )

    def on_set_style(self, msg: dict[str, Any], on_result: ResultSink | None = None) -> None:
        """Queue a style change (a ``set_style`` message, or the web console's with ``on_result``,
        which then gets the ``style_set``/``error`` instead of the client; the client is told
        with a ``style_set`` of id 0)."""
        request = StyleRequest(
            backend=msg.get("backend"),
            style=msg.get("style"),
            prompt=msg.get("prompt"),
            strength=msg.get("strength"),
            seed=msg.get("seed"),
            params=msg.get("params") or {},
            model=msg.get("model"),
        )
        with self._lock:
            self._seq += 1
            self._commands.append((self._seq, msg["id"], request, on_result))
            self._wake.notify()

    def on_frame(self, msg: dict[str, Any], data: bytes | None) -> None:
        rid = msg["id"]
        with self._lock:
            b = self.binding
            if b is None:
                raise ProtocolError(ErrorCode.NOT_BOUND, "'frame' before 'bind'", "frame", rid)
            slot = msg["slot"]
            ring_len = b.inputs.spec.slots
            if slot >= ring_len:
                raise ProtocolError(
                    ErrorCode.BAD_SLOT, f"input slot {slot} is outside the ring of {ring_len}", "frame", rid
                )
            if slot in b.in_runtime:
                raise ProtocolError(
                    ErrorCode.BAD_SLOT,
                    f"input slot {slot} still belongs to the runtime (wait for its frame_done or dropped)",
                    "frame",
                    rid,
                )
            flags = msg.get("flags", 0)
            if flags & ~protocol.FRAME_FLAGS_KNOWN:
                raise ProtocolError(
                    ErrorCode.BAD_FIELD,
                    f"'frame' field 'flags' is {flags}; bits 0-2 (reset, motion, depth) are defined, "
                    "the others must be 0",
                    "frame",
                    rid,
                )
            for bit, plane, name in (
                (protocol.FLAG_MOTION, b.motion, "motion"),
                (protocol.FLAG_DEPTH, b.depth, "depth"),
            ):
                if flags & bit and plane is None:
                    raise ProtocolError(
                        ErrorCode.BAD_FIELD,
                        f"'frame' flags say its {name} plane is filled, but 'bind' asked for no {name} plane",
                        "frame",
                        rid,
                    )
            release = msg.get("release") or []
            self._check_release(b, release, "frame", rid)
            codec = msg.get("codec")
            if codec is not None and codec != b.codec:
                raise ProtocolError(
                    ErrorCode.BAD_FIELD,
                    f"'frame' field 'codec' is {codec!r}, but this session's codec is "
                    + (repr(b.codec) if b.codec else "none (bind offered no codec this runtime has)"),
                    "frame",
                    rid,
                )
            if self.transport == "inline":
                size = b.inputs.spec.size
                if data is not None and codec is not None:
                    try:
                        data = inline_codec.decode(data, codec, size)
                    except inline_codec.CodecError as exc:
                        why = f"'frame' field 'data': {exc}"
                        raise ProtocolError(ErrorCode.BAD_FIELD, why, "frame", rid) from None
                if data is None or len(data) != size:
                    got = "no data" if data is None else f"{len(data)} bytes"
                    raise ProtocolError(
                        ErrorCode.BAD_SLOT,
                        f"inline frame needs data of exactly {size} bytes, got {got}",
                        "frame",
                        rid,
                    )
                b.inputs.buffers[slot][:] = data
            elif data is not None:
                raise ProtocolError(
                    ErrorCode.BAD_FIELD, "'frame' field 'data' is for the inline transport only", "frame", rid
                )
            self._apply_release(b, release)
            self.frames_in += 1
            replaced = self._pending
            b.in_runtime.add(slot)
            self._seq += 1
            self._pending = PendingFrame(self._seq, rid, slot, float(msg["time"]), flags, time.perf_counter())
            if replaced is not None:
                b.in_runtime.discard(replaced.slot)
                self.frames_dropped += 1
                self._motion_gap = True
            self._wake.notify()
        if replaced is not None:
            self.reply(
                "dropped", replaced.frame_id, in_slot=replaced.slot, reason=DropReason.SUPERSEDED.value
            )

    def on_release(self, msg: dict[str, Any]) -> None:
        with self._lock:
            b = self.binding
            if b is None:
                raise ProtocolError(ErrorCode.NOT_BOUND, "'release' before 'bind'", "release", msg["id"])
            self._check_release(b, msg["slots"], "release", msg["id"])
            self._apply_release(b, msg["slots"])
            self._wake.notify()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "frames_in": self.frames_in,
                "frames_done": self.frames_done,
                "frames_dropped": self.frames_dropped,
                "errors": self.errors,
                "latency_ms": self.latency.summary(),
                "style": self.backend.style_name,
                "uptime_s": round(time.monotonic() - self.created, 3),
            }

    def close(self, reason: DropReason) -> None:
        """End the session: names unlinked now, memory unmapped once the worker is clear."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._retire_binding(reason)
            self._wake.notify()

    def join(self, timeout: float | None = None) -> None:
        self._worker.join(timeout)

    def worker_alive(self) -> bool:
        return self._worker.is_alive()

    # --- slot bookkeeping (lock held) ---------------------------------------------

    @staticmethod
    def _check_release(b: Binding, slots: list[int], ref: str, rid: int) -> None:
        for j in slots:
            if j not in b.out_held:
                raise ProtocolError(
                    ErrorCode.BAD_SLOT, f"output slot {j} is not held by the client", ref, rid
                )

    @staticmethod
    def _apply_release(b: Binding, slots: list[int]) -> None:
        for j in slots:
            b.out_held.discard(j)
            b.out_free.add(j)

    def _retire_binding(self, reason: DropReason) -> None:
        b = self.binding
        if b is None:
            return
        b.retired = True
        for ring in b.rings():
            ring.unlink()
        if self._pending is not None:
            dropped = self._pending
            self._pending = None
            self.frames_dropped += 1
            self._send(
                self.identity,
                protocol.make("dropped", dropped.frame_id, in_slot=dropped.slot, reason=reason.value),
            )
        if not b.busy:
            b.close()
        self.binding = None

    # --- worker thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            follow_up: tuple[PendingFrame, tuple[Binding, int] | None] | None = None
            while True:
                command = None
                if follow_up is not None:
                    (frame, job), follow_up = follow_up, None
                else:
                    with self._lock:
                        while not (self._closing or self._commands or self._pending):
                            self._wake.wait()
                        if self._closing:
                            return
                        if self._frame_is_next():
                            frame, job = self._take_pending()
                        else:
                            command = self._commands.popleft()
                if command is not None:
                    self._apply_style(command[1], command[2], command[3])
                elif job is None:
                    self._motion_gap = True
                    self.reply(
                        "dropped", frame.frame_id, in_slot=frame.slot, reason=DropReason.NO_OUTPUT_SLOT.value
                    )
                else:
                    follow_up = self._process(frame, *job)
        finally:
            self.backend.close()

    def _frame_is_next(self) -> bool:
        """Whether the queued frame arrived before the first queued style change (lock held)."""
        if self._pending is None:
            return False
        return not self._commands or self._pending.seq < self._commands[0][0]

    def _take_pending(self) -> tuple[PendingFrame, tuple[Binding, int] | None]:
        frame, self._pending = self._pending, None
        assert frame is not None
        return frame, self._begin(frame)

    def _begin(self, frame: PendingFrame) -> tuple[Binding, int] | None:
        """Reserve an output slot for ``frame`` (lock held); None: dropped, no free slot."""
        b = self.binding
        assert b is not None  # retiring a binding answers its queued frame
        if not b.out_free:
            b.in_runtime.discard(frame.slot)
            self.frames_dropped += 1
            return None
        out_slot = min(b.out_free)
        b.out_free.discard(out_slot)
        b.busy = True
        return b, out_slot

    def _apply_style(
        self, request_id: int, request: StyleRequest, on_result: ResultSink | None = None
    ) -> None:
        def refuse(code: ErrorCode, message: str) -> None:
            if on_result is None:
                self._error(code, message, "set_style", request_id)
            else:
                on_result(protocol.error_reply(code, message, "set_style", request_id))

        try:
            request = resolve_request(request)  # model name -> backend + style
            assert request.backend is not None
            backend = self.backend
            if request.backend != backend.name:
                backend = create_backend(request.backend, self.device)
            result = backend.set_style(request)
        except StyleError as exc:
            refuse(style_error_code(exc.code), exc.message)
            return
        except Exception:  # a backend failing to load must not end the session, nor leak internals
            log.exception("session %s: backend '%s' failed to apply a style", self.id, request.backend)
            refuse(
                ErrorCode.INTERNAL,
                f"backend '{request.backend}' failed to apply the style; the runtime's log has the details",
            )
            return
        if backend is not self.backend:
            old, self.backend = self.backend, backend
            old.close()
            with self._lock:  # a new backend may want another model size (this thread runs frames)
                b = self.binding
                if b is not None and not b.model_fixed:
                    spec = b.pipeline.input_spec
                    width, height = backend.model_size(spec.width, spec.height)
                    b.pipeline = replace(b.pipeline, model_width=width, model_height=height)
                    if b.device_path is not None:
                        b.device_path = replace(b.device_path, model_width=width, model_height=height)
        self.style_request = request
        fields = dict(
            backend=backend.name,
            style=result.style,
            matched=result.matched,
            model=ModelChoice(backend.name, request.style).name,
        )
        if on_result is not None:
            on_result(protocol.make("style_set", request_id, **fields))
            self.reply("style_set", 0, **fields)  # id 0: changed for the client, not by it
        else:
            self.reply("style_set", request_id, **fields)

    def count_error(self) -> None:
        with self._lock:
            self.errors += 1

    def _error(self, code: ErrorCode, message: str, ref: str, request_id: int) -> None:
        self.count_error()
        self._send(self.identity, protocol.error_reply(code, message, ref, request_id))

    def _process(
        self, frame: PendingFrame, b: Binding, out_slot: int
    ) -> tuple[PendingFrame, tuple[Binding, int] | None] | None:
        """Run one frame; returns the queued frame, already in flight, if there is one."""
        started = time.perf_counter()
        error = ""
        tap = self.tap
        watched = tap is not None and tap.wants()
        with self._lock:
            gap, self._motion_gap = self._motion_gap, False
        try:
            if b.device_path is not None:
                stage = b.device_path.run(
                    self.backend,
                    b.inputs,
                    frame.slot,
                    b.outputs,
                    out_slot,
                    reset=bool(frame.flags & protocol.FLAG_RESET),
                    capture=tap.capture if watched and tap is not None else None,
                )
            else:
                stage = b.pipeline.run(
                    self.backend,
                    b.inputs.buffers[frame.slot],
                    b.outputs.buffers[out_slot],
                    reset=bool(frame.flags & protocol.FLAG_RESET),
                    capture=tap.capture if watched and tap is not None else None,
                    motion_src=b.motion.buffers[frame.slot]
                    if b.motion and frame.flags & protocol.FLAG_MOTION and not gap
                    else None,
                    depth_src=b.depth.buffers[frame.slot]
                    if b.depth and frame.flags & protocol.FLAG_DEPTH
                    else None,
                )
        except Exception:
            error = (
                f"backend '{self.backend.name}' failed on frame {frame.frame_id}; the runtime's log "
                "has the details"
            )
            log.exception(
                "session %s: backend '%s' failed on frame %d", self.id, self.backend.name, frame.frame_id
            )
        done = time.perf_counter()
        timings = {}
        reply: dict[str, Any] | None = None
        follow_up = None
        with self._lock:
            b.busy = False
            if b.retired:  # re-bound or closing while we worked
                b.close()
                reason = DropReason.CLOSING if self._closing else DropReason.REBIND
                reply = protocol.make("dropped", frame.frame_id, in_slot=frame.slot, reason=reason.value)
                self.frames_dropped += 1
            elif error:
                self._motion_gap = True
                b.in_runtime.discard(frame.slot)
                b.out_free.add(out_slot)
                self.frames_dropped += 1
                reply = protocol.make(
                    "dropped", frame.frame_id, in_slot=frame.slot, reason=DropReason.BACKEND_ERROR.value
                )
            else:
                b.in_runtime.discard(frame.slot)
                b.out_held.add(out_slot)
                timings = {
                    "queue_ms": round((started - frame.arrived) * 1e3, 4),
                    "input_ms": round(stage.ms("input"), 4),
                    "backend_ms": round(stage.ms("backend"), 4),
                    "output_ms": round(stage.ms("output"), 4),
                    "total_ms": round((done - frame.arrived) * 1e3, 4),
                }
                self.latency.add(timings)
                self.frames_done += 1
                data, codec = None, None
                if self.transport == "inline":
                    data, codec = inline_codec.encode(b.outputs.buffers[out_slot], b.codec)
                reply = protocol.make(
                    "frame_done",
                    frame.frame_id,
                    slot=out_slot,
                    in_slot=frame.slot,
                    time=frame.time,
                    timings=timings,
                    data=data,
                    codec=codec,
                )
            # the queued frame goes in flight before this reply leaves, so a client that
            # answers the reply with a new frame queues behind it instead of replacing it
            if self._frame_is_next() and not self._closing:
                follow_up = self._take_pending()
        self._send(self.identity, reply)
        if error:
            self._error(ErrorCode.INTERNAL, error, "frame", frame.frame_id)
        elif watched and timings and tap is not None:
            tap.frame_done(frame.frame_id, timings)
        return follow_up
