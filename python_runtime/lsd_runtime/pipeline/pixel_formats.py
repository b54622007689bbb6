"""Engine texture layouts (format, pitch, row order, colour space) ⇄ model tensors.

These are the torch reference implementations of the texture kernels: the CPU path
uses them as they are, and the CUDA kernels are tested against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import protocol

BYTES_PER_PIXEL = protocol.FORMATS


@dataclass(frozen=True)
class RingSpec:
    """One ring's frame layout, as ``bind`` describes it (defaults filled in)."""

    width: int
    height: int
    format: str = "rgba8"
    pitch: int = 0
    bottom_up: bool = False
    color: str = ""
    slots: int = protocol.DEFAULT_SLOTS

    def __post_init__(self) -> None:
        if self.format not in BYTES_PER_PIXEL:
            raise ValueError(f"unknown pixel format '{self.format}'")
        bpp = BYTES_PER_PIXEL[self.format]
        row = self.width * bpp
        if self.pitch == 0:
            object.__setattr__(self, "pitch", row)
        if self.pitch < row:
            raise ValueError(
                f"pitch {self.pitch} is smaller than a row of {self.width} {self.format} pixels ({row} bytes)"
            )
        if self.pitch % bpp:
            raise ValueError(f"pitch {self.pitch} is not a multiple of the {bpp}-byte {self.format} pixel")
        if not self.color:
            object.__setattr__(self, "color", "linear" if self.format == "rgba16f" else "srgb")

    @classmethod
    def from_message(cls, ring: dict[str, Any]) -> RingSpec:
        return cls(
            width=ring["width"],
            height=ring["height"],
            format=ring["format"],
            pitch=ring.get("pitch", 0),
            bottom_up=ring.get("bottom_up", False),
            color=ring.get("color", ""),
            slots=ring.get("slots", protocol.DEFAULT_SLOTS),
        )

    def to_message(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "pitch": self.pitch,
            "bottom_up": self.bottom_up,
            "color": self.color,
            "slots": self.slots,
        }

    @property
    def bytes_per_pixel(self) -> int:
        return BYTES_PER_PIXEL[self.format]

    @property
    def size(self) -> int:
        """Bytes in one slot."""
        return self.pitch * self.height

    def same_layout(self, other: RingSpec) -> bool:
        return (self.width, self.height, self.format, self.pitch, self.bottom_up, self.color) == (
            other.width,
            other.height,
            other.format,
            other.pitch,
            other.bottom_up,
            other.color,
        )


def pixel_view(buf: Any, spec: RingSpec) -> np.ndarray:
    """A ``[H, W, 4]`` numpy view of a slot buffer in memory-row order (no copy)."""
    dtype = np.float16 if spec.format == "rgba16f" else np.uint8
    flat = np.frombuffer(buf, dtype=np.uint8, count=spec.size)
    rows = flat.reshape(spec.height, spec.pitch)[:, : spec.width * spec.bytes_per_pixel]
    return rows.view(dtype).reshape(spec.height, spec.width, 4)


def image_view(buf: Any, spec: RingSpec) -> np.ndarray:
    """Like ``pixel_view`` but with the top image row first (flipped view for bottom-up)."""
    view = pixel_view(buf, spec)
    return view[::-1] if spec.bottom_up else view


EIGHT_BIT = ("rgba8", "bgra8")


def rgb8_from_texels(texels: np.ndarray, spec: RingSpec) -> np.ndarray:
    """Image-order ``[H, W, 4]`` 8-bit texels → a new contiguous ``[H, W, 3]`` uint8 RGB image."""
    import cv2  # only the 8-bit CPU path needs it

    if texels.strides[0] < 0:  # a bottom-up ring's flipped view: OpenCV takes positive strides
        texels = np.ascontiguousarray(texels)
    code = cv2.COLOR_BGRA2RGB if spec.format == "bgra8" else cv2.COLOR_RGBA2RGB
    return cv2.cvtColor(texels, code)


def texels_from_rgb8(rgb: np.ndarray, spec: RingSpec) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB → ``[H, W, 4]`` texels of ``spec`` (alpha opaque)."""
    import cv2

    code = cv2.COLOR_RGB2BGRA if spec.format == "bgra8" else cv2.COLOR_RGB2RGBA
    return cv2.cvtColor(rgb, code)


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp_min(0) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055)


def to_tensor(pixels: np.ndarray, spec: RingSpec, device: torch.device | str = "cpu") -> torch.Tensor:
    """Image-order ``[H, W, 4]`` pixels → float32 ``[1, 3, H, W]`` sRGB in ``[0, 1]``.

    Alpha is dropped (the runtime writes opaque output); BGRA is swizzled; linear data is
    encoded to sRGB, the space every backend works in.
    """
    t = torch.from_numpy(np.ascontiguousarray(pixels)).to(device)
    return texel_rgb(t, spec).permute(2, 0, 1).unsqueeze(0).contiguous()


def texel_rgb(texels: torch.Tensor, spec: RingSpec) -> torch.Tensor:
    """``[H, W, 4]`` texels of ``spec`` (uint8, or float16 for rgba16f) → float32 sRGB ``[H, W, 3]``."""
    if spec.format == "rgba16f":
        rgb = texels[..., :3].float()
    else:
        rgb = texels[..., :3].float() / 255.0
        if spec.format == "bgra8":
            rgb = rgb.flip(-1)
    return linear_to_srgb(rgb) if spec.color == "linear" else rgb.clamp(0.0, 1.0)


def from_tensor(image: torch.Tensor, spec: RingSpec) -> np.ndarray:
    """float32 ``[1, 3, H, W]`` sRGB → image-order ``[H, W, 4]`` pixels of ``spec`` (alpha opaque)."""
    rgb = image[0].permute(1, 2, 0).clamp(0.0, 1.0)
    if spec.color == "linear":
        rgb = srgb_to_linear(rgb)
    if spec.format == "rgba16f":
        alpha = torch.ones_like(rgb[..., :1])
        out = torch.cat([rgb, alpha], dim=-1).to(torch.float16)
    else:
        if spec.format == "bgra8":
            rgb = rgb.flip(-1)
        q = torch.round(rgb * 255.0).to(torch.uint8)
        out = torch.cat([q, torch.full_like(q[..., :1], 255)], dim=-1)
    return out.cpu().numpy()


def resize(image: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Bilinear resize of ``[N, 3, H, W]`` (area-averaging when shrinking)."""
    if image.shape[-2:] == (height, width):
        return image
    shrinking = height < image.shape[-2] or width < image.shape[-1]
    return torch.nn.functional.interpolate(
        image, size=(height, width), mode="bilinear", align_corners=False, antialias=shrinking
    )
