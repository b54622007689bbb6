"""Helpers for tests on the tiny random-weight diffusion models (built, saved, loaded from disk)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lsd_runtime.backends.base import StyleRequest
from lsd_runtime.backends.diffusion import DiffusionConfig
from lsd_runtime.backends.diffusion.backend import DiffusionBackend
from lsd_runtime.backends.diffusion.stream import StreamPipeline
from lsd_runtime.backends.diffusion.tiny_model import smooth_images

SIZE = 32


def make_backend(model_dir: str, config: DiffusionConfig | None = None, **style: Any) -> DiffusionBackend:
    backend = DiffusionBackend("cpu", config or DiffusionConfig(progress=False))
    style.setdefault("prompt", "a cat")
    style.setdefault("strength", 0.5)
    style.setdefault("seed", 1)
    params = style.pop("params", {"steps": 2})
    backend.set_style(StyleRequest(backend="diffusion", style=model_dir, params=params, **style))
    return backend


def pipeline_of(backend: DiffusionBackend) -> StreamPipeline:
    pipe = backend.pipeline
    assert pipe is not None
    return pipe


def run(backend: DiffusionBackend, frames: list[torch.Tensor]) -> list[torch.Tensor]:
    return [backend.process(f) for f in frames]


def panning(n: int, seed: int = 3, size: int = SIZE) -> list[torch.Tensor]:
    """A slow camera pan: a wide smooth image, one pixel further right each frame."""
    wide = torch.nn.functional.interpolate(smooth_images(1, 64, seed), size=(size, 64 + n), mode="bilinear")
    return [wide[..., i : i + size].contiguous() for i in range(n)]


class UNetCalls:
    """Wraps a pipeline's DenoiseFn and records every call's inputs and output."""

    def __init__(self, pipe: StreamPipeline):
        self.inner: Callable[..., torch.Tensor] = pipe.denoise
        self.calls: list[dict[str, torch.Tensor]] = []
        pipe.denoise = self

    def __call__(self, x: torch.Tensor, t: torch.Tensor, hidden: torch.Tensor, *rest: Any) -> torch.Tensor:
        out = self.inner(x, t, hidden, *rest)
        self.calls.append({"x": x.clone(), "t": t.clone(), "hidden": hidden.clone(), "out": out.clone()})
        return out

    @property
    def rows(self) -> list[int]:
        return [c["x"].shape[0] for c in self.calls]


class ModuleCalls:
    """Counts forward calls of named submodules of a module (forward hooks)."""

    def __init__(self, root: torch.nn.Module, names: list[str]):
        self.counts = dict.fromkeys(names, 0)
        modules = dict(root.named_modules())
        self._handles = [modules[n].register_forward_hook(self._hook(n)) for n in names]

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(*_: Any) -> None:
            self.counts[name] += 1

        return hook

    def close(self) -> None:
        for h in self._handles:
            h.remove()
