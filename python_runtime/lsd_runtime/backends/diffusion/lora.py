"""LoRA adapters: any LoRA by file, folder or Hugging Face repo id, fused or switchable.

- *fused*: the LoRA, scaled, is added into the weights once at load (the UNet then costs what it
  cost without it); a new scale loads the model again.
- *switchable*: the LoRA stays beside the weights as peft layers (a little extra work per
  call) and its scale can change every frame; scale 0 adds exactly nothing.

Either way the LoRA is part of what the model cache loads (``model_cache.get_components``):
sessions with the same model and LoRA share one copy, a session without it keeps the plain
weights. Sessions sharing a switchable LoRA take turns through ``SwitchableLora.lock``, each
setting its own scale before its UNet call or prompt encoding.

Like models, LoRAs load offline only: a hub id must be in the cache (``lsd-runtime models pull
--files owner/name`` downloads one).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .resolve import FILE_PATTERNS, ModelNotFoundError, cached_snapshot

ADAPTER = "lsd_style"


@dataclass(frozen=True)
class LoraSource:
    """Where a LoRA's weights are: a folder and, when it holds several, the file's name."""

    name: str
    folder: Path
    weight_name: str | None = None


@dataclass(frozen=True)
class LoraRequest:
    """A LoRA as the model cache keys it: ``fuse_scale`` None means switchable."""

    source: LoraSource
    fuse_scale: float | None = None


def resolve_lora(name: str, cache_dir: Path | None = None) -> LoraSource:
    """A ``.safetensors`` file, a folder, or ``owner/repo[:file.safetensors]`` in the hub cache."""
    local = Path(name).expanduser()
    if local.is_file():
        return LoraSource(name, local.parent, local.name)
    if local.is_dir():
        return LoraSource(name, local, None)
    repo, _, weight = name.partition(":")
    if repo.count("/") != 1:
        raise ModelNotFoundError(
            name,
            "not a LoRA file, a folder, nor a hub repo id",
            hint="name a .safetensors file, a folder or owner/name",
        )
    found = cached_snapshot(repo, FILE_PATTERNS, cache_dir)
    if found is None:
        raise ModelNotFoundError(
            repo, "a LoRA not in the Hugging Face cache", hint=f"run: lsd-runtime models pull --files {repo}"
        )
    return LoraSource(name, found, weight or None)


def _pipeline_for(components: Any) -> Any:
    """A diffusers pipeline object around the loaded parts: its LoRA mixin reads every LoRA
    format diffusers knows (diffusers, kohya, PEFT) and puts the layers into our modules."""
    from diffusers import LCMScheduler, StableDiffusionPipeline, StableDiffusionXLPipeline

    if components.family == "sdxl":
        return StableDiffusionXLPipeline(
            vae=components.vae,
            text_encoder=components.text_encoders[0],
            text_encoder_2=components.text_encoders[1],
            tokenizer=components.tokenizers[0] if components.tokenizers else None,
            tokenizer_2=components.tokenizers[1] if len(components.tokenizers) > 1 else None,
            unet=components.unet,
            scheduler=LCMScheduler(steps_offset=1),
        )
    return StableDiffusionPipeline(
        vae=components.vae,
        text_encoder=components.text_encoders[0],
        tokenizer=components.tokenizers[0] if components.tokenizers else None,
        unet=components.unet,
        scheduler=LCMScheduler(steps_offset=1),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _needs_peft(name: str) -> None:
    try:
        import peft  # noqa: F401
    except ImportError as exc:
        raise ModelNotFoundError(name, "LoRA needs the 'peft' package: pip install peft") from exc


def fuse_lora_file(components: Any, source: LoraSource, scale: float = 1.0, adapter: str = ADAPTER) -> None:
    """Add ``scale`` × the LoRA into the UNet's (and text encoders') weights, then drop the layers."""
    _needs_peft(source.name)
    pipe = _pipeline_for(components)
    try:
        pipe.load_lora_weights(str(source.folder), weight_name=source.weight_name, adapter_name=adapter)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotFoundError(source.name, f"cannot load the LoRA: {exc}") from exc
    pipe.fuse_lora(lora_scale=scale, adapter_names=[adapter])
    pipe.unload_lora_weights()


class SwitchableLora:
    """A LoRA kept as peft layers in a loaded model; ``scaled(s)`` runs a call at scale ``s``."""

    def __init__(self, components: Any, source: LoraSource, adapter: str = ADAPTER):
        _needs_peft(source.name)
        from peft.tuners.lora import LoraLayer

        pipe = _pipeline_for(components)
        try:
            pipe.load_lora_weights(str(source.folder), weight_name=source.weight_name, adapter_name=adapter)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelNotFoundError(source.name, f"cannot load the LoRA: {exc}") from exc
        modules = [components.unet, *components.text_encoders]
        self.layers: list[Any] = [
            m for module in modules for m in module.modules() if isinstance(m, LoraLayer)
        ]
        if not self.layers:
            raise ModelNotFoundError(source.name, "the file holds no LoRA layers this model has")
        self.source = source
        self.adapter = adapter
        self.lock = threading.RLock()
        self._scale = 1.0

    def set_scale(self, scale: float) -> None:
        """Set every layer's scale (hold ``lock`` while using the model at it)."""
        if scale != self._scale:
            for layer in self.layers:
                layer.set_scale(self.adapter, scale)
            self._scale = scale

    @contextmanager
    def at(self, scale: float) -> Iterator[None]:
        """Use the model at ``scale`` within this block, one caller at a time."""
        with self.lock:
            self.set_scale(scale)
            yield
