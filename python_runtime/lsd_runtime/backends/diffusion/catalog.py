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
    depth_controlnet: str | None = None  # the hub id "<model>+depth" loads (a depth ControlNet of its base)


CATALOG: dict[str, ModelSpec] = {
    # depth ControlNets of each model's base (SD 2.1, SDXL 1.0, SD 1.5); none downloaded or run
    # here: their hub ids are from their model cards
    "sd-turbo": ModelSpec(
        "sd-turbo",
        "stabilityai/sd-turbo",
        "sd",
        "madebyollin/taesd",
        depth_controlnet="thibaud/controlnet-sd21-depth-diffusers",
    ),
    "sdxl-turbo": ModelSpec(
        "sdxl-turbo",
        "stabilityai/sdxl-turbo",
        "sdxl",
        "madebyollin/taesdxl",
        depth_controlnet="diffusers/controlnet-depth-sdxl-1.0-small",
    ),
    "sd15-lcm": ModelSpec(
        "sd15-lcm",
        "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "sd",
        "madebyollin/taesd",
        lora_repo="latent-consistency/lcm-lora-sdv1-5",
        lcm=True,
        default_steps=2,
        default_guidance=0.0,
        depth_controlnet="lllyasviel/control_v11f1p_sd15_depth",
    ),
    # a smaller one-step UNet distilled from SD-Turbo (SDXS, 0.32B UNet, TAESD in the repo);
    # not downloaded on the machines this was written on: its loading is unverified
    "sdxs-512": ModelSpec("sdxs-512", "IDKiro/sdxs-512-0.9", "sd", "madebyollin/taesd"),
}
# a tiny VAE may be asked for by a short name too
VAE_ALIASES: dict[str, str] = {"taesd": "madebyollin/taesd", "taesdxl": "madebyollin/taesdxl"}

DEFAULT_MODEL = "sd-turbo"
