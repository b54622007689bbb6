"""The ``cuda_ipc`` transport: pure logic on CPU; allocation, export, a second process opening
the slots, a stream-ordered round trip and freeing (device memory measured) on a GPU."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from lsd_runtime import protocol
from lsd_runtime.pipeline.pixel_formats import RingSpec
from lsd_runtime.transport import cuda_driver as driver_api
from lsd_runtime.transport import cuda_ipc
from lsd_runtime.transport.cuda_driver import CudaUnavailable

MAX_SIDE = protocol.MAX_DIMENSION
MiB = 1 << 20


# --- CPU: pure logic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size,alloc",
    [
        (1, 2 * MiB),
        (2 * MiB, 2 * MiB),
        (2 * MiB + 1, 4 * MiB),
        (1920 * 1080 * 4, 8 * MiB),
        (1920 * 1080 * 8, 16 * MiB),
        (MAX_SIDE * MAX_SIDE * 8, 512 * MiB),
    ],
)
def test_slot_alloc_size_rounds_up_to_whole_2mib(size, alloc):
    assert cuda_ipc.slot_alloc_size(size) == alloc
    assert alloc % cuda_ipc.SLOT_ALIGNMENT == 0 and alloc >= size


@pytest.mark.parametrize("size", [0, -4])
def test_slot_alloc_size_rejects_empty(size):
    with pytest.raises(ValueError, match="positive"):
        cuda_ipc.slot_alloc_size(size)


def test_event_flags_are_interprocess_without_timing():
    assert cuda_ipc.IPC_EVENT_FLAGS == 0x6  # CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING
    try:
        drv = driver_api.import_driver_bindings()
    except CudaUnavailable:
        return
    flags = drv.CUevent_flags
    assert int(flags.CU_EVENT_INTERPROCESS) | int(flags.CU_EVENT_DISABLE_TIMING) == cuda_ipc.IPC_EVENT_FLAGS


def test_cuda_array_interface_is_a_zero_copy_byte_range():
    cai = cuda_ipc.cuda_array_interface(0x7F0000200000, 8294400)
    assert cai == {
        "shape": (8294400,),
        "typestr": "|u1",
        "data": (0x7F0000200000, False),
        "strides": None,
        "version": 3,
        "stream": None,
    }
    assert cuda_ipc.DeviceBytes(0x200000, 16).__cuda_array_interface__["data"][0] == 0x200000
    with pytest.raises(ValueError, match="bad device range"):
        cuda_ipc.cuda_array_interface(0, 16)


def test_ipc_handles_round_trip_as_64_bytes():
    try:
        drv = driver_api.import_driver_bindings()
    except CudaUnavailable as exc:
        pytest.skip(str(exc))
    data = bytes(range(64))
    for cls in (drv.CUipcMemHandle, drv.CUipcEventHandle):
        handle = driver_api.handle_from_bytes(cls, data)
        assert driver_api.handle_to_bytes(handle) == data
    for bad in (b"", bytes(63), bytes(65), "x" * 64):
        with pytest.raises(ValueError, match="64 bytes"):
            driver_api.handle_from_bytes(drv.CUipcMemHandle, bad)  # type: ignore[arg-type]


def test_ring_reply_handles_split_64_bytes_per_slot():
    blob = bytes(range(64)) + bytes(range(64, 128))
    assert cuda_ipc.split_handles(blob) == [bytes(range(64)), bytes(range(64, 128))]
    for bad, size in ((blob[:-1], "127 bytes"), (b"", "0 bytes"), ([blob], "list")):
        with pytest.raises(ValueError, match=f"64 bytes per slot; got {size}"):
            cuda_ipc.split_handles(bad)


def test_modules_import_without_cuda_python():
    """With cuda-python made unimportable, the GPU modules still import (lazy imports)."""
    code = (
        "import sys; sys.modules['cuda'] = None; import torch; "
        "import lsd_runtime.transport.cuda_ipc, lsd_runtime.pipeline.gpu_kernels, "
        "lsd_runtime.pipeline.kernel_reference"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_without_cuda_the_error_names_what_is_missing():
    with pytest.raises(CudaUnavailable) as err:
        cuda_ipc.require_cuda_ipc()
    message = str(err.value)
    assert message.startswith("cuda_ipc unavailable: ")
    assert any(
        piece in message
        for piece in ("CUDA build of torch", "CUDA device", "cuda-python", "libcuda", "cuInit")
    )
    with pytest.raises(CudaUnavailable, match="cuda-python|libcuda|cuInit|device"):
        cuda_ipc.CudaIpcRing(RingSpec(64, 64, "rgba8"))


def test_without_cuda_python_the_error_says_so(monkeypatch):
    for name in ("cuda", "cuda.bindings", "cuda.bindings.driver", "cuda.cuda"):
        monkeypatch.setitem(sys.modules, name, None)  # import of it raises ImportError
    monkeypatch.setattr(driver_api, "_driver", None)
    with pytest.raises(CudaUnavailable, match="cuda-python package is not installed"):
        driver_api.driver()
    missing = cuda_ipc.missing_for_cuda_ipc()
    assert any("cuda-python" in m for m in missing)


# --- GPU --------------------------------------------------------------------------------------

gpu = pytest.mark.gpu
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (torch.cuda.is_available() is False)"
)

CHILD = textwrap.dedent("""
    import json, sys, torch
    from lsd_runtime.transport import cuda_ipc
    msg = json.loads(sys.stdin.readline())
    blobs = ("ipc_handles", "ipc_ready", "ipc_free")
    reply_in = {k: (bytes.fromhex(v) if k in blobs else v) for k, v in msg["input"].items()}
    reply_out = {k: (bytes.fromhex(v) if k in blobs else v) for k, v in msg["output"].items()}
    ins = cuda_ipc.CudaIpcPeerRing(reply_in)
    outs = cuda_ipc.CudaIpcPeerRing(reply_out)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        ins.wait_free(1, stream.cuda_stream)
        ins.buffers[1].copy_(torch.arange(ins.size, device="cuda", dtype=torch.int64).remainder(251)
                             .to(torch.uint8))
    ins.record_ready(1, stream.cuda_stream)
    print("written", flush=True)
    sys.stdin.readline()  # the runtime has processed the frame into output slot 2
    outs.wait_ready(2, stream.cuda_stream)
    with torch.cuda.stream(stream):
        total = int(outs.buffers[2].to(torch.int64).sum().item())
    outs.record_free(2, stream.cuda_stream)
    print(json.dumps({"sum": total}), flush=True)
    sys.stdin.readline()  # wait to be killed, handles open
""")


def _hex_reply(reply: dict) -> dict:
    return {k: (v.hex() if isinstance(v, bytes) else v) for k, v in reply.items()}


def _settled_memory(limit: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    used = cuda_ipc.device_memory_used()
    while used > limit and time.monotonic() < deadline:
        time.sleep(0.1)
        used = cuda_ipc.device_memory_used()
    return used


@gpu
@needs_cuda
def test_gpu_ring_alloc_views_and_free():
    torch.cuda.init()
    spec = RingSpec(1920, 1080, "rgba8", slots=3)
    before = cuda_ipc.device_memory_used()
    ring = cuda_ipc.CudaIpcRing(spec)
    try:
        assert cuda_ipc.device_memory_used() >= before + 3 * 8 * MiB - 2 * MiB
        reply = ring.ring_reply()
        assert ring.alloc_size == 8 * MiB and reply["size"] == spec.size and reply["names"] == []
        assert reply["ipc_offsets"] == [0, 0, 0]
        for key in ("ipc_handles", "ipc_ready", "ipc_free"):
            assert len(cuda_ipc.split_handles(reply[key])) == 3
        assert len(set(cuda_ipc.split_handles(reply["ipc_handles"]))) == 3
        bound = protocol.make(
            "bound", 2, transport="cuda_ipc", input=reply, output=reply, model_width=8, model_height=8
        )
        assert protocol.decode(protocol.encode(bound), sender="runtime") == bound
        for buf in ring.buffers:
            assert buf.is_cuda and buf.dtype == torch.uint8 and buf.numel() == spec.size
            assert buf.data_ptr() % (2 * MiB) == 0
            buf.fill_(7)
        torch.cuda.synchronize()
        assert int(ring.buffers[0].sum().item()) == 7 * spec.size
    finally:
        ring.close()
    assert _settled_memory(before + 2 * MiB) <= before + 2 * MiB


@gpu
@needs_cuda
def test_gpu_second_process_round_trip_and_killed_client_leaves_nothing():
    from lsd_runtime.pipeline import gpu_kernels as kernels

    torch.cuda.init()
    in_spec = RingSpec(641, 359, "rgba8", pitch=641 * 4 + 60, slots=3)
    out_spec = RingSpec(641, 359, "bgra8", bottom_up=True, slots=3)
    before = cuda_ipc.device_memory_used()
    ins, outs = cuda_ipc.CudaIpcRing(in_spec), cuda_ipc.CudaIpcRing(out_spec)
    env = dict(os.environ)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(
            json.dumps({"input": _hex_reply(ins.ring_reply()), "output": _hex_reply(outs.ring_reply())})
            + "\n"
        )
        child.stdin.flush()
        assert child.stdout.readline().strip() == "written"
        stream = torch.cuda.Stream()
        s = stream.cuda_stream
        ins.wait_ready(1, s)  # the per-frame path: stream waits, no host synchronisation
        outs.wait_free(2, s)
        with torch.cuda.stream(stream):
            t = kernels.texture_to_tensor(ins.buffers[1], in_spec, 641, 359, torch.float16)
            kernels.tensor_to_texture(t, out_spec, outs.buffers[2])
        outs.record_ready(2, s)
        ins.record_free(1, s)
        # what the child must see: the same pixels, swizzled, flipped, alpha 255
        stream.synchronize()
        src = torch.arange(in_spec.size, dtype=torch.int64).remainder(251).to(torch.uint8)
        from lsd_runtime.pipeline import kernel_reference as ref

        want = ref.tensor_to_texture(ref.texture_to_tensor(src, in_spec, 641, 359), out_spec)
        child.stdin.write("go\n")
        child.stdin.flush()
        got = json.loads(child.stdout.readline())
        assert got["sum"] == int(want.to(torch.int64).sum())
        assert torch.equal(outs.buffers[2].cpu(), want)
        child.send_signal(signal.SIGKILL)  # a killed client, handles still open
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        ins.close()
        outs.close()
    assert _settled_memory(before + 2 * MiB) <= before + 2 * MiB, "device memory left behind"
