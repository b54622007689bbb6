"""Torch references of the texture kernels in ``kernels/texture_kernels.cu``.

Same operations in the same order as the CUDA kernels, on any torch device; the CPU path
can call them as they are. They agree exactly with ``pixel_formats.to_tensor`` /
``from_tensor`` / ``resize`` where those overlap (fp32, range [0, 1]); what they add is the
raw slot layout (pitch, row order) as a torch tensor, the [-1, 1] range and fp16 tensors.

Slot tensors are 1-D ``uint8`` tensors of at least ``spec.size`` bytes (``torch.frombuffer``
of a shared-memory slot, or a zero-copy view of a CUDA slot).
"""

from __future__ import annotations

from typing import Literal

import torch

from .pixel_formats import RingSpec, resize, srgb_to_linear, texel_rgb

ValueRange = Literal["01", "pm1"]
VALUE_RANGES: tuple[str, ...] = ("01", "pm1")
TENSOR_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float16)


def _check_range(value_range: str) -> None:
    if value_range not in VALUE_RANGES:
        raise ValueError(f"value_range must be one of {VALUE_RANGES}, not {value_range!r}")


def pixel_rows(slot: torch.Tensor, spec: RingSpec) -> torch.Tensor:
    """``[H, W, 4]`` view (uint8 or float16) of a slot tensor in memory-row order, no copy."""
    if slot.dtype != torch.uint8 or slot.dim() != 1:
        raise ValueError(f"a slot tensor is 1-D uint8, got {slot.dtype} of shape {tuple(slot.shape)}")
    if slot.numel() < spec.size:
        raise ValueError(f"slot holds {slot.numel()} bytes; the ring needs {spec.size}")
    rows = slot[: spec.size].view(spec.height, spec.pitch)[:, : spec.width * spec.bytes_per_pixel]
    if spec.format == "rgba16f":
        rows = rows.view(torch.float16)
    return rows.view(spec.height, spec.width, 4)


def image_rows(slot: torch.Tensor, spec: RingSpec) -> torch.Tensor:
    """Like ``pixel_rows`` with the top image row first (a flipped copy for bottom-up)."""
    rows = pixel_rows(slot, spec)
    return rows.flip(0) if spec.bottom_up else rows


def texture_to_tensor(
    slot: torch.Tensor,
    spec: RingSpec,
    width: int,
    height: int,
    dtype: torch.dtype = torch.float32,
    value_range: ValueRange = "01",
) -> torch.Tensor:
    """Reference of ``lsd_texture_to_tensor``: slot bytes → ``[1, 3, height, width]`` sRGB tensor.

    Decode (BGRA swizzle, /255 or half floats), linear → sRGB or clamp to [0, 1], bilinear
    resize (antialiased when shrinking, as ``pixel_formats.resize``), then the range
    (``pm1``: ``2x - 1``) and the dtype.
    """
    _check_range(value_range)
    if dtype not in TENSOR_DTYPES:
        raise ValueError(f"dtype must be float32 or float16, not {dtype}")
    rgb = texel_rgb(image_rows(slot, spec), spec)
    image = resize(rgb.permute(2, 0, 1).unsqueeze(0).contiguous(), width, height)
    if value_range == "pm1":
        image = image * 2.0 - 1.0
    return image.to(dtype)


def tensor_to_texture(
    image: torch.Tensor, spec: RingSpec, value_range: ValueRange = "01", slot: torch.Tensor | None = None
) -> torch.Tensor:
    """Reference of ``lsd_tensor_to_texture``: ``[1, 3, h, w]`` tensor → slot bytes of ``spec``.

    Resize to the ring's size (in the tensor's space), range back to [0, 1], clamp, sRGB →
    linear for linear rings, then 8-bit ``round(x * 255)`` (half to even) or half floats;
    alpha opaque. Writes into ``slot`` (padding bytes untouched) or a new zeroed one.
    """
    _check_range(value_range)
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"expected a [1, 3, H, W] tensor, got {tuple(image.shape)}")
    if slot is None:
        slot = torch.zeros(spec.size, dtype=torch.uint8, device=image.device)
    rgb = resize(image.float(), spec.width, spec.height)
    if value_range == "pm1":
        rgb = (rgb + 1.0) * 0.5
    rgb = rgb[0].permute(1, 2, 0).clamp(0.0, 1.0)
    if spec.color == "linear":
        rgb = srgb_to_linear(rgb)
    if spec.format == "rgba16f":
        out = torch.cat([rgb, torch.ones_like(rgb[..., :1])], dim=-1).to(torch.float16)
    else:
        if spec.format == "bgra8":
            rgb = rgb.flip(-1)
        q = torch.round(rgb * 255.0).to(torch.uint8)
        out = torch.cat([q, torch.full_like(q[..., :1], 255)], dim=-1)
    rows = pixel_rows(slot, spec)
    rows[...] = out.flip(0) if spec.bottom_up else out
    return slot
