"""Load a resolved model's components (UNet, VAE, text encoders, tokenizers) onto a device."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .resolve import ModelNotFoundError, ResolvedModel
from .schedule import NoiseSchedule

log = logging.getLogger(__name__)


@dataclass
class Components:
    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoders: list[torch.nn.Module]
    tokenizers: list[Any]
    schedule: NoiseSchedule
    family: str
    dtype: torch.dtype
    device: torch.device
    lora: Any = None  # a SwitchableLora when a switchable LoRA is loaded into these weights

    @property
    def vae_is_tiny(self) -> bool:
        return type(self.vae).__name__ == "AutoencoderTiny"


def _vae_class(folder: Path) -> Any:
    from diffusers import AutoencoderKL, AutoencoderTiny

    try:
        name = json.loads((folder / "config.json").read_text()).get("_class_name")
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelNotFoundError(str(folder), f"no readable VAE config in {folder}") from exc
    return AutoencoderTiny if name == "AutoencoderTiny" else AutoencoderKL


def _fuse_lora(components: Components, resolved: ResolvedModel) -> None:
    from .lora import LoraSource, fuse_lora_file

    assert resolved.lora_path is not None
    fuse_lora_file(components, LoraSource(resolved.name, resolved.lora_path), adapter="catalogue")


def apply_lora(components: Components, request: Any) -> None:
    """Load a ``lora.LoraRequest`` into freshly loaded ``components``: fused, or switchable."""
    from .lora import SwitchableLora, fuse_lora_file

    if request.fuse_scale is not None:
        fuse_lora_file(components, request.source, request.fuse_scale)
    else:
        components.lora = SwitchableLora(components, request.source)


def load_components(
    resolved: ResolvedModel, device: torch.device, dtype: torch.dtype, progress: bool = True, lora: Any = None
) -> Components:
    """Load everything from local files only, with a progress bar over the components."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    path = resolved.path
    common: dict[str, Any] = {"local_files_only": True}
    vae_dir = resolved.vae_path or path / "vae"
    steps: list[tuple[str, Any]] = [
        (
            "unet",
            lambda: UNet2DConditionModel.from_pretrained(path, subfolder="unet", torch_dtype=dtype, **common),
        ),
        ("vae", lambda: _vae_class(vae_dir).from_pretrained(vae_dir, torch_dtype=dtype, **common)),
        ("tokenizer", lambda: CLIPTokenizer.from_pretrained(path, subfolder="tokenizer", **common)),
        (
            "text_encoder",
            lambda: CLIPTextModel.from_pretrained(
                path, subfolder="text_encoder", torch_dtype=dtype, **common
            ),
        ),
    ]
    if resolved.family == "sdxl":
        steps += [
            ("tokenizer_2", lambda: CLIPTokenizer.from_pretrained(path, subfolder="tokenizer_2", **common)),
            (
                "text_encoder_2",
                lambda: CLIPTextModelWithProjection.from_pretrained(
                    path, subfolder="text_encoder_2", torch_dtype=dtype, **common
                ),
            ),
        ]
    loaded: dict[str, Any] = {}
    bar = tqdm(steps, desc=f"loading {resolved.name}", unit="part", disable=not progress, leave=False)
    for key, load in bar:
        bar.set_postfix_str(key)
        try:
            part = load()
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(resolved.name, f"cannot load {key} from {path}: {exc}") from exc
        if isinstance(part, torch.nn.Module):
            part = part.to(device).eval().requires_grad_(False)
        loaded[key] = part
    components = Components(
        unet=loaded["unet"],
        vae=loaded["vae"],
        text_encoders=[loaded[k] for k in ("text_encoder", "text_encoder_2") if k in loaded],
        tokenizers=[loaded[k] for k in ("tokenizer", "tokenizer_2") if k in loaded],
        schedule=NoiseSchedule.from_folder(path, lcm=resolved.lcm),
        family=resolved.family,
        dtype=dtype,
        device=device,
    )
    if resolved.lora_path is not None:
        _fuse_lora(components, resolved)
    if lora is not None:
        apply_lora(components, lora)
    return components
