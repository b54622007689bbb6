"""The ``diffusion`` backend: streaming img2img on diffusers models (see ``lsd_runtime.diffusion``)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ..diffusion.accel import model_dtype, prepare_denoise
from ..diffusion.codec import LatentCodec
from ..diffusion.config import STYLE_PARAMS, DiffusionConfig, default_config
from ..diffusion.model_cache import get_components
from ..diffusion.prompts import PromptEncoder
from ..diffusion.resolve import ModelNotFoundError, ResolvedModel, resolve_model
from ..diffusion.sizing import model_size
from ..diffusion.stream import StreamPipeline, StreamSettings
from .base import Backend, StyleError, StyleRequest, StyleResult

MAX_STEPS = 8
MAX_INTERP_FRAMES = 10_000


def _bad(field: str, message: str) -> StyleError:
    return StyleError("bad_field", f"{field}: {message}")


def _check_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        kind = STYLE_PARAMS.get(key)
        if kind is None:
            raise _bad(f"params.{str(key)[:64]}", f"unknown; known: {', '.join(STYLE_PARAMS)}")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _bad(f"params.{key}", f"must be {kind.__name__}")
        if kind is float and not math.isfinite(value):
            raise _bad(f"params.{key}", "must be finite")
        out[key] = value
    checks = {
        "steps": lambda v: 1 <= v <= MAX_STEPS,
        "feedback": lambda v: 0.0 <= v <= 1.0,
        "similarity_threshold": lambda v: 0.0 <= v < 1.0,
        "similarity_max_skip": lambda v: 0 <= v <= 1000,
        "interp_frames": lambda v: 0 <= v <= MAX_INTERP_FRAMES,
        "guidance": lambda v: 0.0 <= v <= 30.0,
        "long_side": lambda v: 8 <= v <= 4096,
    }
    for key, ok in checks.items():
        if key in out and not ok(out[key]):
            raise _bad(f"params.{key}", f"out of range: {out[key]}")
    return out


class DiffusionBackend(Backend):
    """Streaming img2img. ``set_style(style=model name or folder, prompt, strength, seed,
    params={steps, guidance, feedback, interp_frames, similarity_threshold, ...})``."""

    name: ClassVar[str] = "diffusion"

    def __init__(self, device: torch.device | str = "cpu", config: DiffusionConfig | None = None):
        super().__init__(device)
        self.config = config or default_config()
        self._model: str | None = None
        self._resolved: ResolvedModel | None = None
        self._pipeline: StreamPipeline | None = None
        self._settings: StreamSettings | None = None
        self._long_side = self.config.long_side

    # ---- Backend interface --------------------------------------------------------------------
    def set_style(self, request: StyleRequest) -> StyleResult:
        params = _check_params(dict(request.params))
        if request.strength is not None and not (
                isinstance(request.strength, (int, float)) and 0.0 <= request.strength <= 1.0):
            raise _bad("strength", "must be in 0..1")
        if request.seed is not None and (isinstance(request.seed, bool) or not isinstance(request.seed, int)):
            raise _bad("seed", "must be an integer")
        model = request.style or self._model or self.config.model
        settings = self._next_settings(request, params, model)
        if model != self._model or self._pipeline is None:
            pipeline = self._build(model, settings)  # raises StyleError; nothing changed yet
            self._pipeline, self._model = pipeline, model
        else:
            self._pipeline.update(settings)
        self._settings = settings
        self._long_side = int(params.get("long_side", self._long_side))
        return StyleResult(style=model)

    def process(self, frames: torch.Tensor, *, motion: torch.Tensor | None = None,
                depth: torch.Tensor | None = None, reset: bool = False) -> torch.Tensor:
        if self._pipeline is None:
            try:
                self.set_style(StyleRequest(backend=self.name))
            except StyleError as exc:
                raise RuntimeError(exc.message) from exc
        pipeline = self._pipeline
        assert pipeline is not None
        if reset:
            pipeline.reset()
        n, _, h, w = frames.shape
        th, tw = max(8, h // 8 * 8), max(8, w // 8 * 8)
        x = frames.to(self.device, torch.float32)
        resized = (th, tw) != (h, w)
        if resized:
            x = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False)
        outs = []
        for i in range(n):
            mv = None if motion is None else motion[i:i + 1].to(self.device)
            outs.append(pipeline(x[i:i + 1], motion=mv))
        out = torch.cat(outs, dim=0)
        if resized:
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False).clamp_(0, 1)
        return out

    def model_size(self, width: int, height: int) -> tuple[int, int]:
        return model_size(width, height, self._long_side)

    @property
    def is_identity(self) -> bool:
        return self._settings is not None and self._settings.strength <= 0.0

    @property
    def style_name(self) -> str:
        return self._model or ""

    @property
    def pipeline(self) -> StreamPipeline | None:
        return self._pipeline

    def close(self) -> None:
        self._pipeline = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # ---- internals ------------------------------------------------------------------------------
    def _next_settings(self, request: StyleRequest, params: dict[str, Any], model: str) -> StreamSettings:
        base = self._settings
        if base is None or model != self._model:
            steps, guidance = self._defaults_for(model)
            if base is None:
                base = StreamSettings.from_config(self.config)
            base = dataclasses.replace(base, steps=steps, guidance=guidance)
        fields = {k: v for k, v in params.items() if k in StreamSettings.__dataclass_fields__}
        if request.prompt is not None:
            fields["prompt"] = request.prompt
        if request.strength is not None:
            fields["strength"] = float(request.strength)
        if request.seed is not None:
            fields["seed"] = int(request.seed)
        return dataclasses.replace(base, **fields)

    def _defaults_for(self, model: str) -> tuple[int, float]:
        """Steps and guidance: the config's when set away from the generic defaults, else the model's."""
        from ..diffusion.catalog import CATALOG

        spec = CATALOG.get(model)
        generic = DiffusionConfig()
        keep_steps = self.config.steps != generic.steps or spec is None
        steps = self.config.steps if keep_steps else spec.default_steps
        guidance = (self.config.guidance if self.config.guidance != generic.guidance or spec is None
                    else spec.default_guidance)
        return steps, guidance

    def _build(self, model: str, settings: StreamSettings) -> StreamPipeline:
        c = self.config
        try:
            resolved = resolve_model(model, tiny_vae=c.tiny_vae, vae=c.vae, cache_dir=c.cache_dir)
            dtype = model_dtype(self.device, c.fp16)
            components = get_components(resolved, self.device, dtype, progress=c.progress)
        except ModelNotFoundError as exc:
            raise StyleError("unknown_style", str(exc)) from exc
        self._resolved = resolved
        denoise = prepare_denoise(components.unet, self.device, channels_last=c.channels_last,
                                  compile=c.compile, cuda_graph=c.cuda_graph)
        return StreamPipeline(LatentCodec(components.vae, dtype), denoise, PromptEncoder(components),
                              components.schedule, components.family, dtype, self.device, settings)
