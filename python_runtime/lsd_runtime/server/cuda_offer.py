"""Whether this runtime serves ``cuda_ipc``, on which GPU, and the transport a ``hello`` gets.

``probe`` runs once when the runtime starts: ``cuda_ipc`` needs a CUDA ``--device``, Linux,
a CUDA build of torch, cuda-python and a working driver (``missing_for_cuda_ipc``). The GPU
is named by its UUID (``cuDeviceGetUuid``), written ``GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx``
as ``nvidia-smi -L`` prints it, because CUDA ordinals differ between processes
(``CUDA_VISIBLE_DEVICES``) and IPC handles open only on the device that made them.

``choose`` picks the first of the client's transports this runtime can give it and, when that
is not the client's first choice, a sentence saying why each one before it was passed over
(``welcome.fallback``): the game's log says why it is not zero-copy, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from ..transport.cuda_driver import CudaUnavailable, check, driver

GPU_UUID_RE = re.compile(r"^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UUID_BYTES = 16


def format_gpu_uuid(raw: bytes) -> str:
    """``GPU-`` and the 16 bytes of a ``CUuuid`` in lower-case hex, grouped 8-4-4-4-12."""
    if len(raw) != UUID_BYTES:
        raise ValueError(f"a CUDA device UUID is {UUID_BYTES} bytes, got {len(raw)}")
    h = raw.hex()
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def device_uuid(device_index: int) -> str:
    """The UUID of CUDA device ``device_index`` of this process."""
    drv = driver()
    dev = check(drv.cuDeviceGet(device_index), "cuDeviceGet")
    get = getattr(drv, "cuDeviceGetUuid_v2", None) or drv.cuDeviceGetUuid
    uuid = check(get(dev), "cuDeviceGetUuid")
    raw = uuid.bytes
    return format_gpu_uuid(raw if isinstance(raw, bytes) else bytes(raw))


@dataclass(frozen=True)
class CudaOffer:
    """``gpu``: the UUID when this runtime serves ``cuda_ipc``; else ``why_not`` says why not."""

    gpu: str | None = None
    device_index: int = 0
    why_not: str = "this runtime runs on the CPU (serve --device cuda for device slots)"

    @property
    def available(self) -> bool:
        return self.gpu is not None


def probe(device: str) -> CudaOffer:
    """What this runtime (``serve --device``) can offer for ``cuda_ipc``."""
    dev = torch.device(device)
    if dev.type != "cuda":
        return CudaOffer()
    index = dev.index if dev.index is not None else 0
    from ..transport.cuda_ipc import missing_for_cuda_ipc

    missing = missing_for_cuda_ipc(index)
    if missing:
        return CudaOffer(
            device_index=index, why_not="this runtime has no usable CUDA device: " + "; ".join(missing)
        )
    try:
        return CudaOffer(gpu=device_uuid(index), device_index=index, why_not="")
    except (CudaUnavailable, RuntimeError) as exc:
        return CudaOffer(device_index=index, why_not=f"the runtime's CUDA device has no UUID ({exc})")


def choose(
    wanted: list[str], usable: list[str], offer: CudaOffer, client_gpu: str | None, why_not_shm: str = ""
) -> tuple[str | None, str]:
    """``(transport, fallback)``: the first of ``wanted`` that can be served (None: none), and why
    the ones before it were not ("" when the first was chosen)."""
    passed: list[str] = []
    for name in wanted:
        if name == "cuda_ipc":
            if not offer.available:
                passed.append(f"cuda_ipc: {offer.why_not}")
                continue
            if client_gpu is not None and client_gpu != offer.gpu:
                passed.append(
                    f"cuda_ipc: the client's GPU {client_gpu[:40]} is not the runtime's {offer.gpu} "
                    "(CUDA IPC handles open only on the GPU that made them)"
                )
                continue
            return name, "; ".join(passed)
        if name in usable:
            return name, "; ".join(passed)
        if name == "shm" and why_not_shm:
            passed.append(f"shm: {why_not_shm}")
        elif name == "cuda_vmm":
            passed.append("cuda_vmm: not served by this runtime yet")
        else:
            passed.append(f"{name[:32]}: not served by this runtime")
    return None, "; ".join(passed)
