"""Text → conditioning tensors, cached per prompt (the encoders run once per new prompt)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

from .loader import Components


@dataclass(frozen=True)
class PromptEmbedding:
    hidden: torch.Tensor  # [1, tokens, dim]
    pooled: torch.Tensor | None = None  # [1, dim2] (SDXL)

    def lerp(self, other: PromptEmbedding, w: float) -> PromptEmbedding:
        pooled = None
        if self.pooled is not None and other.pooled is not None:
            pooled = torch.lerp(self.pooled, other.pooled, w)
        return PromptEmbedding(torch.lerp(self.hidden, other.hidden, w), pooled)


class PromptEncoder:
    """Encodes prompts with the model's text encoder(s); keeps the last ``capacity`` results.
    With a switchable LoRA in the text encoder the embedding depends on ``lora_scale`` too."""

    def __init__(self, components: Components, capacity: int = 32, lora_scale: float = 1.0):
        self.components = components
        self.capacity = capacity
        self.lora_scale = lora_scale
        self._cache: OrderedDict[tuple[str, float], PromptEmbedding] = OrderedDict()

    def __call__(self, prompt: str) -> PromptEmbedding:
        lora = self.components.lora
        key = (prompt, self.lora_scale if lora is not None else 1.0)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        if lora is not None:
            with lora.at(self.lora_scale):
                emb = self._encode(prompt)
        else:
            emb = self._encode(prompt)
        self._cache[key] = emb
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return emb

    @torch.inference_mode()
    def _encode(self, prompt: str) -> PromptEmbedding:
        c = self.components
        hiddens: list[torch.Tensor] = []
        pooled: torch.Tensor | None = None
        sdxl = c.family == "sdxl"
        for tokenizer, encoder in zip(c.tokenizers, c.text_encoders, strict=True):
            ids = tokenizer(
                prompt,
                padding="max_length",
                max_length=tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids.to(c.device)
            out = encoder(ids, output_hidden_states=sdxl)
            if sdxl:
                hiddens.append(out.hidden_states[-2])
                if hasattr(out, "text_embeds"):
                    pooled = out.text_embeds
            else:
                hiddens.append(out.last_hidden_state)
        hidden = torch.cat(hiddens, dim=-1).to(torch.float32)
        return PromptEmbedding(hidden, pooled.to(torch.float32) if pooled is not None else None)
