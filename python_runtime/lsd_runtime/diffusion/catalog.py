"""Models known by name: where their weights live on the Hugging Face hub."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    repo_id: str
    family: str  # "sd" (SD1.x/2.x: one CLIP encoder) or "sdxl" (two encoders, pooled + time ids)
    tiny_vae_repo: str
    lora_repo: str | None = None  # fused into the UNet at load (LCM-LoRA)
    lcm: bool = False  # consistency-model boundary conditions on the x0 prediction
    default_steps: int = 1
    default_guidance: float = 0.0
    native_size: int = 512


CATALOG: dict[str, ModelSpec] = {
    "sd-turbo": ModelSpec("sd-turbo", "stabilityai/sd-turbo", "sd", "madebyollin/taesd"),
    "sdxl-turbo": ModelSpec("sdxl-turbo", "stabilityai/sdxl-turbo", "sdxl", "madebyollin/taesdxl"),
    "sd15-lcm": ModelSpec("sd15-lcm", "stable-diffusion-v1-5/stable-diffusion-v1-5", "sd",
                          "madebyollin/taesd", lora_repo="latent-consistency/lcm-lora-sdv1-5",
                          lcm=True, default_steps=2, default_guidance=0.0),
}
# a tiny VAE may be asked for by a short name too
VAE_ALIASES: dict[str, str] = {"taesd": "madebyollin/taesd", "taesdxl": "madebyollin/taesdxl"}

DEFAULT_MODEL = "sd-turbo"
