"""Full-size models with random weights, built from ``arch_configs`` (benchmarks only)."""

from __future__ import annotations

from typing import Any

import torch
from tqdm.auto import tqdm

from .arch_configs import ARCHITECTURES, SD_SCHEDULE
from .loader import Components
from .prompts import PromptEmbedding
from .schedule import NoiseSchedule


def build_random_components(
    name: str, device: torch.device, dtype: torch.dtype, progress: bool = True
) -> Components:
    from diffusers import AutoencoderTiny, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    if name not in ARCHITECTURES:
        raise KeyError(f"no full-size architecture for '{name}'; have: {', '.join(ARCHITECTURES)}")
    arch = ARCHITECTURES[name]
    sdxl = arch["family"] == "sdxl"
    builders: list[tuple[str, Any]] = [
        ("unet", lambda: UNet2DConditionModel(**arch["unet"])),
        ("vae", lambda: AutoencoderTiny(**arch["vae"])),
    ]
    for i, text in enumerate(arch["text"]):
        cls = CLIPTextModelWithProjection if sdxl and i == 1 else CLIPTextModel
        builders.append((f"text_encoder_{i}", lambda cls=cls, text=text: cls(CLIPTextConfig(**text))))
    parts: dict[str, torch.nn.Module] = {}
    for key, build in tqdm(builders, desc=f"building random {name}", unit="part", disable=not progress):
        parts[key] = build().to(device=device, dtype=dtype).eval().requires_grad_(False)
    return Components(
        unet=parts["unet"],
        vae=parts["vae"],
        text_encoders=[parts[k] for k in sorted(parts) if k.startswith("text_encoder")],
        tokenizers=[],
        schedule=NoiseSchedule.from_config(SD_SCHEDULE),
        family=arch["family"],
        dtype=dtype,
        device=device,
    )


class TokenFreeEncoder:
    """Stands in for ``PromptEncoder`` when no tokenizer files exist: encodes a fixed token
    sequence (start, 75 ids, end) so the text encoders still run at full size."""

    def __init__(self, components: Components):
        self.components = components

    @torch.inference_mode()
    def __call__(self, prompt: str) -> PromptEmbedding:
        c = self.components
        ids = torch.full((1, 77), 49407, dtype=torch.long, device=c.device)
        ids[0, 0] = 49406
        ids[0, 1 : 1 + min(75, len(prompt))] = torch.tensor(
            [400 + (ord(ch) % 1000) for ch in prompt[:75]], dtype=torch.long
        )
        sdxl = c.family == "sdxl"
        hiddens, pooled = [], None
        for encoder in c.text_encoders:
            out = encoder(ids, output_hidden_states=sdxl)
            hiddens.append(out.hidden_states[-2] if sdxl else out.last_hidden_state)
            if sdxl and hasattr(out, "text_embeds"):
                pooled = out.text_embeds.float()
        return PromptEmbedding(torch.cat(hiddens, dim=-1).float(), pooled)
