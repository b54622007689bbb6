"""Backend registry: name → factory, imported lazily so optional extras stay optional."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable

import torch

from .base import Backend, StyleError, StyleRequest, StyleResult

__all__ = [
    "Backend",
    "StyleError",
    "StyleRequest",
    "StyleResult",
    "available_backends",
    "create_backend",
    "register_backend",
]

# name -> "module:Class" (relative to this package) or a factory
_REGISTRY: dict[str, str | Callable[[torch.device], Backend]] = {
    "effects": ".effects:EffectsBackend",
    "diffusion": ".diffusion.backend:DiffusionBackend",
}
# what each optional backend needs importable before it is offered
_REQUIRES: dict[str, tuple[str, ...]] = {
    "diffusion": ("diffusers", "transformers"),
}


def register_backend(
    name: str, target: str | Callable[[torch.device], Backend], requires: tuple[str, ...] = ()
) -> None:
    _REGISTRY[name] = target
    _REQUIRES[name] = requires


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_backends() -> list[str]:
    return [n for n in _REGISTRY if all(_importable(m) for m in _REQUIRES.get(n, ()))]


def create_backend(name: str, device: torch.device | str = "cpu") -> Backend:
    if name not in _REGISTRY:
        known = ", ".join(available_backends())
        raise StyleError("unknown_backend", f"no backend named '{name[:64]}'; available: {known}")
    missing = [m for m in _REQUIRES.get(name, ()) if not _importable(m)]
    if missing:
        raise StyleError(
            "unknown_backend",
            f"backend '{name}' needs {', '.join(missing)}: pip install 'lsd-bridge[{name}]'",
        )
    target = _REGISTRY[name]
    dev = torch.device(device)
    if callable(target):
        return target(dev)
    module_name, cls_name = target.split(":")
    module = importlib.import_module(module_name, __name__)
    return getattr(module, cls_name)(dev)
