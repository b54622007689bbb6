"""The engine's motion and depth at the latent resolution: what the stream pipeline uses to keep
a restyle on its surfaces from frame to frame.

- ``LatentPlanes``: motion (scaled with the image) and depth (nearest surface per latent pixel,
  never a blend across an edge) at the latent size, and where the previous frame's surface is
  visible again (not disoccluded: the depth it had, moved with the motion, agrees with the depth
  it has now);
- ``warp``: a backward warp (each latent pixel takes what was at its position minus the motion);
- ``NoiseTracker``: noise that follows the surfaces (texture seeded by it sticks to them
  instead of swimming): each latent pixel keeps the position in a reference noise field its
  surface started at, moved with the motion every frame (positions interpolate smoothly), and
  reads that field there once (bilinear, renormalised to unit variance), so the noise moves
  smoothly and never blurs however long it travels; pixels whose surface was uncovered start
  again with this frame's own noise.
  (``warp_noise``, bilinear mixing renormalised to unit variance, blurs the noise into streaks
  when applied frame after frame: kept for one-off moves and as the comparison in the tests.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

DEPTH_AGREE = 0.1  # relative depth difference within which a warped surface is "the same one"


def _grid(motion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sample positions (x, y) for a backward warp by ``motion`` [1, 2, h, w], and grid_sample's grid."""
    _, _, h, w = motion.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=motion.device, dtype=torch.float32),
        torch.arange(w, device=motion.device, dtype=torch.float32),
        indexing="ij",
    )
    sx, sy = xs - motion[0, 0].float(), ys - motion[0, 1].float()
    grid = torch.stack(((sx + 0.5) / w * 2 - 1, (sy + 0.5) / h * 2 - 1), dim=-1)[None]
    return sx, sy, grid


def warp(x: torch.Tensor, motion: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """``x`` [N, C, h, w] moved by ``motion`` [1, 2, h, w] (latent pixels, now minus then)."""
    _, _, grid = _grid(motion)
    grid = grid.expand(x.shape[0], -1, -1, -1).to(x.dtype)
    return F.grid_sample(x, grid, mode=mode, padding_mode="border", align_corners=False)


def warp_noise(noise: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """Unit-variance noise [N, C, h, w] moved by ``motion``; bilinear mixing of four samples has
    variance sum(w_i^2) < 1, so each pixel is divided by its square root (whole-pixel moves are
    exact copies)."""
    sx, sy, grid = _grid(motion)
    fx, fy = sx - sx.floor(), sy - sy.floor()
    spread = ((1 - fx) ** 2 + fx**2) * ((1 - fy) ** 2 + fy**2)
    moved = F.grid_sample(
        noise, grid.expand(noise.shape[0], -1, -1, -1).to(noise.dtype), mode="bilinear",
        padding_mode="border", align_corners=False,
    )  # fmt: skip
    return moved / spread.sqrt().to(noise.dtype)


@dataclass
class LatentPlanes:
    """One frame's motion and depth at the latent size, and what of the previous frame holds."""

    motion: torch.Tensor | None  # [1, 2, h, w] latent pixels
    depth: torch.Tensor | None  # [1, 1, h, w] linear, the nearest surface per latent pixel
    visible: torch.Tensor | None = None  # [1, 1, h, w] 1.0 where the previous frame's surface is seen again

    @classmethod
    def of(
        cls,
        motion: torch.Tensor | None,
        depth: torch.Tensor | None,
        size: tuple[int, int],
        previous_depth: torch.Tensor | None,
    ) -> LatentPlanes:
        h, w = size
        mv = dz = None
        if motion is not None:
            mh, mw = motion.shape[-2:]
            mv = F.interpolate(motion[:1].float(), size=(h, w), mode="bilinear", align_corners=False)
            mv = mv * torch.tensor([w / mw, h / mh], device=mv.device).view(1, 2, 1, 1)
        if depth is not None:
            dz = -F.adaptive_max_pool2d(-depth[:1].float(), (h, w))
        planes = cls(mv, dz)
        if mv is not None:
            sx, sy, _ = _grid(mv)
            inside = ((sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)).view(1, 1, h, w)
            seen = inside
            if dz is not None and previous_depth is not None and previous_depth.shape == dz.shape:
                was = warp(previous_depth, mv, mode="nearest")
                seen = seen & ((was - dz).abs() <= DEPTH_AGREE * dz.clamp_min(1e-6))
            planes.visible = seen.to(mv.dtype)
        return planes


def sample_noise(reference: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """``reference`` read at ``coords`` ([1, 2, h, w] sample positions), bilinear and renormalised
    to unit variance: one interpolation from the reference however far the surface went, so the
    noise moves smoothly below a latent pixel and never blurs."""
    _, _, h, w = reference.shape
    sx, sy = coords[0, 0], coords[0, 1]
    fx, fy = sx - sx.floor(), sy - sy.floor()
    spread = ((1 - fx) ** 2 + fx**2) * ((1 - fy) ** 2 + fy**2)
    grid = torch.stack(((sx + 0.5) / w * 2 - 1, (sy + 0.5) / h * 2 - 1), dim=-1)[None]
    grid = grid.expand(reference.shape[0], -1, -1, -1).to(reference.dtype)
    moved = F.grid_sample(reference, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return moved / spread.sqrt().to(reference.dtype)


class NoiseTracker:
    """Per-pixel positions into a reference noise field, moved with the engine's motion."""

    def __init__(self) -> None:
        self.reference: torch.Tensor | None = None  # [R, C, h, w] the field positions point into
        self.coords: torch.Tensor | None = None  # [1, 2, h, w] (x, y) into the reference

    def reset(self) -> None:
        self.reference = None
        self.coords = None

    def __call__(self, drawn: torch.Tensor, planes: LatentPlanes) -> torch.Tensor:
        """This frame's noise: tracked where the surface is seen again, ``drawn`` elsewhere."""
        r, _, h, w = drawn.shape
        if planes.motion is None or planes.visible is None:
            return drawn
        ys, xs = torch.meshgrid(
            torch.arange(h, device=drawn.device, dtype=torch.float32),
            torch.arange(w, device=drawn.device, dtype=torch.float32),
            indexing="ij",
        )
        own = torch.stack((xs, ys))[None]
        if self.reference is None or self.coords is None or self.reference.shape != drawn.shape:
            self.reference, self.coords = drawn.clone(), own
            return drawn
        moved = warp(self.coords, planes.motion)
        keep = planes.visible > 0.5
        coords = torch.where(keep, moved, own)
        tracked = sample_noise(self.reference, coords)
        noise = torch.where(keep, tracked, drawn)
        # the uncovered pixels now point at themselves: give the reference their new noise there
        self.reference = torch.where(keep, self.reference, drawn)
        self.coords = coords
        return noise
