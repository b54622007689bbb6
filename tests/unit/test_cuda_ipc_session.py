"""The runtime's ``cuda_ipc`` sessions on the CPU: negotiation and its fallbacks, the ``bound``
reply's handles, the stream-ordered frame path, and device slots freed with the session.

A real ``CudaIpcRing`` needs a GPU (``test_cuda_ipc.py``, run by ``scripts/gpu_check.py``);
here a stand-in ring with the same interface holds its slots in CPU tensors and logs every
event wait and record, so the order the runtime issues them in is checked exactly. The slot
conversions are then the kernels' torch references, which the kernel tests hold the CUDA
kernels to."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

from lsd_runtime import protocol
from lsd_runtime.backends import create_backend
from lsd_runtime.backends.base import StyleRequest
from lsd_runtime.pipeline import kernel_reference
from lsd_runtime.pipeline.pixel_formats import RingSpec, image_view
from lsd_runtime.server.config import ServerConfig
from lsd_runtime.server.cuda_offer import CudaOffer, choose, format_gpu_uuid, probe
from lsd_runtime.server.dispatch import Dispatcher
from support.fake_sender import Recorder

TOKEN = "t0k3n"
GPU = "GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60"
OTHER_GPU = "GPU-00000000-1111-2222-3333-444444444444"


class StandInDeviceRing:
    """``CudaIpcRing``'s interface over CPU tensors; events are entries in a shared log."""

    made: list[StandInDeviceRing] = []

    def __init__(self, spec: RingSpec, device_index: int, log: list[tuple[str, str, int]], fail: str = ""):
        if fail:
            raise RuntimeError(fail)
        self.spec = spec
        self.device_index = device_index
        self.tag = len(StandInDeviceRing.made)
        self.buffers = [torch.zeros(spec.size, dtype=torch.uint8) for _ in range(spec.slots)]
        self.log = log
        self.closed = False
        StandInDeviceRing.made.append(self)

    def handle(self, kind: int, k: int) -> bytes:
        return bytes([self.tag, kind, k]) + bytes(protocol.IPC_HANDLE_BYTES - 3)

    def ring_reply(self) -> dict[str, Any]:
        n = self.spec.slots
        return {
            "names": [],
            "size": self.spec.size,
            "pitch": self.spec.pitch,
            "ipc_handles": b"".join(self.handle(0, k) for k in range(n)),
            "ipc_offsets": [0] * n,
            "ipc_ready": b"".join(self.handle(1, k) for k in range(n)),
            "ipc_free": b"".join(self.handle(2, k) for k in range(n)),
        }

    def _note(self, what: str, k: int, stream: int) -> None:
        assert stream == 0  # the CPU stand-in of the session's stream
        self.log.append((what, f"ring{self.tag}", k))

    def wait_ready(self, k: int, stream: int) -> None:
        self._note("wait_ready", k, stream)

    def wait_free(self, k: int, stream: int) -> None:
        self._note("wait_free", k, stream)

    def record_ready(self, k: int, stream: int) -> None:
        self._note("record_ready", k, stream)

    def record_free(self, k: int, stream: int) -> None:
        self._note("record_free", k, stream)

    def unlink(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        self.buffers = []


@pytest.fixture
def events() -> list[tuple[str, str, int]]:
    StandInDeviceRing.made = []
    return []


def make_dispatcher(tmp_path, events, offer: CudaOffer, fail: str = "") -> tuple[Dispatcher, Recorder]:
    rec = Recorder()
    d = Dispatcher(
        ServerConfig(state_dir=tmp_path, timeout_ms=1000),
        TOKEN,
        rec,
        torch.device("cpu"),
        segment_prefix="/lsd-unit-cuda",
        cuda_offer=offer,
        device_rings=lambda spec, index: StandInDeviceRing(spec, index, events, fail),
    )
    return d, rec


@pytest.fixture
def served(tmp_path, events) -> Iterator[tuple[Dispatcher, Recorder]]:
    d, rec = make_dispatcher(tmp_path, events, CudaOffer(gpu=GPU, device_index=1, why_not=""))
    yield d, rec
    for session in d.close_all():
        session.join(5)


def send(d: Dispatcher, rec: Recorder, t: str, rid: int, **fields: Any) -> dict[str, Any]:
    before = len(rec.messages)
    d.on_message(b"game", protocol.pack(t, rid, **fields))
    return rec.wait_for(before + 1)[-1]


def hello(d: Dispatcher, rec: Recorder, gpu: str | None = GPU) -> dict[str, Any]:
    fields: dict[str, Any] = {"transports": ["cuda_ipc", "shm"], "shm": ["memfd", "named"]}
    if gpu is not None:
        fields["gpu"] = gpu
    return send(d, rec, "hello", 1, token=TOKEN, client="unit/1", **fields)


def ring(width: int, height: int, fmt: str = "rgba8", **extra: Any) -> dict[str, Any]:
    return {"width": width, "height": height, "format": fmt, "slots": 2, **extra}


def test_a_runtime_on_the_clients_gpu_chooses_cuda_ipc_and_names_its_gpu(served) -> None:
    d, rec = served
    welcome = hello(d, rec)
    assert welcome["transport"] == "cuda_ipc" and welcome["gpu"] == GPU
    assert "fallback" not in welcome and "cuda_ipc" in welcome["transports"]
    assert next(iter(d.sessions.values())).cuda_device == 1


def test_a_client_that_does_not_name_its_gpu_still_gets_cuda_ipc(served) -> None:
    d, rec = served
    assert hello(d, rec, gpu=None)["transport"] == "cuda_ipc"


def test_another_gpu_falls_back_to_shm_and_says_why(served) -> None:
    d, rec = served
    welcome = hello(d, rec, gpu=OTHER_GPU)
    assert welcome["transport"] == "shm"
    assert welcome["fallback"] == (
        f"cuda_ipc: the client's GPU {OTHER_GPU} is not the runtime's {GPU} "
        "(CUDA IPC handles open only on the GPU that made them)"
    )


def test_a_cpu_runtime_falls_back_to_shm_and_says_why(tmp_path, events) -> None:
    d, rec = make_dispatcher(tmp_path, events, probe("cpu"))
    try:
        welcome = hello(d, rec)
        assert welcome["transport"] == "shm" and "gpu" not in welcome
        assert welcome["transports"] == ["shm"]
        assert welcome["fallback"] == (
            "cuda_ipc: this runtime runs on the CPU (serve --device cuda for device slots)"
        )
        bound = send(d, rec, "bind", 2, transport="cuda_ipc", input=ring(16, 8), output=ring(16, 8))
        assert (bound["code"], bound["ref"]) == ("transport_unavailable", "bind")
    finally:
        for session in d.close_all():
            session.join(5)


def test_choose_lists_every_transport_passed_over() -> None:
    offer = CudaOffer(why_not="this runtime has no usable CUDA device: a CUDA build of torch")
    chosen, why = choose(["cuda_vmm", "cuda_ipc", "inline", "shm"], ["shm"], offer, None)
    assert chosen == "shm"
    assert why == (
        "cuda_vmm: not served by this runtime yet; cuda_ipc: this runtime has no usable CUDA device: "
        "a CUDA build of torch; inline: not served by this runtime"
    )
    assert choose(["shm"], ["shm"], offer, None) == ("shm", "")
    assert choose(["cuda_ipc"], ["shm"], offer, None)[0] is None


def test_gpu_uuid_is_written_as_nvidia_smi_prints_it() -> None:
    raw = bytes.fromhex("5f3c0a1e8b2d4c6f9e0a1b2c3d4e5f60")
    assert format_gpu_uuid(raw) == GPU
    with pytest.raises(ValueError, match="16 bytes, got 15"):
        format_gpu_uuid(raw[:15])


def test_bound_carries_each_slots_handles_offsets_and_events(served, events) -> None:
    d, rec = served
    hello(d, rec)
    bound = send(
        d,
        rec,
        "bind",
        2,
        transport="cuda_ipc",
        input=ring(16, 8, pitch=80, bottom_up=True),
        output=ring(8, 8),
    )
    assert bound["t"] == "bound" and bound["transport"] == "cuda_ipc" and "fallback" not in bound
    ins, outs = StandInDeviceRing.made
    assert (ins.device_index, outs.device_index) == (1, 1)
    assert (
        bound["input"]["names"] == [] and bound["input"]["size"] == 80 * 8 and bound["input"]["pitch"] == 80
    )
    assert bound["input"]["ipc_handles"] == ins.handle(0, 0) + ins.handle(0, 1)
    assert bound["input"]["ipc_ready"] == ins.handle(1, 0) + ins.handle(1, 1)
    assert bound["input"]["ipc_free"] == ins.handle(2, 0) + ins.handle(2, 1)
    assert bound["input"]["ipc_offsets"] == [0, 0]
    assert bound["output"]["ipc_handles"] == outs.handle(0, 0) + outs.handle(0, 1)
    assert events == []  # nothing is waited on or recorded before a frame


def write_frame(slot: torch.Tensor, spec: RingSpec, image: np.ndarray) -> None:
    view = image_view(memoryview(slot.numpy()), spec)
    view[...] = image


def run_frame(d: Dispatcher, rec: Recorder, rid: int, slot: int, release: list[int] | None = None) -> dict:
    before = len(rec.messages)
    fields: dict[str, Any] = {"slot": slot, "time": float(rid)}
    if release:
        fields["release"] = release
    d.on_message(b"game", protocol.pack("frame", rid, **fields))
    return rec.wait_for(before + 1)[-1]


@pytest.mark.parametrize("style", ["toon", "identity"])
def test_frames_go_through_device_slots_in_stream_order(served, events, style) -> None:
    d, rec = served
    hello(d, rec)
    in_desc, out_desc = ring(24, 16, "bgra8", bottom_up=True), ring(24, 16, "rgba8")
    send(d, rec, "bind", 2, transport="cuda_ipc", input=in_desc, output=out_desc)
    assert send(d, rec, "set_style", 3, model=style)["t"] == "style_set"
    ins, outs = StandInDeviceRing.made
    in_spec, out_spec = RingSpec.from_message(in_desc), RingSpec.from_message(out_desc)
    rng = np.random.default_rng(7)
    reference = create_backend("effects", "cpu")
    reference.set_style(StyleRequest(backend="effects", style=style))
    held: list[int] = []
    for n in range(4):
        k = n % 2
        image = rng.integers(0, 256, (16, 24, 4), dtype=np.uint8)
        image[..., 3] = 255
        write_frame(ins.buffers[k], in_spec, image)
        events.clear()
        done = run_frame(d, rec, 10 + n, k, release=held)
        assert done["t"] == "frame_done" and done["in_slot"] == k
        j = done["slot"]
        held = [j]
        assert events == [
            ("wait_ready", "ring0", k),
            ("wait_free", "ring1", j),
            ("record_free", "ring0", k),
            ("record_ready", "ring1", j),
        ]
        got = image_view(memoryview(outs.buffers[j].numpy()), out_spec)
        # the float path the CUDA kernels implement (not the CPU's 8-bit shortcut), by their references
        slot = torch.zeros(in_spec.size, dtype=torch.uint8)
        write_frame(slot, in_spec, image)
        restyled = reference.process(kernel_reference.texture_to_tensor(slot, in_spec, 24, 16))
        out_slot = kernel_reference.tensor_to_texture(restyled, out_spec)
        expected = image_view(memoryview(out_slot.numpy()), out_spec)
        if style == "identity":  # a byte copy: layouts differ here, so the colours go through
            assert np.array_equal(got[..., :3], image[..., [2, 1, 0]])
        assert np.array_equal(got, expected), f"frame {n}: {np.abs(got.astype(int) - expected).max()}"


def test_identity_between_equal_layouts_is_one_copy(served, events) -> None:
    d, rec = served
    hello(d, rec)
    desc = ring(16, 8, "rgba8", pitch=72, bottom_up=True)
    send(d, rec, "bind", 2, transport="cuda_ipc", input=desc, output=desc)
    send(d, rec, "set_style", 3, model="identity")
    ins, outs = StandInDeviceRing.made
    ins.buffers[1].copy_(torch.arange(ins.spec.size, dtype=torch.int64).remainder(251).to(torch.uint8))
    done = run_frame(d, rec, 4, 1)
    assert torch.equal(outs.buffers[done["slot"]], ins.buffers[1])  # padding bytes too: a copy
    assert events == [
        ("wait_ready", "ring0", 1),
        ("wait_free", "ring1", done["slot"]),
        ("record_free", "ring0", 1),
        ("record_ready", "ring1", done["slot"]),
    ]


def test_a_watcher_gets_the_pictures_of_device_frames(served, events) -> None:
    """The web console's tap sees device frames too (the model input and output tensors)."""
    d, rec = served
    hello(d, rec)
    send(d, rec, "bind", 2, transport="cuda_ipc", input=ring(16, 8), output=ring(16, 8))
    send(d, rec, "set_style", 3, model="toon")
    pictures: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    finished: list[int] = []

    class Tap:
        def wants(self) -> bool:
            return True

        def capture(self, model_input: Any, model_output: Any) -> None:
            pictures.append((tuple(model_input.shape), tuple(model_output.shape)))

        def frame_done(self, frame_id: int, timings: dict[str, float]) -> None:
            finished.append(frame_id)

    next(iter(d.sessions.values())).tap = Tap()
    assert run_frame(d, rec, 7, 0)["t"] == "frame_done"
    assert pictures == [((1, 3, 8, 16), (1, 3, 8, 16))] and finished == [7]


def test_device_memory_failure_at_bind_gives_shm_rings_and_the_reason(tmp_path, events) -> None:
    d, rec = make_dispatcher(
        tmp_path, events, CudaOffer(gpu=GPU, why_not=""), fail="cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY"
    )
    try:
        hello(d, rec)
        bound = send(d, rec, "bind", 2, transport="cuda_ipc", input=ring(16, 8), output=ring(16, 8))
        assert bound["t"] == "bound" and bound["transport"] == "shm"
        assert bound["fallback"] == (
            "cuda_ipc: the device slots could not be allocated (cuMemAlloc failed: "
            "CUDA_ERROR_OUT_OF_MEMORY); the rings are in shared memory"
        )
        assert len(bound["input"]["names"]) == 2 and "ipc_handles" not in bound["input"]
        assert run_frame(d, rec, 3, 0)["t"] == "frame_done"
    finally:
        for session in d.close_all():
            session.join(5)


def test_a_client_that_cannot_open_the_handles_rebinds_on_shm(served, events) -> None:
    d, rec = served
    hello(d, rec)
    send(d, rec, "bind", 2, transport="cuda_ipc", input=ring(16, 8), output=ring(16, 8))
    first = list(StandInDeviceRing.made)
    bound = send(d, rec, "bind", 3, transport="shm", input=ring(16, 8), output=ring(16, 8))
    assert bound["transport"] == "shm" and len(bound["output"]["names"]) == 2
    assert all(r.closed for r in first)  # the device slots went with the old binding
    assert run_frame(d, rec, 4, 1)["t"] == "frame_done"
    inline = send(d, rec, "bind", 5, transport="inline", input=ring(16, 8), output=ring(16, 8))
    assert (inline["code"], inline["message"]) == (
        "transport_unavailable",
        "this session negotiated 'cuda_ipc', not 'inline'",
    )


def test_planes_are_refused_on_device_slots(served) -> None:
    d, rec = served
    hello(d, rec)
    reply = send(
        d, rec, "bind", 2, transport="cuda_ipc", input=ring(16, 8), output=ring(16, 8), motion_format="rg16f"
    )
    assert (reply["code"], reply["message"]) == (
        "transport_unavailable",
        "motion and depth planes travel in shared memory only, not over 'cuda_ipc'",
    )


@pytest.mark.parametrize("how", ["bye", "timeout", "rebind"])
def test_device_slots_are_freed_when_the_session_ends(served, events, how) -> None:
    d, rec = served
    hello(d, rec)
    send(d, rec, "bind", 2, transport="cuda_ipc", input=ring(16, 8), output=ring(16, 8))
    run_frame(d, rec, 3, 0)
    rings = list(StandInDeviceRing.made)
    assert not any(r.closed for r in rings)
    if how == "bye":
        send(d, rec, "bye", 4)
    elif how == "timeout":
        d.reap(now=next(iter(d.sessions.values())).last_seen + 60.0)
    else:
        send(d, rec, "bind", 4, transport="cuda_ipc", input=ring(16, 8), output=ring(16, 8))
    for session in list(d.sessions.values()):
        if how != "rebind":
            session.join(5)
    assert all(r.closed for r in rings)


# --- GPU: the same session over real device slots (run by scripts/gpu_check.py) --------------------

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)"
)


@pytest.mark.gpu
@needs_cuda
def test_gpu_session_runs_frames_through_real_device_slots(tmp_path) -> None:
    from lsd_runtime.transport.cuda_ipc import CudaIpcRing, device_memory_used

    offer = probe("cuda")
    assert offer.available, offer.why_not
    rings: list[CudaIpcRing] = []

    def make(spec: RingSpec, index: int) -> CudaIpcRing:
        rings.append(CudaIpcRing(spec, index))
        return rings[-1]

    torch.cuda.init()
    before = device_memory_used()
    rec = Recorder()
    d = Dispatcher(
        ServerConfig(state_dir=tmp_path, device="cuda"),
        TOKEN,
        rec,
        torch.device("cuda"),
        segment_prefix="/lsd-gpu-cuda",
        cuda_offer=offer,
        device_rings=make,
    )
    try:
        assert hello(d, rec, gpu=offer.gpu)["transport"] == "cuda_ipc"
        in_desc = ring(1920, 1080, "bgra8", bottom_up=True, pitch=1920 * 4 + 64)
        out_desc = ring(1920, 1080, "rgba8")
        assert send(d, rec, "bind", 2, transport="cuda_ipc", input=in_desc, output=out_desc)["t"] == "bound"
        assert send(d, rec, "set_style", 3, model="identity")["t"] == "style_set"
        ins, outs = rings
        in_spec, out_spec = RingSpec.from_message(in_desc), RingSpec.from_message(out_desc)
        stream = torch.cuda.Stream()
        held: list[int] = []
        for n in range(4):
            k = n % 2
            src = torch.randint(0, 256, (in_spec.size,), dtype=torch.uint8, device="cuda")
            with torch.cuda.stream(stream):
                ins.buffers[k].copy_(src)
            ins.record_ready(k, stream.cuda_stream)  # as a client: the copy, then ready[k]
            done = run_frame(d, rec, 10 + n, k, release=held)
            assert done["t"] == "frame_done", done
            j = done["slot"]
            held = [j]
            outs.wait_ready(j, stream.cuda_stream)
            with torch.cuda.stream(stream):
                got = outs.buffers[j].clone()
            outs.record_free(j, stream.cuda_stream)
            stream.synchronize()
            want = kernel_reference.tensor_to_texture(
                kernel_reference.texture_to_tensor(src.cpu(), in_spec, 1920, 1080), out_spec
            )
            assert torch.equal(got.cpu(), want), f"frame {n}"
    finally:
        for session in d.close_all():
            session.join(10)
    torch.cuda.synchronize()
    assert device_memory_used() <= before + 2 * (1 << 20), "device slots left behind"
