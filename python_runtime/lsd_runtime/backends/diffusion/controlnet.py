"""A depth ControlNet, chosen by model name: ``<model>+depth`` (the model's usual depth ControlNet,
from the catalogue) or ``<model>+depth=<folder or owner/name>``. The engine's depth conditions
every UNet call (``StreamPipeline._controlled``), drawn the way depth ControlNets were trained:
relative inverse depth, near bright.

Like models, ControlNets load offline only: a local diffusers folder (``config.json`` +
weights) or the Hugging Face cache; a missing one is refused at ``set_style`` naming it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from ..base import StyleError
from .catalog import CATALOG
from .resolve import cached_snapshot

MARK = "+depth"
PATTERNS = ["*.json", "*.safetensors"]


@dataclass(frozen=True)
class ControlNetChoice:
    name: str  # what the model name asked for (a hub id or a folder)
    path: Path  # the local folder


def split_model(model: str) -> tuple[str, str | None]:
    """``"sd-turbo+depth"`` → ``("sd-turbo", "")``; ``"x+depth=y"`` → ``("x", "y")``; without
    the mark ``(model, None)``."""
    at = model.lower().rfind(MARK)
    if at < 0:
        return model, None
    base, rest = model[:at], model[at + len(MARK) :]
    if rest and not rest.startswith("="):
        return model, None  # "+depthwise" or the like is part of a name
    return base, rest[1:].strip()


def resolve_controlnet(base: str, name: str, cache_dir: Path | None = None) -> ControlNetChoice:
    """The depth ControlNet for ``base`` (``name`` empty: the catalogue's), as a local folder."""
    if not name:
        spec = CATALOG.get(base)
        if spec is None or spec.depth_controlnet is None:
            known = ", ".join(n for n, s in CATALOG.items() if s.depth_controlnet)
            raise StyleError(
                "unknown_style",
                f"no depth ControlNet is known for model '{base[:64]}': name one with "
                f"'{base[:64]}+depth=<folder or owner/name>' (known: {known})",
            )
        name = spec.depth_controlnet
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise StyleError(
                "unknown_style", f"depth ControlNet '{name[:96]}' is a folder without config.json"
            )
        return ControlNetChoice(name, local)
    if name.count("/") == 1 and not name.startswith(("/", ".", "~")):
        found = cached_snapshot(name, PATTERNS, cache_dir)
        if found is not None:
            return ControlNetChoice(name, found)
        raise StyleError(
            "unknown_style",
            f"depth ControlNet '{name}' (for model '{base[:64]}') is not available offline; "
            f"run: lsd-runtime models pull {name}",
        )
    raise StyleError(
        "unknown_style",
        f"depth ControlNet '{name[:96]}' (for model '{base[:64]}') is neither a folder nor owner/name",
    )


_lock = threading.Lock()
_loaded: dict[tuple[str, str, torch.dtype], torch.nn.Module] = {}


def load_controlnet(choice: ControlNetChoice, device: torch.device, dtype: torch.dtype) -> torch.nn.Module:
    """The ControlNet's weights, shared by every session that asks for the same one."""
    from diffusers import ControlNetModel

    key = (str(choice.path), str(device), dtype)
    with _lock:
        hit = _loaded.get(key)
        if hit is None:
            try:
                hit = ControlNetModel.from_pretrained(choice.path, torch_dtype=dtype, local_files_only=True)
            except (OSError, ValueError) as exc:
                raise StyleError(
                    "unknown_style", f"depth ControlNet '{choice.name[:96]}' cannot be loaded: {exc}"
                ) from exc
            hit = hit.to(device).eval()
            _loaded[key] = hit
        return hit


def build_tiny_controlnet(folder: Path, model: Path, seed: int = 0) -> Path:
    """A tiny random-weight depth ControlNet for the tiny model at ``model`` (tests, benches). A
    ControlNet made from a UNet starts with zero convolutions where the condition enters and where
    its residuals leave (it changes nothing until trained). Here the condition's embedding gets
    variance-keeping weights, scaled so that it varies by about 1 over a random image (with the
    default initialisation it is nearly constant: seven small convolutions wash the image out),
    and the residual convolutions random ones, so that the depth visibly steers the result."""
    from diffusers import ControlNetModel, UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(model, subfolder="unet")
    net = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 8, 8, 8))
    embed = net.controlnet_cond_embedding
    with torch.no_grad():
        for conv in embed.modules():
            if isinstance(conv, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
                if conv.bias is not None:
                    torch.nn.init.zeros_(conv.bias)
        probe = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(seed))
        embed.conv_out.weight.mul_(1.0 / embed(probe).std())
        for conv in [*net.controlnet_down_blocks, net.controlnet_mid_block]:
            torch.nn.init.normal_(conv.weight, std=0.3)
    net.save_pretrained(folder)
    return folder
