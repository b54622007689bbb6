"""Runtime defaults for the diffusion backend (the lead fills these from CLI flags)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DiffusionConfig:
    """Defaults for every diffusion session; ``set_style`` params override per session.

    ``model`` is a catalogue name (``sd-turbo``, ``sdxl-turbo``, ``sd15-lcm``) or a local
    diffusers folder. Nothing is ever downloaded at runtime: weights come from that folder or
    the Hugging Face cache (``cache_dir``, default the hub's own).
    """

    model: str = "sd-turbo"
    prompt: str = ""
    negative_prompt: str = ""
    strength: float = 0.5
    seed: int = 2
    steps: int = 1
    guidance: float = 0.0
    feedback: float = 0.0
    interp_frames: int = 8
    similarity_threshold: float = 0.0  # 0 disables the filter; 0.98 is a useful value
    similarity_max_skip: int = 10
    fixed_noise: bool = True
    tiny_vae: bool = True
    vae: str | None = None  # override: catalogue name, hub repo id or folder of a VAE
    long_side: int = 512
    warm_start: bool = True  # fill the stream batch from the first frame (False: zeros, as StreamDiffusion)
    fp16: bool = True  # CUDA only
    channels_last: bool = True  # CUDA only
    compile: bool = False  # torch.compile the UNet (CUDA only)
    cuda_graph: bool = False  # capture the UNet call in a CUDA graph (CUDA only)
    cache_dir: Path | None = None
    progress: bool = True

    def with_params(self, **overrides: Any) -> DiffusionConfig:
        return replace(self, **overrides)


# the keys ``set_style(params=...)`` accepts, with the type each must have
STYLE_PARAMS: dict[str, type] = {
    "steps": int,
    "guidance": float,
    "feedback": float,
    "interp_frames": int,
    "similarity_threshold": float,
    "similarity_max_skip": int,
    "negative_prompt": str,
    "fixed_noise": bool,
    "long_side": int,
}


_default = DiffusionConfig()


def set_default_config(config: DiffusionConfig) -> None:
    """Process-wide defaults for backends built as ``DiffusionBackend(device)`` (the CLI sets this)."""
    global _default
    _default = config


def default_config() -> DiffusionConfig:
    return _default
