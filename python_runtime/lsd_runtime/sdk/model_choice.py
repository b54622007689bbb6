"""``model=`` → which backend and style: an effects style name picks the ``effects`` backend;
a diffusion model name (``sd-turbo``...), a hub id or a local folder picks ``diffusion``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..backends.effects import EFFECTS
from .errors import ModelUnavailableError

EFFECT_ALIASES = {"watercolor": "watercolour", "pixelart": "pixel_art", "nightvision": "night_vision",
                  "neon": "neon_edges"}


@dataclass(frozen=True)
class BackendChoice:
    backend: str  # "effects" or "diffusion"
    style: str | None  # effects: a style name (None: chosen from the prompt); diffusion: the model


def effect_name(name: str) -> str | None:
    """The canonical effects style for ``name`` (``"Neon"`` → ``"neon_edges"``), or None."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = EFFECT_ALIASES.get(key, key)
    return key if key in EFFECTS else None


def diffusion_models() -> list[str]:
    from ..diffusion.catalog import CATALOG

    return list(CATALOG)


def choose_backend(model: str | os.PathLike[str] | None) -> BackendChoice:
    if model is None:
        return BackendChoice("effects", None)
    text = os.fspath(model)
    if text.strip().lower() == "effects":
        return BackendChoice("effects", None)
    if text.strip().lower() == "diffusion":
        return BackendChoice("diffusion", None)
    style = effect_name(text)
    if style is not None:
        return BackendChoice("effects", style)
    if text in diffusion_models() or Path(text).expanduser().is_dir():
        return BackendChoice("diffusion", str(Path(text).expanduser()) if Path(text).expanduser().is_dir()
                             else text)
    if text.count("/") == 1 and not text.startswith(("/", ".", "~")):
        return BackendChoice("diffusion", text)  # a Hugging Face hub id, e.g. stabilityai/sd-turbo
    raise ModelUnavailableError(
        f"unknown model '{text}': give an effects style ({', '.join(EFFECTS)}), a diffusion model "
        f"({', '.join(diffusion_models())}), a Hugging Face repo id or a local diffusers folder")


def check_backend_available(choice: BackendChoice, available: list[str]) -> None:
    if choice.backend in available:
        return
    if choice.backend == "diffusion":
        raise ModelUnavailableError(
            f"model '{choice.style or 'diffusion'}' needs the diffusion backend, which this runtime does "
            "not offer: pip install 'lsd-bridge[diffusion]' (and lsd-runtime models pull "
            f"{choice.style or 'sd-turbo'}), or use an effects style such as model='toon', or pass "
            "fallback='effects' to use effects when diffusion is unavailable")
    raise ModelUnavailableError(f"this runtime does not offer the '{choice.backend}' backend "
                                f"(it offers: {', '.join(available) or 'none'})")
