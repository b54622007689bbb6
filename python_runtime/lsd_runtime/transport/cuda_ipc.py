"""The ``cuda_ipc`` transport: a session's ring of frame slots in device memory (Linux, NVIDIA).

Runtime side (``CudaIpcRing``, allocated at ``bind``):
- each slot is its own ``cuMemAlloc`` of ``slot_alloc_size(spec.size)`` bytes (rounded up to
  2 MiB, so an exported handle never shares an allocation with anything else);
- ``cuIpcGetMemHandle`` per slot, exported once in the ``bound`` reply;
- two interprocess events per slot (``CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING``),
  exported with ``cuIpcGetEventHandle``: ``ready`` (recorded by the side that wrote the
  slot) and ``free`` (recorded by the side that read it);
- ``buffers[k]`` is a zero-copy ``uint8`` torch view of slot k (``__cuda_array_interface__``
  with ``device=``), so the kernels and backends work on the slot in place.

Per frame nothing waits on the host: ``wait_ready`` / ``wait_free`` are
``cuStreamWaitEvent`` on the session's stream, ``record_ready`` / ``record_free`` are
``cuEventRecord``. ``close`` waits for the ring's own events, then frees everything;
``device_memory_used`` measures what is left.

Client side (``CudaIpcPeerRing``) opens the handles of a ``bound`` reply once
(``cuIpcOpenMemHandle``, about 1 ms each) and closes them at the end; the Python tests use it
as the second process, the native client does the same in C++.

Importing this module needs neither cuda-python nor a GPU.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from typing import Any

import torch

from ..pipeline.pixel_formats import RingSpec
from .cuda_driver import (
    IPC_HANDLE_BYTES,
    ContextScope,
    CudaUnavailable,
    check,
    driver,
    handle_from_bytes,
    handle_to_bytes,
    primary_context,
)

TRANSPORT = "cuda_ipc"
SLOT_ALIGNMENT = 2 << 20  # 2 MiB: whole allocations, one per slot
CU_EVENT_DISABLE_TIMING = 0x2
CU_EVENT_INTERPROCESS = 0x4
IPC_EVENT_FLAGS = CU_EVENT_INTERPROCESS | CU_EVENT_DISABLE_TIMING
CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS = 0x1


def slot_alloc_size(size: int) -> int:
    """Bytes allocated for a slot of ``size`` bytes: a whole number of 2 MiB, at least one."""
    if size <= 0:
        raise ValueError(f"slot size must be positive, got {size}")
    return -(-size // SLOT_ALIGNMENT) * SLOT_ALIGNMENT


def cuda_array_interface(ptr: int, size: int) -> dict[str, Any]:
    """``__cuda_array_interface__`` (v3) of ``size`` bytes of device memory at ``ptr``.

    ``stream: None`` tells the consumer not to synchronise: ordering is the events' job.
    """
    if ptr <= 0 or size <= 0:
        raise ValueError(f"bad device range: ptr={ptr:#x} size={size}")
    return {
        "shape": (size,),
        "typestr": "|u1",
        "data": (ptr, False),
        "strides": None,
        "version": 3,
        "stream": None,
    }


class DeviceBytes:
    """A bare ``__cuda_array_interface__`` holder for ``torch.as_tensor(..., device=)``."""

    def __init__(self, ptr: int, size: int):
        self.__cuda_array_interface__ = cuda_array_interface(ptr, size)


def device_view(ptr: int, size: int, device_index: int) -> torch.Tensor:
    """Zero-copy 1-D ``uint8`` CUDA tensor over ``size`` bytes at ``ptr`` (never copied)."""
    if not torch.cuda.is_available():
        raise CudaUnavailable(
            f"CUDA unavailable: torch {torch.__version__} has no CUDA support or "
            "sees no device, so device slots cannot be viewed as tensors"
        )
    view = torch.as_tensor(DeviceBytes(ptr, size), device=f"cuda:{device_index}")
    if view.data_ptr() != ptr:  # a copy would silently break zero-copy
        raise RuntimeError("torch copied the device slot instead of viewing it")
    return view


def device_memory_used(device_index: int = 0) -> int:
    """Device memory in use on the whole device (``total - free`` from ``cuMemGetInfo``), bytes."""
    drv = driver()
    dev, ctx = primary_context(device_index)
    try:
        with ContextScope(ctx):
            free, total = check(drv.cuMemGetInfo(), "cuMemGetInfo")
    finally:
        check(drv.cuDevicePrimaryCtxRelease(dev), "cuDevicePrimaryCtxRelease")
    return int(total) - int(free)


def pci_bus_id(device: Any) -> str:
    """The PCI bus id of a ``CUdevice`` ("0000:65:00.0"): names the GPU across processes."""
    raw = check(driver().cuDeviceGetPCIBusId(32, device), "cuDeviceGetPCIBusId")
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return text.strip("\x00 ")


@dataclass
class _Slot:
    ptr: int
    ready: Any  # CUevent
    free: Any  # CUevent


class CudaIpcRing:
    """Runtime side: ``spec.slots`` exported device slots; the SlotRing interface plus events."""

    transport = TRANSPORT

    def __init__(self, spec: RingSpec, device_index: int = 0):
        self.spec = spec
        self.device_index = device_index
        self.alloc_size = slot_alloc_size(spec.size)
        self.buffers: list[torch.Tensor] = []
        self.handles: list[bytes] = []
        self.ready_events: list[bytes] = []
        self.free_events: list[bytes] = []
        self._slots: list[_Slot] = []
        self._dev, self._ctx = primary_context(device_index)
        self.device = pci_bus_id(self._dev)
        drv = driver()
        try:
            with ContextScope(self._ctx):
                for _ in range(spec.slots):
                    ptr = int(check(drv.cuMemAlloc(self.alloc_size), "cuMemAlloc"))
                    slot = _Slot(ptr, None, None)
                    self._slots.append(slot)
                    slot.ready = check(drv.cuEventCreate(IPC_EVENT_FLAGS), "cuEventCreate")
                    slot.free = check(drv.cuEventCreate(IPC_EVENT_FLAGS), "cuEventCreate")
                    check(drv.cuMemsetD8(ptr, 0, self.alloc_size), "cuMemsetD8")
                    self.handles.append(
                        handle_to_bytes(check(drv.cuIpcGetMemHandle(ptr), "cuIpcGetMemHandle"))
                    )
                    self.ready_events.append(
                        handle_to_bytes(check(drv.cuIpcGetEventHandle(slot.ready), "cuIpcGetEventHandle"))
                    )
                    self.free_events.append(
                        handle_to_bytes(check(drv.cuIpcGetEventHandle(slot.free), "cuIpcGetEventHandle"))
                    )
                check(drv.cuCtxSynchronize(), "cuCtxSynchronize")  # the zeroing, once, at bind
            self.buffers = [device_view(s.ptr, spec.size, device_index) for s in self._slots]
        except BaseException:
            self.close()
            raise

    @property
    def names(self) -> list[str]:
        """No shared-memory names on this transport (the ``bound`` reply carries handles)."""
        return []

    def ring_reply(self) -> dict[str, Any]:
        """The ``bound`` ring reply (PROTOCOL.md, device slots): per slot, concatenated in slot
        order, the memory handle and the ``ready``/``free`` event handles, 64 bytes each."""
        return {
            "names": [],
            "size": self.spec.size,
            "pitch": self.spec.pitch,
            "ipc_handles": b"".join(self.handles),
            "ipc_offsets": [0] * len(self.handles),
            "ipc_ready": b"".join(self.ready_events),
            "ipc_free": b"".join(self.free_events),
        }

    # --- per-frame ordering (stream-ordered, no host wait) --------------------------------

    def wait_ready(self, k: int, stream: int) -> None:
        """``stream`` waits until the writer's copy into slot k is done."""
        self._stream_wait(self._slots[k].ready, stream)

    def wait_free(self, k: int, stream: int) -> None:
        """``stream`` waits until the reader has finished with slot k."""
        self._stream_wait(self._slots[k].free, stream)

    def record_ready(self, k: int, stream: int) -> None:
        self._record(self._slots[k].ready, stream)

    def record_free(self, k: int, stream: int) -> None:
        self._record(self._slots[k].free, stream)

    def _stream_wait(self, event: Any, stream: int) -> None:
        drv = driver()
        check(drv.cuStreamWaitEvent(drv.CUstream(stream), event, 0), "cuStreamWaitEvent")

    def _record(self, event: Any, stream: int) -> None:
        drv = driver()
        check(drv.cuEventRecord(event, drv.CUstream(stream)), "cuEventRecord")

    # --- lifetime ---------------------------------------------------------------------------

    def unlink(self) -> None:
        """Nothing to unlink: IPC handles cannot be revoked; the memory goes at ``close``."""

    def close(self) -> None:
        """Wait for this ring's recorded events, then destroy the events and free every slot."""
        if not self._slots:
            return
        drv = driver()
        self.buffers = []
        with ContextScope(self._ctx):
            for s in self._slots:
                for event in (s.ready, s.free):
                    if event is not None:
                        with contextlib.suppress(RuntimeError):
                            check(drv.cuEventSynchronize(event), "cuEventSynchronize")
            for s in self._slots:
                for event in (s.ready, s.free):
                    if event is not None:
                        check(drv.cuEventDestroy(event), "cuEventDestroy")
                check(drv.cuMemFree(s.ptr), "cuMemFree")
        self._slots = []
        check(drv.cuDevicePrimaryCtxRelease(self._dev), "cuDevicePrimaryCtxRelease")

    def __enter__(self) -> CudaIpcRing:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class CudaIpcPeerRing:
    """Client side: the slots and events of one ring of a ``bound`` reply, opened once."""

    def __init__(self, reply: dict[str, Any], device_index: int = 0):
        drv = driver()
        self.size = int(reply["size"])
        self.device_index = device_index
        self._dev, self._ctx = primary_context(device_index)
        self._ptrs: list[int] = []
        self._bases: list[int] = []  # what cuIpcOpenMemHandle returned (closed at the end)
        self._ready: list[Any] = []
        self._free: list[Any] = []
        self.buffers: list[torch.Tensor] = []
        try:
            with ContextScope(self._ctx):
                offsets = reply.get("ipc_offsets") or [0] * len(split_handles(reply["ipc_handles"]))
                for h, offset in zip(split_handles(reply["ipc_handles"]), offsets, strict=True):
                    mem = handle_from_bytes(drv.CUipcMemHandle, h)
                    opened = drv.cuIpcOpenMemHandle(mem, CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS)
                    base = int(check(opened, "cuIpcOpenMemHandle"))
                    self._bases.append(base)
                    self._ptrs.append(base + int(offset))
                for key, dest in (("ipc_ready", self._ready), ("ipc_free", self._free)):
                    for h in split_handles(reply[key]):
                        ev = handle_from_bytes(drv.CUipcEventHandle, h)
                        dest.append(check(drv.cuIpcOpenEventHandle(ev), "cuIpcOpenEventHandle"))
            self.buffers = [device_view(p, self.size, device_index) for p in self._ptrs]
        except BaseException:
            self.close()
            raise

    def wait_ready(self, k: int, stream: int) -> None:
        drv = driver()
        check(drv.cuStreamWaitEvent(drv.CUstream(stream), self._ready[k], 0), "cuStreamWaitEvent")

    def wait_free(self, k: int, stream: int) -> None:
        drv = driver()
        check(drv.cuStreamWaitEvent(drv.CUstream(stream), self._free[k], 0), "cuStreamWaitEvent")

    def record_ready(self, k: int, stream: int) -> None:
        drv = driver()
        check(drv.cuEventRecord(self._ready[k], drv.CUstream(stream)), "cuEventRecord")

    def record_free(self, k: int, stream: int) -> None:
        drv = driver()
        check(drv.cuEventRecord(self._free[k], drv.CUstream(stream)), "cuEventRecord")

    def close(self) -> None:
        if not (self._bases or self._ready or self._free):
            return
        drv = driver()
        self.buffers = []
        with ContextScope(self._ctx):
            for ev in self._ready + self._free:
                with contextlib.suppress(RuntimeError):
                    check(drv.cuEventSynchronize(ev), "cuEventSynchronize")
                check(drv.cuEventDestroy(ev), "cuEventDestroy")
            for p in self._bases:
                check(drv.cuIpcCloseMemHandle(p), "cuIpcCloseMemHandle")
        self._ptrs, self._bases, self._ready, self._free = [], [], [], []
        check(drv.cuDevicePrimaryCtxRelease(self._dev), "cuDevicePrimaryCtxRelease")


def split_handles(blob: bytes) -> list[bytes]:
    """The 64-byte handles of a ring reply's ``ipc_handles`` / ``ipc_ready`` / ``ipc_free``."""
    n = IPC_HANDLE_BYTES
    if not isinstance(blob, bytes | bytearray) or not blob or len(blob) % n:
        size = len(blob) if isinstance(blob, bytes | bytearray) else type(blob).__name__
        raise ValueError(f"CUDA IPC handles come {n} bytes per slot; got {size} bytes")
    return [bytes(blob[i : i + n]) for i in range(0, len(blob), n)]


def missing_for_cuda_ipc(device_index: int = 0) -> list[str]:
    """What this machine lacks for ``cuda_ipc`` (empty: usable). Each item names the piece."""
    missing = []
    if not sys.platform.startswith("linux"):
        missing.append(f"Linux (legacy CUDA IPC; this is {sys.platform}: use cuda_vmm)")
    if torch.version.cuda is None:
        missing.append(f"a CUDA build of torch (this is torch {torch.__version__})")
    elif not torch.cuda.is_available():
        missing.append("a CUDA device visible to torch")
    try:
        dev, _ = primary_context(device_index)
        check(driver().cuDevicePrimaryCtxRelease(dev), "cuDevicePrimaryCtxRelease")
    except CudaUnavailable as exc:
        missing.append(str(exc).removeprefix("CUDA unavailable: "))
    return missing


def require_cuda_ipc(device_index: int = 0) -> None:
    """Raise ``CudaUnavailable`` naming everything missing for ``cuda_ipc`` here; else return."""
    missing = missing_for_cuda_ipc(device_index)
    if missing:
        raise CudaUnavailable("cuda_ipc unavailable: " + "; ".join(missing))
