"""Lazy access to cuda-python's driver and NVRTC bindings, with errors that say what is missing.

Nothing here imports cuda-python at module import time. ``driver()`` loads the bindings,
runs ``cuInit`` once and raises ``CudaUnavailable`` naming the missing piece: the
cuda-python package, the NVIDIA driver library (libcuda), or a usable device.
"""

from __future__ import annotations

import ctypes
import threading
from types import ModuleType
from typing import Any

from .. import protocol


class CudaUnavailable(RuntimeError):
    """CUDA cannot be used on this machine; the message names what is missing."""


IPC_HANDLE_BYTES = protocol.IPC_HANDLE_BYTES  # CU_IPC_HANDLE_SIZE: CUipcMemHandle, CUipcEventHandle
INSTALL_HINT = "pip install cuda-python (it must not replace torch)"

_lock = threading.Lock()
_driver: ModuleType | None = None


def import_driver_bindings() -> ModuleType:
    """The ``driver`` bindings module (no driver call yet); CudaUnavailable if not installed."""
    try:
        from cuda.bindings import driver as drv  # cuda-python >= 12.8
    except ImportError:
        try:
            from cuda import cuda as drv  # older cuda-python
        except ImportError:
            raise CudaUnavailable(
                f"CUDA unavailable: the cuda-python package is not installed ({INSTALL_HINT})"
            ) from None
    return drv


def import_nvrtc_bindings() -> ModuleType:
    try:
        from cuda.bindings import nvrtc
    except ImportError:
        try:
            from cuda import nvrtc
        except ImportError:
            raise CudaUnavailable(
                f"NVRTC unavailable: the cuda-python package is not installed ({INSTALL_HINT})"
            ) from None
    return nvrtc


def driver() -> ModuleType:
    """The driver bindings after a successful ``cuInit(0)``."""
    global _driver
    with _lock:
        if _driver is not None:
            return _driver
        drv = import_driver_bindings()
        try:
            result = drv.cuInit(0)
        except Exception as exc:  # cuda-pathfinder: DynamicLibNotFoundError, RuntimeError in old versions
            raise CudaUnavailable(
                f"CUDA unavailable: the NVIDIA driver library libcuda.so could not be "
                f"loaded ({type(exc).__name__}: {exc})"
            ) from None
        err = result[0]
        if int(err) != 0:
            raise CudaUnavailable(
                f"CUDA unavailable: cuInit failed with {error_name(drv, err)} "
                "(no NVIDIA device visible, or the driver is not working)"
            )
        _driver = drv
        return drv


def error_name(drv: ModuleType, err: Any) -> str:
    try:
        res = drv.cuGetErrorName(err)
        name = res[1]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:
        return str(err)


def check(result: Any, what: str) -> Any:
    """Unwrap a cuda-python ``(error, *values)`` tuple; RuntimeError naming ``what`` on failure."""
    if not isinstance(result, tuple):
        result = (result,)
    err = result[0]
    if int(err) != 0:
        drv = import_driver_bindings()
        raise RuntimeError(f"{what} failed: {error_name(drv, err)}")
    values = result[1:]
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def handle_to_bytes(handle: Any) -> bytes:
    """The 64 opaque bytes of a ``CUipcMemHandle`` / ``CUipcEventHandle``."""
    return ctypes.string_at(handle.getPtr(), IPC_HANDLE_BYTES)


def handle_from_bytes(cls: Any, data: bytes) -> Any:
    """A ``cls`` handle (``CUipcMemHandle`` or ``CUipcEventHandle``) holding ``data``."""
    if not isinstance(data, bytes | bytearray | memoryview) or len(data) != IPC_HANDLE_BYTES:
        size = len(data) if isinstance(data, bytes | bytearray | memoryview) else type(data).__name__
        raise ValueError(f"a CUDA IPC handle is {IPC_HANDLE_BYTES} bytes, got {size}")
    handle = cls()
    ctypes.memmove(handle.getPtr(), bytes(data), IPC_HANDLE_BYTES)
    return handle


def primary_context(device_index: int) -> tuple[Any, Any]:
    """``(CUdevice, CUcontext)``: the device's primary context (the one torch uses), retained."""
    drv = driver()
    count = check(drv.cuDeviceGetCount(), "cuDeviceGetCount")
    if not 0 <= device_index < count:
        raise CudaUnavailable(f"CUDA device {device_index} does not exist ({count} visible)")
    dev = check(drv.cuDeviceGet(device_index), "cuDeviceGet")
    ctx = check(drv.cuDevicePrimaryCtxRetain(dev), "cuDevicePrimaryCtxRetain")
    return dev, ctx


class ContextScope:
    """``with ContextScope(ctx):`` makes ``ctx`` current on this thread for the block."""

    def __init__(self, ctx: Any):
        self.ctx = ctx

    def __enter__(self) -> None:
        check(driver().cuCtxPushCurrent(self.ctx), "cuCtxPushCurrent")

    def __exit__(self, *exc: Any) -> None:
        check(driver().cuCtxPopCurrent(), "cuCtxPopCurrent")
