"""Warp a latent with the engine's motion vectors (backward warp, nearest-free bilinear)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reproject(latent: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """``latent`` [1, C, h, w] from the previous frame; ``motion`` [1, 2, H, W] in pixels at
    image resolution, current minus previous position (Unity/Unreal convention). Returns the
    previous latent moved to where its content is now."""
    _, _, h, w = latent.shape
    scale_x, scale_y = w / motion.shape[-1], h / motion.shape[-2]
    mv = F.interpolate(motion.float(), size=(h, w), mode="bilinear", align_corners=False)
    ys, xs = torch.meshgrid(torch.arange(h, device=latent.device, dtype=torch.float32),
                            torch.arange(w, device=latent.device, dtype=torch.float32), indexing="ij")
    src_x = xs - mv[0, 0] * scale_x
    src_y = ys - mv[0, 1] * scale_y
    grid = torch.stack(((src_x + 0.5) / w * 2 - 1, (src_y + 0.5) / h * 2 - 1), dim=-1)[None]
    return F.grid_sample(latent, grid, mode="bilinear", padding_mode="border", align_corners=False)
