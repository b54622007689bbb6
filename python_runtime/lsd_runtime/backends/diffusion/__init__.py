"""Streaming diffusion: models by name or folder, the stream-batch pipeline, benchmark.

Importing this package needs only torch; diffusers/transformers load when a model does.
"""

from __future__ import annotations

from .catalog import CATALOG, DEFAULT_MODEL, ModelSpec
from .config import DiffusionConfig, default_config, set_default_config
from .pull import pull
from .resolve import ModelNotFoundError, ResolvedModel, resolve_model
from .sizing import model_size

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "DiffusionConfig",
    "ModelNotFoundError",
    "ModelSpec",
    "ResolvedModel",
    "default_config",
    "model_size",
    "pull",
    "resolve_model",
    "run_diffusion_bench",
    "set_default_config",
]


def run_diffusion_bench(*args, **kwargs):  # noqa: ANN002, ANN003 - thin lazy re-export
    from .bench import run_diffusion_bench as run

    return run(*args, **kwargs)
