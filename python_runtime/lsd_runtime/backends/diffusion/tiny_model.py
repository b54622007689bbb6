"""Tiny random-weight diffusers models, built and saved to disk: what the diffusion tests and
``lsd-runtime bench --soak --model tiny-diffusion`` load through the real loader.

Everything is small enough to run on a CPU in milliseconds per frame: a two-level UNet with
8/16 channels, a 2-layer CLIP text encoder with a hand-made character vocabulary, and an
AutoencoderTiny with 8 channels per block. They are saved with ``save_pretrained`` as a
normal diffusers pipeline folder, so the tests load them through the real loader.
"""

from __future__ import annotations

import json
import shutil
import string
from pathlib import Path
from typing import Any

import torch

MAX_TOKENS = 16


def _write_tokenizer_files(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    vocab: dict[str, int] = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in string.ascii_lowercase + string.digits:
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    merges = ["#version: 0.2"]
    for pair in ("c a", "ca t</w>", "d o", "do g</w>", "r e", "re d</w>"):
        a, b = pair.split()
        merges.append(pair)
        vocab.setdefault(a + b, len(vocab))
    vocab_path, merges_path = folder / "vocab.json", folder / "merges.txt"
    vocab_path.write_text(json.dumps(vocab))
    merges_path.write_text("\n".join(merges) + "\n")
    return vocab_path, merges_path


def smooth_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """``n`` smooth random sRGB images ``[n, 3, size, size]`` (bilinear blow-ups of 4x4 noise)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
    return torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)


@torch.no_grad()
def _standardise_conv(conv: torch.nn.Conv2d, output: torch.Tensor, mean: float, std: float) -> None:
    """Rescale ``conv`` so its ``output`` (measured) gets per-channel ``mean`` and ``std``."""
    m = output.mean(dim=(0, 2, 3))
    s = output.std(dim=(0, 2, 3)).clamp_min(1e-6)
    conv.weight.mul_((std / s).view(-1, 1, 1, 1))
    assert conv.bias is not None
    conv.bias.copy_((conv.bias - m) * (std / s) + mean)


@torch.no_grad()
def calibrate_tiny_vae(vae: Any) -> None:
    """Data-dependent init (as LSUV): random weights rescaled so latents have unit spread, like
    SD latents, and decoded images span mid-range sRGB instead of collapsing to black."""
    x = smooth_images(16) * 2 - 1
    captured: dict[str, torch.Tensor] = {}
    hook = vae.encoder.layers[-1].register_forward_hook(lambda m, i, o: captured.__setitem__("o", o))
    vae.encode(x)
    hook.remove()
    _standardise_conv(vae.encoder.layers[-1], captured["o"], 0.0, 1.0)
    z = vae.encode(x).latents
    hook = vae.decoder.layers[-1].register_forward_hook(lambda m, i, o: captured.__setitem__("o", o))
    vae.decode(z)
    hook.remove()
    _standardise_conv(vae.decoder.layers[-1], captured["o"], 0.5, 0.2)


def build_tiny_model(folder: Path, seed: int = 0, prediction_type: str = "epsilon") -> Path:
    """Write a tiny StableDiffusion-layout folder (tiny VAE inside) and return it."""
    from diffusers import (
        AutoencoderTiny,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=2,
        norm_num_groups=4,
    )
    vae = AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
    )
    calibrate_tiny_vae(vae)
    vocab_path, merges_path = _write_tokenizer_files(folder / "_tok_src")
    tokenizer = CLIPTokenizer(str(vocab_path), str(merges_path), model_max_length=MAX_TOKENS)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(json.loads(vocab_path.read_text())),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=MAX_TOKENS,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            projection_dim=16,
        )
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type=prediction_type,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)  # type: ignore[attr-defined]
    shutil.rmtree(folder / "_tok_src")
    return folder


def build_tiny_lora(
    model_dir: Path, out: Path, seed: int = 0, rank: int = 2, text_encoder: bool = True
) -> Path:
    """A random LoRA for the tiny model in ``model_dir`` (UNet attention projections, and the
    text encoder's with ``text_encoder``), saved as ``out`` (a ``.safetensors`` file) in
    diffusers' LoRA format, as a trained LoRA would be."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig, get_peft_model_state_dict, inject_adapter_in_model
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(model_dir, subfolder="unet")
    config: dict[str, Any] = dict(r=rank, lora_alpha=rank, init_lora_weights=False)  # random A and B
    unet.add_adapter(LoraConfig(target_modules=["to_q", "to_k", "to_v", "to_out.0"], **config))
    unet_layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    text_layers = None
    if text_encoder:
        encoder = CLIPTextModel.from_pretrained(model_dir, subfolder="text_encoder")
        # peft directly: transformers' own add_adapter wants a newer peft than some indexes carry
        lora = LoraConfig(target_modules=["q_proj", "k_proj", "v_proj", "out_proj"], **config)
        adapted = inject_adapter_in_model(lora, encoder)
        text_layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(adapted))
    StableDiffusionPipeline.save_lora_weights(
        out.parent, unet_lora_layers=unet_layers, text_encoder_lora_layers=text_layers, weight_name=out.name
    )
    return out


def build_tiny_safety_checker(folder: Path, seed: int = 0, flag_all: bool = False) -> Path:
    """A tiny random ``StableDiffusionSafetyChecker`` (32² CLIP vision tower) and its
    preprocessor config, saved into ``folder``. Its concept thresholds decide alone: ``flag_all``
    sets them below any cosine similarity (every image flagged), else above (none flagged)."""
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=8,
    )
    checker = StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        checker.concept_embeds.normal_()
        checker.special_care_embeds.normal_()
        checker.concept_embeds_weights.fill_(-1.5 if flag_all else 1.5)  # cosines lie in -1..1
        checker.special_care_embeds_weights.fill_(1.5)
    checker.save_pretrained(folder, safe_serialization=True)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        folder
    )
    return folder
