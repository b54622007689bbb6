"""Token downsampling (ToDo, a token-merging variant): the self-attention layers at the UNet's
full latent resolution attend to keys and values pooled over ``factor`` × ``factor`` patches.

Queries stay at full resolution, so the output keeps its size; the attention matrix shrinks by
``factor²``. Self-attention at 64×64 latents (512² images) is (64·64)² per head, the quadratic part
of the UNet; at 32×32 it matters much less (``flops.py`` counts both).

The processors are installed once per UNet (which sessions share) and read the factor from a
thread-local setting each session's worker thread sets around its own UNet call, so one
session's setting never leaks into another's; at factor 1 they call the original processor, so
the output is bit-identical to a UNet without them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

_state = threading.local()


@contextmanager
def token_downsampling(factor: int, latent_hw: tuple[int, int]) -> Iterator[None]:
    """Within this block, this thread's UNet calls pool self-attention keys/values by ``factor``."""
    old = getattr(_state, "setting", None)
    _state.setting = (int(factor), latent_hw) if factor > 1 else None
    try:
        yield
    finally:
        _state.setting = old


class DownsampledKVProcessor:
    def __init__(self, original: Any):
        self.original = original

    def __call__(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        setting = getattr(_state, "setting", None)
        usable = (
            setting is not None
            and encoder_hidden_states is None
            and attention_mask is None
            and hidden_states.ndim == 3
            and attn.spatial_norm is None
            and attn.group_norm is None
        )
        if usable:
            assert setting is not None
            factor, (h, w) = setting
            usable = hidden_states.shape[1] == h * w and h >= factor and w >= factor
        if not usable:
            return self.original(attn, hidden_states, encoder_hidden_states, attention_mask, temb, **kwargs)
        b, n, c = hidden_states.shape
        grid = hidden_states.transpose(1, 2).reshape(b, c, h, w)
        pooled = F.adaptive_avg_pool2d(grid, (h // factor, w // factor)).flatten(2).transpose(1, 2)
        query = attn.to_q(hidden_states)
        key = attn.to_k(pooled)
        value = attn.to_v(pooled)
        head_dim = key.shape[-1] // attn.heads
        query = query.view(b, -1, attn.heads, head_dim).transpose(1, 2)
        key = key.view(b, -1, attn.heads, head_dim).transpose(1, 2)
        value = value.view(b, -1, attn.heads, head_dim).transpose(1, 2)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        out = F.scaled_dot_product_attention(query, key, value, dropout_p=0.0, is_causal=False)
        out = out.transpose(1, 2).reshape(b, -1, attn.heads * head_dim).to(query.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + hidden_states
        return out / attn.rescale_output_factor


def install_token_downsampling(unet: torch.nn.Module) -> int:
    """Wrap every transformer self-attention (``attn1``) processor of ``unet``; idempotent.
    Returns how many are wrapped."""
    count = 0
    for name, module in unet.named_modules():
        if not name.endswith("attn1") or not hasattr(module, "processor"):
            continue
        processor: Any = module.processor
        if not isinstance(processor, DownsampledKVProcessor):
            module.set_processor(DownsampledKVProcessor(processor))
        count += 1
    return count
