"""FLOPs per frame of the stream's parts, counted with torch's FlopCounterMode.

On the meta device nothing is computed or allocated, so the full-size architectures
(``arch_configs``) are counted in a second on any machine: what a reuse pass of ``DeepCache``,
a predicted latent or token downsampling takes out of a frame, before any timing. The counts
are matmuls and convolutions (what dominates); norms and activations are left out, so real
speed-ups come out a little lower than the FLOP ratios.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from .deep_cache import DeepCache
from .token_merge import install_token_downsampling, token_downsampling


def count(fn: Any, *args: Any, **kwargs: Any) -> int:
    with FlopCounterMode(display=False) as counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class FrameFlops:
    """FLOPs of one frame's parts at one size, batch ``rows`` UNet rows."""

    unet_full: int
    unet_reuse: dict[int, int]  # DeepCache layers → a reuse pass
    unet_tokens: dict[int, int]  # token_downsample factor → a full pass with it
    encode: int
    decode: int

    @property
    def frame(self) -> int:
        return self.unet_full + self.encode + self.decode

    def with_settings(
        self,
        deep_cache_interval: int = 1,
        deep_cache_layers: int = 1,
        encode_interval: int = 1,
        token_downsample: int = 1,
    ) -> float:
        """Mean FLOPs per frame with these settings, at best: every reuse and every prediction that
        the intervals allow happens (a threshold can only force more full work)."""
        full = self.unet_tokens.get(token_downsample, self.unet_full)
        n = max(1, deep_cache_interval)
        unet = full if n == 1 else (full + (n - 1) * self.unet_reuse[deep_cache_layers]) / n
        encode = self.encode / max(1, encode_interval)
        return unet + encode + self.decode

    def speedup(self, settings: Any) -> float | None:
        """Full frame FLOPs ÷ FLOPs with a ``DiffusionConfig``'s knobs (None: not counted here)."""
        layers, factor = settings.deep_cache_layers, settings.token_downsample
        if (settings.deep_cache_interval > 1 and layers not in self.unet_reuse) or (
            factor > 1 and factor not in self.unet_tokens
        ):
            return None
        return self.frame / self.with_settings(
            settings.deep_cache_interval, layers, settings.encode_interval, factor
        )


def frame_flops(
    unet: Any,
    vae: Any,
    image_hw: tuple[int, int],
    rows: int = 1,
    tokens: int = 77,
    layers: tuple[int, ...] = (1, 2),
    factors: tuple[int, ...] = (2,),
) -> FrameFlops:
    """Count a frame at ``image_hw`` for ``unet`` and ``vae`` (on any device, meta included)."""
    param = next(unet.parameters())
    device, dtype = param.device, param.dtype
    h, w = image_hw[0] // 8, image_hw[1] // 8
    config = unet.config
    x = torch.zeros(rows, int(config.in_channels), h, w, device=device, dtype=dtype)
    t = torch.full((rows,), 500, device=device, dtype=torch.long)
    hidden = torch.zeros(rows, tokens, int(config.cross_attention_dim), device=device, dtype=dtype)
    added = None
    if getattr(config, "addition_embed_type", None) == "text_time":
        pooled = int(config.projection_class_embeddings_input_dim) - 6 * int(config.addition_time_embed_dim)
        added = {
            "text_embeds": torch.zeros(rows, pooled, device=device, dtype=dtype),
            "time_ids": torch.zeros(rows, 6, device=device, dtype=dtype),
        }

    def plain() -> None:
        unet(x, t, encoder_hidden_states=hidden, added_cond_kwargs=added, return_dict=False)

    extra = () if added is None else (added["text_embeds"], added["time_ids"])
    full = count(plain)
    reuse: dict[int, int] = {}
    with torch.no_grad():
        for n in layers:
            cache = DeepCache(unet, n, interval=2)
            cache(x, t, hidden, *extra)  # full: keeps the deep features
            reuse[n] = count(cache, x, t, hidden, *extra)
            assert cache.reuse_passes == 1
        tokens_flops: dict[int, int] = {}
        if factors:
            install_token_downsampling(unet)
        for f in factors:
            with token_downsampling(f, (h, w)):
                tokens_flops[f] = count(plain)
        image = torch.zeros(1, 3, *image_hw, device=device, dtype=dtype)
        latent = torch.zeros(
            1, int(getattr(vae.config, "latent_channels", 4)), h, w, device=device, dtype=dtype
        )
        encode = count(vae.encode, image)
        decode = count(vae.decode, latent)
    return FrameFlops(full, reuse, tokens_flops, encode, decode)


def meta_frame_flops(model: str, image_hw: tuple[int, int], rows: int = 1) -> FrameFlops:
    """``frame_flops`` of a full-size architecture from ``arch_configs``, built on the meta device."""
    from diffusers import AutoencoderTiny, UNet2DConditionModel

    from .arch_configs import ARCHITECTURES

    arch = ARCHITECTURES[model]
    with torch.device("meta"):
        unet: Any = UNet2DConditionModel(**arch["unet"])
        vae: Any = AutoencoderTiny(**arch["vae"])
    return frame_flops(unet, vae, image_hw, rows=rows)
