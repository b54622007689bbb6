"""TensorRT engines for the UNet, built from its ONNX export and cached on disk.

UNVERIFIED: no machine this was written on had a GPU or the ``tensorrt`` package; the cache,
its key and the fallback are tested, the engine build and the engine run are not. The README
and BENCHMARKS.md say so until a GPU run says otherwise.

One engine per input shape (batch, latent size, tokens) with a static optimisation profile, as
StreamDiffusion builds them. The cache key is the model (its folder and LoRA), the shapes, the
precision, the GPU (name and compute capability) and the TensorRT version: a key that matches
loads the engine from ``engine_dir`` in a second; anything else builds a new one (minutes).
Where TensorRT cannot run (no CUDA device, no ``tensorrt`` package, a failed build) the stream
keeps the PyTorch UNet and the log says why, once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from .onnx_export import export_unet, unet_inputs

log = logging.getLogger(__name__)

WORKSPACE_BYTES = 8 << 30  # builder scratch memory: not a protocol limit


def default_engine_dir() -> Path:
    return Path.home() / ".cache" / "lsd-bridge" / "tensorrt"


def tensorrt_unavailable(device: torch.device) -> str | None:
    """Why TensorRT cannot run here, or None when it can."""
    if device.type != "cuda":
        return f"TensorRT needs a CUDA device (this runtime runs on {device.type})"
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "the tensorrt package is not installed (pip install 'lsd-bridge[tensorrt]')"
    return None


@dataclass(frozen=True)
class EngineKey:
    model: str  # the model's folder (and LoRA): what the weights are
    shapes: tuple[tuple[str, tuple[int, ...]], ...]  # input name → shape
    precision: str  # fp16 or fp32
    gpu: str  # device name and compute capability
    tensorrt: str  # TensorRT version

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]


def model_key(
    path: Path | str, lora_path: Path | str | None = None, lora: str | None = None, scale: float = 1.0
) -> str:
    """What the weights are: the model folder, a catalogue LoRA, a session's LoRA and its scale."""
    return f"{path}|{lora_path}|{lora}@{scale if lora else ''}"


def gpu_identity(device: torch.device) -> str:
    if device.type != "cuda":
        return device.type
    major, minor = torch.cuda.get_device_capability(device)
    return f"{torch.cuda.get_device_name(device)} sm_{major}{minor}"


class EngineCache:
    """Engines on disk by ``EngineKey``; ``build`` makes one from an ONNX file when missing."""

    def __init__(self, folder: Path, build: Callable[[Path, Path, EngineKey], None]):
        self.folder = folder
        self.build = build
        self.builds = 0

    def path(self, key: EngineKey) -> Path:
        return self.folder / f"{key.digest()}.engine"

    def get(self, key: EngineKey, onnx: Callable[[], Path]) -> Path:
        """The engine file for ``key``, built from ``onnx()`` (called only when needed)."""
        path = self.path(key)
        if path.exists():
            return path
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".partial")
        self.build(onnx(), tmp, key)
        tmp.replace(path)  # a crash mid-build leaves no engine that looks complete
        path.with_suffix(".json").write_text(json.dumps(asdict(key), indent=2) + "\n")
        self.builds += 1
        return path


def build_engine(
    onnx_path: Path, engine_path: Path, key: EngineKey
) -> None:  # pragma: no cover - needs a GPU
    """Parse ``onnx_path`` and build a serialized engine for the key's static shapes."""
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if key.precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, shape in key.shapes:
        profile.set_shape(name, shape, shape, shape)
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT could not build the engine (see its log above)")
    engine_path.write_bytes(bytes(serialized))


class EngineRunner:  # pragma: no cover - needs a GPU
    """A deserialized engine run on the current CUDA stream (TensorRT's tensor-address API)."""

    def __init__(self, path: Path):
        import tensorrt as trt

        self.runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = self.runtime.deserialize_cuda_engine(path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"cannot load the TensorRT engine {path}")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if n not in self.inputs]

    def __call__(
        self, inputs: dict[str, torch.Tensor], out_shape: tuple[int, ...], dtype: torch.dtype
    ) -> torch.Tensor:
        keep = []
        for name in self.inputs:
            tensor = inputs[name].contiguous()
            keep.append(tensor)
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        out = torch.empty(out_shape, dtype=dtype, device=keep[0].device)
        self.context.set_tensor_address(self.outputs[0], out.data_ptr())
        if not self.context.execute_async_v3(torch.cuda.current_stream().cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        return out


class TensorRTDenoise:  # pragma: no cover - needs a GPU
    """The UNet as TensorRT engines (one per input shape), else ``fallback``, as a DenoiseFn."""

    def __init__(
        self,
        unet: Any,
        fallback: Callable[..., torch.Tensor],
        device: torch.device,
        model_key: str,
        engine_dir: Path | None = None,
        sdxl: bool = False,
    ):
        import tensorrt as trt

        self.unet = unet
        self.fallback = fallback
        self.device = device
        self.model_key = model_key
        self.sdxl = sdxl
        self.dtype = next(unet.parameters()).dtype
        self.cache = EngineCache(engine_dir or default_engine_dir(), build_engine)
        self.version = str(trt.__version__)
        self._runners: dict[tuple, EngineRunner] = {}
        self._failed: set[tuple] = set()

    def _onnx(self, latent_hw: tuple[int, int], tokens: int) -> Path:
        name = hashlib.sha256(self.model_key.encode()).hexdigest()[:32]
        path = self.cache.folder / "onnx" / name / "unet.onnx"
        if not path.exists():
            log.info("exporting the UNet to ONNX (%s)", path)
            export_unet(self.unet, path, latent_hw=latent_hw, tokens=tokens, sdxl=self.sdxl)
        return path

    def __call__(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        hidden: torch.Tensor,
        text_embeds: torch.Tensor | None = None,
        time_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        added = (text_embeds, time_ids) if self.sdxl else (None, None)
        inputs = unet_inputs(x, t, hidden, *added)
        shapes = tuple((k, tuple(v.shape)) for k, v in inputs.items())
        if shapes in self._failed:
            return self.fallback(x, t, hidden, text_embeds, time_ids)
        runner = self._runners.get(shapes)
        if runner is None:
            key = EngineKey(
                self.model_key,
                shapes,
                "fp16" if self.dtype == torch.float16 else "fp32",
                gpu_identity(self.device),
                self.version,
            )
            try:
                log.info(
                    "TensorRT engine for %s (built once, then cached in %s)", dict(shapes), self.cache.folder
                )
                path = self.cache.get(key, lambda: self._onnx((x.shape[-2], x.shape[-1]), hidden.shape[1]))
                runner = self._runners[shapes] = EngineRunner(path)
            except Exception as exc:  # any failure falls back, loudly, once per shape
                log.warning("TensorRT unavailable for %s (%s); running the PyTorch UNet", dict(shapes), exc)
                self._failed.add(shapes)
                return self.fallback(x, t, hidden, text_embeds, time_ids)
        return runner(inputs, tuple(x.shape), x.dtype)


def build_unet_engine(  # pragma: no cover - needs a GPU
    components: Any,
    onnx_path: Path,
    key: str,
    batch: int,
    latent_hw: tuple[int, int],
    engine_dir: Path | None = None,
) -> Path:
    """The engine a session would build on its first frame at this shape, built ahead of time."""
    import tensorrt as trt

    unet = components.unet
    config = unet.config
    shapes: list[tuple[str, tuple[int, ...]]] = [
        ("sample", (batch, int(config.in_channels), *latent_hw)),
        ("timestep", (batch,)),
        ("encoder_hidden_states", (batch, 77, int(config.cross_attention_dim))),
    ]
    if components.family == "sdxl":
        pooled = int(config.projection_class_embeddings_input_dim) - 6 * int(config.addition_time_embed_dim)
        shapes += [("text_embeds", (batch, pooled)), ("time_ids", (batch, 6))]
    device = next(unet.parameters()).device
    dtype = next(unet.parameters()).dtype
    engine_key = EngineKey(
        key,
        tuple(shapes),
        "fp16" if dtype == torch.float16 else "fp32",
        gpu_identity(device),
        str(trt.__version__),
    )
    return EngineCache(engine_dir or default_engine_dir(), build_engine).get(engine_key, lambda: onnx_path)
