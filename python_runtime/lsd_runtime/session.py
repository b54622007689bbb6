"""One client session: its slot rings, slot ownership, frame queue and worker thread.

Threads: the server's I/O thread calls the ``on_*`` methods; the session's own worker
thread owns the backend and runs frames and style changes. Shared state is guarded by
``self._lock``. Replies leave through ``send(identity, message)``, which the server makes
thread-safe.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from . import protocol
from .backends import Backend, StyleError, StyleRequest, create_backend
from .frame_pipeline import FramePipeline
from .latency_window import LatencyWindow
from .pixel_formats import RingSpec
from .protocol import ErrorCode, ProtocolError
from .slot_ring import SlotRing

Sender = Callable[[bytes, dict[str, Any]], None]


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

    inputs: SlotRing
    outputs: SlotRing
    pipeline: FramePipeline
    out_free: set[int] = field(default_factory=set)
    out_held: set[int] = field(default_factory=set)
    in_runtime: set[int] = field(default_factory=set)  # input slots the runtime owns
    model_fixed: bool = False  # bind named the model size; otherwise it follows the backend
    retired: bool = False
    busy: bool = False  # the worker is using its buffers

    def close(self) -> None:
        self.inputs.close()
        self.outputs.close()


class Session:
    def __init__(self, session_id: str, identity: bytes, send: Sender, *, device: torch.device,
                 name_prefix: str, transport: str):
        self.id = session_id
        self.transport = transport  # negotiated in hello; every bind uses it
        self.identity = identity
        self.device = device
        self._send = send
        self._name_prefix = name_prefix
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._commands: deque[tuple[int, int, StyleRequest]] = deque()  # (seq, request id, request)
        self._seq = 0
        self._pending: PendingFrame | None = None
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

    def on_bind(self, msg: dict[str, Any]) -> None:
        transport = self.transport  # the server checked bind names it
        try:
            in_spec = RingSpec.from_message(msg["input"])
            out_spec = RingSpec.from_message(msg["output"])
        except ValueError as exc:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"'bind' {exc}", "bind", msg["id"]) from None
        if ("model_width" in msg) != ("model_height" in msg):
            raise ProtocolError(ErrorCode.BAD_FIELD, "'bind' needs both model_width and model_height, "
                                                     "or neither", "bind", msg["id"])
        total = in_spec.size * in_spec.slots + out_spec.size * out_spec.slots
        if total > protocol.MAX_BIND_BYTES:
            raise ProtocolError(ErrorCode.BAD_FIELD, f"'bind' rings would take {total / 2**20:.0f} MiB; the "
                                                     f"limit is {protocol.MAX_BIND_BYTES >> 20} MiB (fewer "
                                                     "slots or a smaller format)", "bind", msg["id"])
        with self._lock:
            if "model_width" in msg:
                model = (msg["model_width"], msg["model_height"])
            else:
                model = self.backend.model_size(in_spec.width, in_spec.height)
            gen = self._generation + 1
            prefix = f"{self._name_prefix}-g{gen}"
            try:
                inputs = SlotRing(in_spec, transport, prefix + "-in")
                try:
                    outputs = SlotRing(out_spec, transport, prefix + "-out")
                except BaseException:
                    inputs.close()
                    raise
            except OSError as exc:  # /dev/shm full, limits: the session and runtime go on
                raise ProtocolError(ErrorCode.INTERNAL, f"could not allocate the slot rings "
                                                        f"({total / 2**20:.0f} MiB): {exc}", "bind",
                                    msg["id"]) from None
            pipeline = FramePipeline(in_spec, out_spec, model[0], model[1], self.device)
            self._retire_binding("rebind")
            self._generation = gen
            self.binding = Binding(inputs, outputs, pipeline,
                                   out_free=set(range(out_spec.slots)),
                                   model_fixed="model_width" in msg)
        self.reply("bound", msg["id"], transport=transport,
                   input={"names": inputs.names, "size": in_spec.size, "pitch": in_spec.pitch},
                   output={"names": outputs.names, "size": out_spec.size, "pitch": out_spec.pitch},
                   model_width=model[0], model_height=model[1])

    def on_set_style(self, msg: dict[str, Any]) -> None:
        request = StyleRequest(backend=msg["backend"], style=msg.get("style"), prompt=msg.get("prompt"),
                               strength=msg.get("strength"), seed=msg.get("seed"),
                               params=msg.get("params") or {})
        with self._lock:
            self._seq += 1
            self._commands.append((self._seq, msg["id"], request))
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
                raise ProtocolError(ErrorCode.BAD_SLOT, f"input slot {slot} is outside the ring of "
                                                        f"{ring_len}", "frame", rid)
            if slot in b.in_runtime:
                raise ProtocolError(ErrorCode.BAD_SLOT, f"input slot {slot} still belongs to the runtime "
                                                        "(wait for its frame_done or dropped)", "frame", rid)
            flags = msg.get("flags", 0)
            if flags & ~protocol.FLAG_RESET:
                raise ProtocolError(ErrorCode.BAD_FIELD, f"'frame' field 'flags' is {flags}; only bit 0 "
                                                         "(reset) is defined, the others must be 0",
                                    "frame", rid)
            release = msg.get("release") or []
            self._check_release(b, release, "frame", rid)
            if self.transport == "inline":
                if data is None or len(data) != b.inputs.spec.size:
                    got = "no data" if data is None else f"{len(data)} bytes"
                    raise ProtocolError(ErrorCode.BAD_SLOT, f"inline frame needs data of exactly "
                                                            f"{b.inputs.spec.size} bytes, got {got}",
                                        "frame", rid)
                b.inputs.buffers[slot][:] = data
            elif data is not None:
                raise ProtocolError(ErrorCode.BAD_FIELD, "'frame' field 'data' is for the inline "
                                                         "transport only", "frame", rid)
            self._apply_release(b, release)
            self.frames_in += 1
            replaced = self._pending
            b.in_runtime.add(slot)
            self._seq += 1
            self._pending = PendingFrame(self._seq, rid, slot, float(msg["time"]), flags, time.perf_counter())
            if replaced is not None:
                b.in_runtime.discard(replaced.slot)
                self.frames_dropped += 1
            self._wake.notify()
        if replaced is not None:
            self.reply("dropped", replaced.frame_id, in_slot=replaced.slot, reason="superseded")

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
            return {"frames_in": self.frames_in, "frames_done": self.frames_done,
                    "frames_dropped": self.frames_dropped, "errors": self.errors,
                    "latency_ms": self.latency.summary(), "style": self.backend.style_name,
                    "uptime_s": round(time.monotonic() - self.created, 3)}

    def close(self, reason: str) -> None:
        """End the session: names unlinked now, memory unmapped once the worker is clear."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._retire_binding(reason)
            self._wake.notify()

    def join(self, timeout: float | None = None) -> None:
        self._worker.join(timeout)

    # --- slot bookkeeping (lock held) ---------------------------------------------

    @staticmethod
    def _check_release(b: Binding, slots: list[int], ref: str, rid: int) -> None:
        for j in slots:
            if j not in b.out_held:
                raise ProtocolError(ErrorCode.BAD_SLOT, f"output slot {j} is not held by the client",
                                    ref, rid)

    @staticmethod
    def _apply_release(b: Binding, slots: list[int]) -> None:
        for j in slots:
            b.out_held.discard(j)
            b.out_free.add(j)

    def _retire_binding(self, reason: str) -> None:
        b = self.binding
        if b is None:
            return
        b.retired = True
        b.inputs.unlink()
        b.outputs.unlink()
        if self._pending is not None:
            dropped = self._pending
            self._pending = None
            self.frames_dropped += 1
            self._send(self.identity, protocol.make("dropped", dropped.frame_id, in_slot=dropped.slot,
                                                    reason=reason))
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
                    self._apply_style(command[1], command[2])
                elif job is None:
                    self.reply("dropped", frame.frame_id, in_slot=frame.slot, reason="no_output_slot")
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

    def _apply_style(self, request_id: int, request: StyleRequest) -> None:
        try:
            backend = self.backend
            if request.backend != backend.name:
                backend = create_backend(request.backend, self.device)
            result = backend.set_style(request)
        except StyleError as exc:
            self._error(ErrorCode(exc.code) if exc.code in ErrorCode._value2member_map_ else
                        ErrorCode.BAD_FIELD, exc.message, "set_style", request_id)
            return
        except Exception as exc:  # a backend failing to load must not end the session
            self._error(ErrorCode.INTERNAL, f"backend '{request.backend}' failed: {exc}", "set_style",
                        request_id)
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
        self.reply("style_set", request_id, backend=backend.name, style=result.style, matched=result.matched)

    def count_error(self) -> None:
        with self._lock:
            self.errors += 1

    def _error(self, code: ErrorCode, message: str, ref: str, request_id: int) -> None:
        self.count_error()
        self.reply("error", request_id, code=code.value, message=message, ref=ref)

    def _process(self, frame: PendingFrame, b: Binding, out_slot: int
                 ) -> tuple[PendingFrame, tuple[Binding, int] | None] | None:
        """Run one frame; returns the queued frame, already in flight, if there is one."""
        started = time.perf_counter()
        error = ""
        try:
            stage = b.pipeline.run(self.backend, b.inputs.buffers[frame.slot], b.outputs.buffers[out_slot],
                                   reset=bool(frame.flags & protocol.FLAG_RESET))
        except Exception as exc:
            error = f"backend '{self.backend.name}' failed on frame {frame.frame_id}: {exc}"
            traceback.print_exc()
        done = time.perf_counter()
        timings = {}
        reply: dict[str, Any] | None = None
        follow_up = None
        with self._lock:
            b.busy = False
            if b.retired:  # re-bound or closing while we worked
                b.close()
                reason = "closing" if self._closing else "rebind"
                reply = protocol.make("dropped", frame.frame_id, in_slot=frame.slot, reason=reason)
                self.frames_dropped += 1
            elif error:
                b.in_runtime.discard(frame.slot)
                b.out_free.add(out_slot)
                self.frames_dropped += 1
                reply = protocol.make("dropped", frame.frame_id, in_slot=frame.slot, reason="backend_error")
            else:
                b.in_runtime.discard(frame.slot)
                b.out_held.add(out_slot)
                timings = {"queue_ms": round((started - frame.arrived) * 1e3, 4),
                           "input_ms": round(stage.input_ms, 4),
                           "backend_ms": round(stage.backend_ms, 4),
                           "output_ms": round(stage.output_ms, 4),
                           "total_ms": round((done - frame.arrived) * 1e3, 4)}
                self.latency.add(timings)
                self.frames_done += 1
                data = bytes(b.outputs.buffers[out_slot]) if self.transport == "inline" else None
                reply = protocol.make("frame_done", frame.frame_id, slot=out_slot, in_slot=frame.slot,
                                      time=frame.time, timings=timings, data=data)
            # the queued frame goes in flight before this reply leaves, so a client that
            # answers the reply with a new frame queues behind it instead of replacing it
            if self._frame_is_next() and not self._closing:
                follow_up = self._take_pending()
        self._send(self.identity, reply)
        if error:
            self._error(ErrorCode.INTERNAL, error, "frame", frame.frame_id)
        return follow_up
