"""``model=`` → which backend and style, through the runtime's own resolver
(``backends.model_names``): an effects style or alias picks ``effects``; a diffusion model
name, a hub id or a local folder picks ``diffusion``. The SDK keeps no table of its own."""

from __future__ import annotations

import os

from ..backends.base import StyleError
from ..backends.effects import effect_name
from ..backends.model_names import ModelChoice as BackendChoice
from ..backends.model_names import diffusion_models, resolve_model
from .errors import ModelUnavailableError

__all__ = ["BackendChoice", "check_backend_available", "choose_backend", "diffusion_models", "effect_name"]


def choose_backend(model: str | os.PathLike[str] | None) -> BackendChoice:
    if model is None:
        return BackendChoice("effects", None)
    try:
        return resolve_model(model)
    except StyleError as exc:
        raise ModelUnavailableError(exc.message) from None


def check_backend_available(choice: BackendChoice, available: list[str]) -> None:
    if choice.backend in available:
        return
    if choice.backend == "diffusion":
        raise ModelUnavailableError(
            f"model '{choice.style or 'diffusion'}' needs the diffusion backend, which this runtime does "
            "not offer: pip install 'lsd-bridge[diffusion]' (and lsd-runtime models pull "
            f"{choice.style or 'sd-turbo'}), or use an effects style such as model='toon', or pass "
            "fallback='effects' to use effects when diffusion is unavailable"
        )
    raise ModelUnavailableError(
        f"this runtime does not offer the '{choice.backend}' backend "
        f"(it offers: {', '.join(available) or 'none'})"
    )
