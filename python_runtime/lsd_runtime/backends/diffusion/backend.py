"""The ``diffusion`` backend: streaming img2img on diffusers models (see ``lsd_runtime.diffusion``)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from ... import protocol
from ..base import Backend, StyleError, StyleRequest, StyleResult
from ..effects import warp_previous
from .accel import model_dtype, prepare_denoise
from .codec import LatentCodec
from .config import CFG_TYPES, MODES, STREAM_PARAMS, STYLE_PARAMS, DiffusionConfig, default_config
from .controlnet import load_controlnet, resolve_controlnet, split_model
from .deep_cache import max_layers
from .lora import LoraRequest, resolve_lora
from .model_cache import get_components, get_safety_checker
from .prompts import PromptEncoder
from .resolve import ModelNotFoundError, ResolvedModel, resolve_model
from .safety import SafetyChecker, resolve_safety_checker
from .sizing import model_size
from .stream import StreamPipeline
from .tensorrt_engine import model_key

MAX_STEPS = 8
MAX_INTERP_FRAMES = 10_000
MAX_FRAME_BUFFER = 16


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
        if kind is list and isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _bad(
                f"params.{key}", f"must be {'an array of integers' if kind is list else kind.__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise _bad(f"params.{key}", "must be finite")
        if isinstance(value, list):
            if len(value) > MAX_STEPS or any(not isinstance(i, int) or isinstance(i, bool) for i in value):
                raise _bad(f"params.{key}", f"must be an array of at most {MAX_STEPS} integers")
            value = tuple(value) or None  # an empty array goes back to strength-derived steps
        if isinstance(value, str) and len(value) > 1024:
            raise _bad(f"params.{key}", "longer than 1024 characters")
        out[key] = value
    checks = {
        "steps": lambda v: 1 <= v <= MAX_STEPS,
        "feedback": lambda v: 0.0 <= v <= 1.0,
        "controlnet_scale": lambda v: 0.0 <= v <= 4.0,
        "stabilize": lambda v: 0.0 <= v <= 0.95,
        "similarity_threshold": lambda v: 0.0 <= v < 1.0,
        "similarity_max_skip": lambda v: 0 <= v <= 1000,
        "interp_frames": lambda v: 0 <= v <= MAX_INTERP_FRAMES,
        "guidance": lambda v: 0.0 <= v <= 30.0,
        "long_side": lambda v: protocol.MIN_MODEL_DIMENSION <= v <= protocol.MAX_MODEL_DIMENSION,
        "cfg_type": lambda v: v in CFG_TYPES,
        "mode": lambda v: v in MODES,
        "delta": lambda v: 0.0 <= v <= 10.0,
        "num_inference_steps": lambda v: 1 <= v <= 50,
        "frame_buffer_size": lambda v: 1 <= v <= MAX_FRAME_BUFFER,
        "lora_scale": lambda v: -10.0 <= v <= 10.0,
        "deep_cache_interval": lambda v: 1 <= v <= 100,
        "deep_cache_layers": lambda v: 1 <= v <= 8,
        "deep_cache_threshold": lambda v: 0.0 <= v <= 10.0,
        "encode_interval": lambda v: 1 <= v <= 1000,
        "encode_threshold": lambda v: 0.0 <= v <= 1.0,
        "token_downsample": lambda v: 1 <= v <= 8,
    }
    for key, ok in checks.items():
        if key in out and not ok(out[key]):
            raise _bad(f"params.{key}", f"out of range: {out[key]}")
    if out.get("lora") == "":
        out["lora"] = None  # an empty name removes the LoRA
    return out


def _check_settings(settings: DiffusionConfig) -> None:
    """What only the merged settings can tell (the steps grid ``t_index_list`` indexes)."""
    ts = settings.t_index_list
    if ts:
        if any(not 0 <= i < settings.num_inference_steps for i in ts):
            raise _bad("params.t_index_list", f"entries must be in 0..{settings.num_inference_steps - 1}")
        if any(b <= a for a, b in zip(ts, ts[1:], strict=False)):
            raise _bad("params.t_index_list", "must increase (each step less noisy than the one before)")


def _weights(settings: DiffusionConfig | None) -> tuple:
    """What of the settings changes the loaded weights (a LoRA, fused at a scale or switchable)."""
    if settings is None:
        return ()
    return (settings.lora, settings.lora_fuse, settings.lora_scale if settings.lora_fuse else None)


class DiffusionBackend(Backend):
    """Streaming img2img (or txt2img). ``set_style(style=model name or folder, prompt, strength,
    seed, params={steps, guidance, cfg_type, delta, t_index_list, feedback, lora, lora_scale,
    deep_cache_interval, ...})``: the keys of ``config.STYLE_PARAMS``."""

    name: ClassVar[str] = "diffusion"

    def __init__(self, device: torch.device | str = "cpu", config: DiffusionConfig | None = None):
        super().__init__(device)
        self.config = config or default_config()
        self._model: str | None = None
        self._resolved: ResolvedModel | None = None
        self._pipeline: StreamPipeline | None = None
        self._settings: DiffusionConfig | None = None
        self._long_side = self.config.long_side
        self._history: tuple[torch.Tensor, torch.Tensor] | None = None  # stabilize: last output, depth

    # ---- Backend interface --------------------------------------------------------------------
    def set_style(self, request: StyleRequest) -> StyleResult:
        params = _check_params(dict(request.params))
        if request.strength is not None and not (
            isinstance(request.strength, (int, float)) and 0.0 <= request.strength <= 1.0
        ):
            raise _bad("strength", "must be in 0..1")
        if request.seed is not None and (isinstance(request.seed, bool) or not isinstance(request.seed, int)):
            raise _bad("seed", "must be an integer")
        model = request.style or self._model or self.config.model
        settings = self._next_settings(request, params, model)
        _check_settings(settings)
        if model != self._model or self._pipeline is None or _weights(settings) != _weights(self._settings):
            pipeline = self._build(model, settings)  # raises StyleError; nothing changed yet
            self._pipeline, self._model = pipeline, model
        else:
            self._check_unet_knobs(self._pipeline.unet, settings)
            self._pipeline.update(settings)
        self._settings = settings
        self._long_side = int(params.get("long_side", self._long_side))
        return StyleResult(style=model)

    def process(
        self,
        frames: torch.Tensor,
        *,
        motion: torch.Tensor | None = None,
        depth: torch.Tensor | None = None,
        reset: bool = False,
    ) -> torch.Tensor:
        if self._pipeline is None:
            try:
                self.set_style(StyleRequest(backend=self.name))
            except StyleError as exc:
                raise RuntimeError(exc.message) from exc
        pipeline = self._pipeline
        assert pipeline is not None
        if reset:
            pipeline.reset()
            self._history = None
        n, _, h, w = frames.shape
        th, tw = max(8, h // 8 * 8), max(8, w // 8 * 8)
        x = frames.to(self.device, torch.float32)
        resized = (th, tw) != (h, w)
        if resized:
            x = F.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False)
        outs = []
        group = pipeline.s.frame_buffer_size  # frames per pipeline call (one UNet call for all)
        for i in range(0, n, group):
            mv = None if motion is None else motion[i : i + group].to(self.device)
            dz = None if depth is None else depth[i : i + group].to(self.device)
            outs.append(pipeline(x[i : i + group], motion=mv, depth=dz))
        out = torch.cat(outs, dim=0)
        if resized:
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False).clamp_(0, 1)
        return self._stabilize(out, motion, depth)

    def _stabilize(
        self, out: torch.Tensor, motion: torch.Tensor | None, depth: torch.Tensor | None
    ) -> torch.Tensor:
        """With the engine's planes: the last output moved to this frame with the exact motion
        (at the model resolution) and blended in where depth says the surface was seen before,
        as temporal anti-aliasing does (``stabilize``: its weight; 0 off)."""
        amount = self._settings.stabilize if self._settings is not None else 0.0
        history, self._history = self._history, None
        if not amount or depth is None or out.shape[0] != 1:
            return out
        depth = depth.to(out.device, torch.float32)
        if motion is not None and history is not None and history[0].shape == out.shape:
            warped, valid = warp_previous(history[0], history[1], motion.to(out.device, torch.float32), depth)
            out = out + (warped - out) * (valid * amount)
        self._history = (out, depth)
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
    def _next_settings(self, request: StyleRequest, params: dict[str, Any], model: str) -> DiffusionConfig:
        base = self._settings
        if base is None or model != self._model:
            steps, guidance = self._defaults_for(model)
            base = dataclasses.replace(base or self.config, steps=steps, guidance=guidance)
        fields = {k: v for k, v in params.items() if k in STREAM_PARAMS}
        if request.prompt is not None:
            fields["prompt"] = request.prompt
        if request.strength is not None:
            fields["strength"] = float(request.strength)
        if request.seed is not None:
            fields["seed"] = int(request.seed)
        return dataclasses.replace(base, **fields)

    def _defaults_for(self, model: str) -> tuple[int, float]:
        """Steps and guidance: the config's when set away from the generic defaults, else the model's."""
        from .catalog import CATALOG

        spec = CATALOG.get(model)
        generic = DiffusionConfig()
        if spec is None:
            return self.config.steps, self.config.guidance
        steps = self.config.steps if self.config.steps != generic.steps else spec.default_steps
        guidance = self.config.guidance if self.config.guidance != generic.guidance else spec.default_guidance
        return steps, guidance

    @staticmethod
    def _check_unet_knobs(unet: torch.nn.Module | None, settings: DiffusionConfig) -> None:
        if settings.deep_cache_interval > 1 and unet is not None:
            limit = max_layers(unet)
            if settings.deep_cache_layers > limit:
                raise _bad("params.deep_cache_layers", f"this model's UNet allows 1..{limit}")

    def _build(self, model: str, settings: DiffusionConfig) -> StreamPipeline:
        c = self.config
        model, depth_net = split_model(model)
        try:
            resolved = resolve_model(model, tiny_vae=c.tiny_vae, vae=c.vae, cache_dir=c.cache_dir)
            dtype = model_dtype(self.device, c.fp16)
            controlnet = None
            if depth_net is not None:  # "<model>+depth[=<ControlNet>]"
                controlnet = load_controlnet(
                    resolve_controlnet(model, depth_net, c.cache_dir), self.device, dtype
                )
            lora = None
            if settings.lora:
                source = resolve_lora(settings.lora, c.cache_dir)
                lora = LoraRequest(source, settings.lora_scale if settings.lora_fuse else None)
            components = get_components(resolved, self.device, dtype, progress=c.progress, lora=lora)
            safety: SafetyChecker | None = None
            if settings.safety_checker:
                folder, processor = resolve_safety_checker(c.safety_checker_model, resolved.path, c.cache_dir)
                safety = get_safety_checker(folder, processor, self.device, dtype)
        except ModelNotFoundError as exc:
            raise StyleError("unknown_style", str(exc)) from exc
        self._check_unet_knobs(components.unet, settings)
        self._resolved = resolved
        denoise = prepare_denoise(
            components.unet,
            self.device,
            channels_last=c.channels_last,
            compile=c.compile,
            cuda_graph=c.cuda_graph,
            tensorrt=c.tensorrt,
            engine_dir=c.engine_dir,
            engine_key=model_key(resolved.path, resolved.lora_path, settings.lora, settings.lora_scale),
        )
        return StreamPipeline(
            LatentCodec(components.vae, dtype),
            denoise,
            PromptEncoder(components, lora_scale=settings.lora_scale),
            components.schedule,
            components.family,
            dtype,
            self.device,
            settings,
            unet=components.unet,
            safety=safety,
            lora=components.lora,
            controlnet=controlnet,
        )
