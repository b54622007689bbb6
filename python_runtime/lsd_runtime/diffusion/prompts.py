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
    """Encodes prompts with the model's text encoder(s); keeps the last ``capacity`` results."""

    def __init__(self, components: Components, capacity: int = 32):
        self.components = components
        self.capacity = capacity
        self._cache: OrderedDict[str, PromptEmbedding] = OrderedDict()

    def __call__(self, prompt: str) -> PromptEmbedding:
        hit = self._cache.get(prompt)
        if hit is not None:
            self._cache.move_to_end(prompt)
            return hit
        emb = self._encode(prompt)
        self._cache[prompt] = emb
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
            ids = tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length,
                            truncation=True, return_tensors="pt").input_ids.to(c.device)
            out = encoder(ids, output_hidden_states=sdxl)
            if sdxl:
                hiddens.append(out.hidden_states[-2])
                if hasattr(out, "text_embeds"):
                    pooled = out.text_embeds
            else:
                hiddens.append(out.last_hidden_state)
        hidden = torch.cat(hiddens, dim=-1).to(torch.float32)
        return PromptEmbedding(hidden, pooled.to(torch.float32) if pooled is not None else None)
