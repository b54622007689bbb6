"""``lsd-runtime doctor``: what this machine can use, and what to do about what it can't."""

from __future__ import annotations

import ctypes.util
import importlib.metadata
import mmap
import os
import platform
import secrets
import sys

from .. import __version__, protocol
from ..backends import available_backends
from ..backends.effects import EFFECTS
from ..server.state_file import default_state_dir, read_state
from ..transport.shm import ShmSlot

OK, NO, INFO = "ok ", "-- ", "   "


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def check_shm() -> tuple[bool, str]:
    name = f"/lsd-doctor-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        with ShmSlot(name, mmap.PAGESIZE, create=True) as slot:
            slot.buffer[:4] = b"LSD!"
        return True, "owner-only shared memory works"
    except OSError as exc:
        return False, f"cannot create shared memory: {exc}"


def check_cuda() -> list[tuple[str, str, str]]:
    rows = []
    lib = ctypes.util.find_library("cuda") or ctypes.util.find_library("nvcuda")
    rows.append(
        (OK if lib else NO, "NVIDIA driver (libcuda)", lib or "not found: GPU transports unavailable")
    )
    try:
        import torch

        if torch.cuda.is_available():
            names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
            rows.append((OK, "torch CUDA", f"{torch.version.cuda} on {names}"))
        else:
            rows.append((NO, "torch CUDA", f"not available (torch {torch.__version__}); backends run on CPU"))
    except Exception as exc:  # a broken torch install should still let doctor report
        rows.append((NO, "torch", f"import failed: {exc}"))
    return rows


def check_cuda_ipc() -> tuple[str, str, str]:
    """Whether ``serve --device cuda`` would serve ``cuda_ipc`` here, and on which GPU."""
    from ..server.cuda_offer import probe

    offer = probe("cuda")
    if offer.available:
        return OK, "transport cuda_ipc", f"device slots on {offer.gpu} (serve --device cuda)"
    return NO, "transport cuda_ipc", offer.why_not + "; clients fall back to shm"


def check_runtime() -> tuple[str, str, str]:
    try:
        info = read_state()
    except (FileNotFoundError, ValueError) as exc:
        return INFO, "running runtime", str(exc)
    try:
        from ..client.runtime_client import RuntimeClient

        with RuntimeClient(info.endpoint, info.token, timeout=2.0) as client:
            ms = client.ping()
        return OK, "running runtime", f"pid {info.pid} at {info.endpoint} answers ping in {ms:.2f} ms"
    except Exception as exc:
        return NO, "running runtime", f"state file names {info.endpoint} but it does not answer ({exc})"


def run_doctor() -> int:
    rows: list[tuple[str, str, str]] = [
        (INFO, "lsd-runtime", f"{__version__}, protocol v{protocol.VERSION}"),
        (INFO, "python", f"{sys.version.split()[0]} on {platform.platform()}"),
    ]
    for dist in ("torch", "numpy", "pyzmq", "msgpack", "pillow"):
        rows.append((INFO, dist, _version(dist)))
    try:
        import zmq

        rows.append((INFO, "libzmq", zmq.zmq_version()))
        ipc = zmq.has("ipc")
    except ImportError:
        ipc = False
    shm_ok, shm_note = check_shm()
    rows.append((OK if shm_ok else NO, "transport shm", shm_note))
    rows.append((OK, "transport inline", "pixels inside ZeroMQ messages (remote runtimes, baseline)"))
    rows.append(check_cuda_ipc())
    rows.append((OK if ipc else NO, "endpoint ipc://", "available" if ipc else "not in this libzmq; use tcp"))
    rows += check_cuda()
    backends = available_backends()
    rows.append((OK, "backend effects", ", ".join(EFFECTS)))
    for name in ("diffusion",):
        rows.append(
            (
                OK if name in backends else NO,
                f"backend {name}",
                "available" if name in backends else f"not installed: pip install 'lsd-bridge[{name}]'",
            )
        )
    rows.append((INFO, "state directory", str(default_state_dir())))
    rows.append(check_runtime())
    width = max(len(r[1]) for r in rows)
    for mark, what, note in rows:
        print(f"{mark} {what:<{width}}  {note}")
    return 0 if shm_ok else 1
