"""Build (NVRTC, through cuda-python) and launch the texture kernels of ``kernels/``.

- ``compile_kernels(arch)`` compiles ``texture_kernels.cu`` to CUBIN (``sm_XY``) or PTX
  (``compute_XY``); it needs NVRTC but no GPU.
- ``device_kernels(index)`` compiles for that device's compute capability once per process
  and loads the module into the device's primary context (the one torch uses); cached
  per device.
- ``texture_to_tensor`` / ``tensor_to_texture`` launch on a CUDA stream (torch's current
  stream unless one is given) and never synchronise the host.

Launch shape: blocks of 32 × 8 threads, one thread per output pixel, grid
``(ceil(W / 32), ceil(H / 8))``. A warp covers 32 consecutive pixels of one row, so texture
reads/writes are 128-byte (RGBA8) or 256-byte (RGBA16F) runs and each tensor plane is
written in 128-byte (fp32) or 64-byte (fp16) runs; 256 threads per block keep enough
blocks resident per SM with the few registers these kernels need. 1080p is 60 × 135
blocks. No shared memory: neighbouring resize taps are served by L1/L2.

The source ships in the package (``lsd_runtime.kernels``, the repository's ``kernels/``
folder); ``$LSD_BRIDGE_KERNELS_DIR`` overrides it while editing a kernel. Without CUDA every
entry point raises ``CudaUnavailable`` naming what is missing; importing this module never
needs it.
"""

from __future__ import annotations

import ctypes
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from ..transport.cuda_driver import (
    ContextScope,
    CudaUnavailable,
    check,
    driver,
    import_nvrtc_bindings,
    primary_context,
)
from .pixel_formats import RingSpec

SOURCE_NAME = "texture_kernels.cu"
KERNEL_NAMES = ("lsd_texture_to_tensor", "lsd_tensor_to_texture")
BLOCK = (32, 8, 1)
FORMAT_CODES = {"rgba8": 0, "bgra8": 1, "rgba16f": 2}
COLOR_CODES = {"srgb": 0, "linear": 1}
DTYPE_CODES = {torch.float32: 0, torch.float16: 1}
RANGE_CODES = {"01": 0, "pm1": 1}
NVRTC_OPTIONS = ("--std=c++17",)  # IEEE division and sqrt (NVRTC's defaults); no fast math


class KernelBuildError(RuntimeError):
    """NVRTC rejected the source; the message holds the compiler log."""


def packaged_source(name: str) -> Path:
    """Kernel source ``name`` as shipped in ``lsd_runtime.kernels`` (the repository's ``kernels/``).

    That package has no ``__init__.py`` on purpose: the repository's top-level ``kernels/`` must
    not be importable as a regular package named ``kernels``, or it would shadow the Hugging
    Face ``kernels`` package that transformers imports whenever the repository root is on
    ``sys.path`` (``python -m`` from a checkout). An installed wheel imports it as a namespace
    package; setuptools' editable finder cannot map a namespace package inside a regular one,
    so an editable install reads the checkout's folder, next to this package's sources."""
    try:
        return Path(str(resources.files("lsd_runtime.kernels").joinpath(name)))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[3] / "kernels" / name


def source_path() -> Path:
    """The kernel source: ``$LSD_BRIDGE_KERNELS_DIR/texture_kernels.cu`` if set, else the packaged copy."""
    env = os.environ.get("LSD_BRIDGE_KERNELS_DIR")
    path = Path(env) / SOURCE_NAME if env else packaged_source(SOURCE_NAME)
    if not path.is_file():
        raise FileNotFoundError(
            f"{SOURCE_NAME} not found at {path}"
            + (
                "; LSD_BRIDGE_KERNELS_DIR names the wrong folder"
                if env
                else "; the lsd_runtime.kernels package is incomplete (reinstall lsd-bridge)"
            )
        )
    return path


def grid_for(width: int, height: int) -> tuple[int, int, int]:
    return (-(-width // BLOCK[0]), -(-height // BLOCK[1]), 1)


def compile_kernels(arch: str = "compute_90", source: bytes | None = None) -> bytes:
    """NVRTC-compile the kernels: CUBIN for ``sm_XY``, PTX for ``compute_XY``. Needs no GPU."""
    nvrtc = import_nvrtc_bindings()
    src = source if source is not None else source_path().read_bytes()
    try:
        err, prog = nvrtc.nvrtcCreateProgram(src, SOURCE_NAME.encode(), 0, [], [])
    except Exception as exc:  # libnvrtc missing: cuda-pathfinder raises on first use
        raise CudaUnavailable(
            f"NVRTC unavailable: libnvrtc could not be loaded ({exc}); install the "
            "CUDA toolkit or the nvidia-cuda-nvrtc wheel"
        ) from None
    _nvrtc_check(nvrtc, err, "nvrtcCreateProgram")
    try:
        opts = [f"--gpu-architecture={arch}".encode(), *(o.encode() for o in NVRTC_OPTIONS)]
        (err,) = nvrtc.nvrtcCompileProgram(prog, len(opts), opts)
        if int(err) != 0:
            raise KernelBuildError(f"NVRTC failed for {arch}:\n{_nvrtc_log(nvrtc, prog)}")
        if arch.startswith("sm_"):
            size = _nvrtc_check(nvrtc, *nvrtc.nvrtcGetCUBINSize(prog), "nvrtcGetCUBINSize")
            image = b" " * size
            _nvrtc_check(nvrtc, *nvrtc.nvrtcGetCUBIN(prog, image), "nvrtcGetCUBIN")
        else:
            size = _nvrtc_check(nvrtc, *nvrtc.nvrtcGetPTXSize(prog), "nvrtcGetPTXSize")
            image = b" " * size
            _nvrtc_check(nvrtc, *nvrtc.nvrtcGetPTX(prog, image), "nvrtcGetPTX")
        return image
    finally:
        nvrtc.nvrtcDestroyProgram(prog)


def _nvrtc_check(nvrtc: Any, err: Any, *rest: Any) -> Any:
    what = rest[-1]
    if int(err) != 0:
        raise KernelBuildError(f"{what} failed: {nvrtc.nvrtcGetErrorString(err)[1]!r}")
    return rest[0] if len(rest) > 1 else None


def _nvrtc_log(nvrtc: Any, prog: Any) -> str:
    _, size = nvrtc.nvrtcGetProgramLogSize(prog)
    log = b" " * size
    nvrtc.nvrtcGetProgramLog(prog, log)
    return log.rstrip(b"\x00").decode(errors="replace")


@dataclass
class DeviceKernels:
    """The kernels loaded into one device's primary context."""

    device_index: int
    arch: str
    context: Any
    module: Any
    functions: dict[str, Any]


_cache: dict[int, DeviceKernels] = {}
_cache_lock = threading.Lock()


def device_kernels(device_index: int) -> DeviceKernels:
    """Compile (once per process and device) and load the kernels for ``cuda:device_index``."""
    with _cache_lock:
        cached = _cache.get(device_index)
        if cached is not None:
            return cached
        drv = driver()
        dev, ctx = primary_context(device_index)
        attr = drv.CUdevice_attribute
        major = check(
            drv.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev),
            "cuDeviceGetAttribute",
        )
        minor = check(
            drv.cuDeviceGetAttribute(attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev),
            "cuDeviceGetAttribute",
        )
        arch = f"sm_{major}{minor}"
        image = compile_kernels(arch)
        with ContextScope(ctx):
            module = check(drv.cuModuleLoadData(image), "cuModuleLoadData")
            functions = {
                name: check(drv.cuModuleGetFunction(module, name.encode()), "cuModuleGetFunction")
                for name in KERNEL_NAMES
            }
        loaded = DeviceKernels(device_index, arch, ctx, module, functions)
        _cache[device_index] = loaded
        return loaded


def _require_cuda_tensor(t: torch.Tensor, what: str) -> int:
    if t.device.type != "cuda":
        raise CudaUnavailable(
            f"{what} is on {t.device}; the CUDA kernels need CUDA tensors (use kernel_reference on CPU)"
        )
    return t.device.index if t.device.index is not None else torch.cuda.current_device()


def _stream_handle(stream: torch.cuda.Stream | int | None, device_index: int) -> int:
    if stream is None:
        return torch.cuda.current_stream(device_index).cuda_stream
    return stream if isinstance(stream, int) else stream.cuda_stream


def _launch(
    kernels: DeviceKernels, name: str, width: int, height: int, stream: int, args: list[tuple[int, Any]]
) -> None:
    drv = driver()
    values = tuple(v for v, _ in args)
    types = tuple(t for _, t in args)
    gx, gy, gz = grid_for(width, height)
    with ContextScope(kernels.context):
        check(
            drv.cuLaunchKernel(
                kernels.functions[name], gx, gy, gz, *BLOCK, 0, drv.CUstream(stream), (values, types), 0
            ),
            f"launching {name}",
        )


def texture_to_tensor(
    slot: torch.Tensor,
    spec: RingSpec,
    width: int,
    height: int,
    dtype: torch.dtype = torch.float32,
    value_range: str = "01",
    out: torch.Tensor | None = None,
    stream: torch.cuda.Stream | int | None = None,
) -> torch.Tensor:
    """Launch ``lsd_texture_to_tensor``: slot bytes (1-D uint8 CUDA tensor) → ``[1, 3, h, w]``."""
    index = _require_cuda_tensor(slot, "the slot")
    if slot.dtype != torch.uint8 or slot.dim() != 1 or slot.numel() < spec.size:
        raise ValueError(f"slot must be 1-D uint8 of at least {spec.size} bytes")
    if dtype not in DTYPE_CODES or value_range not in RANGE_CODES:
        raise ValueError(f"unsupported dtype {dtype} or value_range {value_range!r}")
    if out is None:
        out = torch.empty((1, 3, height, width), dtype=dtype, device=slot.device)
    elif out.shape != (1, 3, height, width) or out.dtype != dtype or not out.is_contiguous():
        raise ValueError(f"out must be a contiguous [1, 3, {height}, {width}] {dtype} tensor")
    k = device_kernels(index)
    ptr, i32, i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong
    _launch(
        k,
        "lsd_texture_to_tensor",
        width,
        height,
        _stream_handle(stream, index),
        [
            (slot.data_ptr(), ptr),
            (spec.width, i32),
            (spec.height, i32),
            (spec.pitch, i64),
            (FORMAT_CODES[spec.format], i32),
            (int(spec.bottom_up), i32),
            (COLOR_CODES[spec.color], i32),
            (out.data_ptr(), ptr),
            (width, i32),
            (height, i32),
            (DTYPE_CODES[dtype], i32),
            (RANGE_CODES[value_range], i32),
        ],
    )
    return out


def tensor_to_texture(
    image: torch.Tensor,
    spec: RingSpec,
    slot: torch.Tensor,
    value_range: str = "01",
    stream: torch.cuda.Stream | int | None = None,
) -> torch.Tensor:
    """Launch ``lsd_tensor_to_texture``: ``[1, 3, h, w]`` fp16/fp32 CUDA tensor → slot bytes."""
    index = _require_cuda_tensor(image, "the image")
    _require_cuda_tensor(slot, "the slot")
    if image.dim() != 4 or image.shape[:2] != (1, 3) or image.dtype not in DTYPE_CODES:
        raise ValueError(
            f"image must be [1, 3, H, W] float32/float16, got {image.dtype} {tuple(image.shape)}"
        )
    if slot.dtype != torch.uint8 or slot.dim() != 1 or slot.numel() < spec.size:
        raise ValueError(f"slot must be 1-D uint8 of at least {spec.size} bytes")
    if value_range not in RANGE_CODES:
        raise ValueError(f"unsupported value_range {value_range!r}")
    image = image.contiguous()
    k = device_kernels(index)
    ptr, i32, i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong
    _launch(
        k,
        "lsd_tensor_to_texture",
        spec.width,
        spec.height,
        _stream_handle(stream, index),
        [
            (image.data_ptr(), ptr),
            (image.shape[3], i32),
            (image.shape[2], i32),
            (DTYPE_CODES[image.dtype], i32),
            (RANGE_CODES[value_range], i32),
            (slot.data_ptr(), ptr),
            (spec.width, i32),
            (spec.height, i32),
            (spec.pitch, i64),
            (FORMAT_CODES[spec.format], i32),
            (int(spec.bottom_up), i32),
            (COLOR_CODES[spec.color], i32),
        ],
    )
    return slot
