"""Images (sRGB 0..1) ⇄ scaled latents through the tiny VAE or the full one."""

from __future__ import annotations

from typing import Any

import torch


class LatentCodec:
    def __init__(self, vae: torch.nn.Module, dtype: torch.dtype):
        self.vae = vae
        self.dtype = dtype
        self.tiny = type(vae).__name__ == "AutoencoderTiny"
        config = vae.config
        self.scaling = float(getattr(config, "scaling_factor", 1.0) or 1.0)
        self.shift = float(getattr(config, "shift_factor", 0.0) or 0.0)
        self.channels = int(getattr(config, "latent_channels", 4))
        if self.tiny:  # one 2x upsampling between decoder stages
            self.scale_factor = 2 ** (len(getattr(config, "decoder_block_out_channels", (0, 0, 0, 0))) - 1)
        else:
            self.scale_factor = 2 ** (len(getattr(config, "block_out_channels", (0, 0, 0, 0))) - 1)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        x = (images * 2.0 - 1.0).to(self.dtype)
        vae: Any = self.vae  # AutoencoderTiny or AutoencoderKL: their outputs differ
        z = vae.encode(x).latents if self.tiny else vae.encode(x).latent_dist.mean
        return (z.float() - self.shift) * self.scaling

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        z = (latents / self.scaling + self.shift).to(self.dtype)
        vae: Any = self.vae
        x = vae.decode(z).sample
        return (x.float() * 0.5 + 0.5).clamp_(0.0, 1.0)
