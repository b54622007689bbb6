"""An optional safety checker on the restyled frames (off by default: engine content is the
game's own; on with ``serve --safety-checker`` for a consumer app).

It is diffusers' ``StableDiffusionSafetyChecker`` (a CLIP vision tower whose image embedding is
compared with 17 concept and 3 special-care embeddings), run on every output frame as
``forward_onnx`` computes it, with the CLIP preprocessing done on the tensor (no PIL round
trip). The stream replaces a flagged frame with the input frame as the engine rendered it
(txt2img: black) and counts it (``WorkCounters.flagged``).

The weights come from ``safety_checker_model`` (a folder or hub id), else the model folder's own
``safety_checker/``, else ``CompVis/stable-diffusion-safety-checker`` in the Hugging Face cache
(``lsd-runtime models pull safety-checker``). It costs a CLIP ViT-L/14 pass per frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .resolve import FILE_PATTERNS, ModelNotFoundError, cached_snapshot

DEFAULT_REPO = "CompVis/stable-diffusion-safety-checker"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _size(value: Any, default: int) -> int:
    if isinstance(value, dict):
        value = value.get("shortest_edge") or value.get("height") or default
    return int(value or default)


class SafetyChecker:
    def __init__(
        self,
        model: Any,
        device: torch.device,
        size: int = 224,
        mean: tuple[float, ...] = CLIP_MEAN,
        std: tuple[float, ...] = CLIP_STD,
    ):
        self.model = model
        self.size = size
        self.device = device
        self.dtype = next(model.parameters()).dtype
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)

    @classmethod
    def load(
        cls, folder: Path, device: torch.device, dtype: torch.dtype, processor: Path | None = None
    ) -> SafetyChecker:
        from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker

        try:
            model = StableDiffusionSafetyChecker.from_pretrained(
                folder, torch_dtype=dtype, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(
                str(folder), f"cannot load a safety checker from {folder}: {exc}"
            ) from exc
        model = model.to(device).eval().requires_grad_(False)  # type: ignore[arg-type]  # a device is fine
        size, mean, std = 224, CLIP_MEAN, CLIP_STD
        config_path = processor if processor is not None else folder / "preprocessor_config.json"
        if config_path.exists():
            config = json.loads(config_path.read_text())
            size = _size(config.get("crop_size"), _size(config.get("size"), 224))
            mean = tuple(config.get("image_mean", mean))
            std = tuple(config.get("image_std", std))
        return cls(model, device, size, mean, std)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """CLIP's: shortest side to ``size`` (bicubic), centre crop, normalise."""
        h, w = images.shape[-2:]
        scale = self.size / min(h, w)
        nh, nw = max(self.size, round(h * scale)), max(self.size, round(w * scale))
        x = F.interpolate(images.float(), size=(nh, nw), mode="bicubic", align_corners=False, antialias=True)
        top, left = (nh - self.size) // 2, (nw - self.size) // 2
        x = x[..., top : top + self.size, left : left + self.size].clamp(0, 1)
        return ((x - self.mean) / self.std).to(self.dtype)

    @torch.inference_mode()
    def flags(self, images: torch.Tensor) -> torch.Tensor:
        """``[n]`` bool: which of ``images`` (``[n, 3, H, W]``, 0..1) the checker flags."""
        m = self.model
        embeds = m.visual_projection(m.vision_model(self.preprocess(images))[1]).float()
        embeds = F.normalize(embeds)
        special = (
            embeds @ F.normalize(m.special_care_embeds.float()).t() - m.special_care_embeds_weights.float()
        )
        adjust = (special > 0).any(dim=1, keepdim=True).float() * 0.01
        concepts = (
            embeds @ F.normalize(m.concept_embeds.float()).t() - m.concept_embeds_weights.float() + adjust
        )
        return (concepts > 0).any(dim=1)


def resolve_safety_checker(
    name: str | None, model_folder: Path, cache_dir: Path | None = None
) -> tuple[Path, Path | None]:
    """The checker's weights folder and its preprocessor config (None: the folder's own or CLIP's)."""
    if name:
        local = Path(name).expanduser()
        folder = local if local.is_dir() else cached_snapshot(name, FILE_PATTERNS, cache_dir)
        if folder is None:
            raise ModelNotFoundError(
                name,
                "a safety checker not in the Hugging Face cache",
                hint=f"run: lsd-runtime models pull --files {name}",
            )
        return folder, None
    own = model_folder / "safety_checker"
    if (own / "config.json").exists():
        processor = model_folder / "feature_extractor" / "preprocessor_config.json"
        return own, processor if processor.exists() else None
    found = cached_snapshot(DEFAULT_REPO, FILE_PATTERNS, cache_dir)
    if found is None:
        raise ModelNotFoundError(
            DEFAULT_REPO,
            "the safety checker is not in the Hugging Face cache",
            hint="run: lsd-runtime models pull safety-checker",
        )
    return found, None
