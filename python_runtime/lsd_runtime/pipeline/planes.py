"""The engine's motion vectors and depth: the auxiliary planes beside a session's input ring.

A client declares at ``bind`` how its engine stores them (format, units, sign, y axis; depth
kind, reversed-Z, near and far planes), then fills a frame's slot of each plane with the same
slot index as the frame and sets the frame's ``motion``/``depth`` flags. The runtime turns them
into one convention before a backend sees them, at the model resolution:

- motion ``[1, 2, h, w]`` float32 in model pixels, where the surface is now minus where it was
  a frame ago, +x right, +y down the image: a pixel at (x, y) was at (x, y) - motion;
- depth ``[1, 1, h, w]`` float32, linear view-space depth in scene units (larger is farther).

Resizing to the model resolution: motion is interpolated bilinearly and scaled with the image
(a vector of 10 pixels at 1280 is 5 at 640); depth is never blended across an edge: a
smaller model takes the nearest surface in each model pixel (min-pooling), a larger one the
nearest sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import protocol
from .pixel_formats import RingSpec


@dataclass(frozen=True)
class MotionPlane:
    """How the engine stores motion vectors (``bind``'s ``motion_*`` fields)."""

    format: str
    units: str = "pixels"
    sign: str = "current_minus_previous"
    y_up: bool = False
    pitch: int = 0


@dataclass(frozen=True)
class DepthPlane:
    """How the engine stores depth (``bind``'s ``depth_*`` fields)."""

    format: str
    kind: str = "linear"
    reversed_z: bool = False
    near: float = 0.0
    far: float = 0.0  # device depth: 0 = an infinite far plane
    pitch: int = 0


@dataclass(frozen=True)
class PlaneSpec:
    """One plane ring's layout: the input ring's size, slots and row order, its own format."""

    width: int
    height: int
    format: str
    pitch: int
    bottom_up: bool
    slots: int

    @classmethod
    def beside(cls, ring: RingSpec, fmt: str, pitch: int = 0) -> PlaneSpec:
        bpp = protocol.PLANE_FORMATS[fmt]
        row = ring.width * bpp
        pitch = pitch or row
        if pitch < row or pitch % bpp:
            raise ValueError(
                f"a {fmt} plane's pitch must be a multiple of {bpp} and at least {row} bytes, not {pitch}"
            )
        return cls(ring.width, ring.height, fmt, pitch, ring.bottom_up, ring.slots)

    @property
    def channels(self) -> int:
        return 2 if self.format.startswith("rg") else 1

    @property
    def dtype(self) -> Any:
        return np.float16 if self.format.endswith("16f") else np.float32

    @property
    def size(self) -> int:
        return self.pitch * self.height


def planes_of_bind(msg: dict[str, Any]) -> tuple[MotionPlane | None, DepthPlane | None]:
    """The planes a ``bind`` asks for (its fields are already checked by the codec); ValueError
    names a combination that cannot be right."""
    motion = depth = None
    for key in ("motion_units", "motion_sign", "motion_y_up", "motion_pitch"):
        if key in msg and "motion_format" not in msg:
            raise ValueError(f"'{key}' describes a motion plane, but 'motion_format' asks for none")
    for key in ("depth_kind", "depth_reversed_z", "depth_near", "depth_far", "depth_pitch"):
        if key in msg and "depth_format" not in msg:
            raise ValueError(f"'{key}' describes a depth plane, but 'depth_format' asks for none")
    if "motion_format" in msg:
        motion = MotionPlane(
            msg["motion_format"],
            msg.get("motion_units", "pixels"),
            msg.get("motion_sign", "current_minus_previous"),
            bool(msg.get("motion_y_up", False)),
            msg.get("motion_pitch", 0),
        )
    if "depth_format" in msg:
        depth = DepthPlane(
            msg["depth_format"],
            msg.get("depth_kind", "linear"),
            bool(msg.get("depth_reversed_z", False)),
            float(msg.get("depth_near", 0.0)),
            float(msg.get("depth_far", 0.0)),
            msg.get("depth_pitch", 0),
        )
        if depth.kind == "device":
            if depth.near <= 0.0:
                raise ValueError("device depth needs 'depth_near' > 0 (the camera's near plane)")
            if depth.far != 0.0 and depth.far <= depth.near:
                raise ValueError(
                    f"'depth_far' {depth.far:g} must be beyond 'depth_near' {depth.near:g} (or 0: infinite)"
                )
    return motion, depth


def plane_view(buf: Any, spec: PlaneSpec) -> np.ndarray:
    """``[H, W, C]`` view of a plane slot in image order (top row first), no copy."""
    flat = np.frombuffer(buf, dtype=np.uint8, count=spec.size)
    bpp = protocol.PLANE_FORMATS[spec.format]
    rows = flat.reshape(spec.height, spec.pitch)[:, : spec.width * bpp]
    view = rows.view(spec.dtype).reshape(spec.height, spec.width, spec.channels)
    return view[::-1] if spec.bottom_up else view


def write_plane(buf: Any, spec: PlaneSpec, values: np.ndarray) -> None:
    """Copy an image-order ``[H, W, C]`` (or ``[H, W]``) array into a plane slot (a client's side)."""
    values = np.asarray(values)
    if values.ndim == 2:
        values = values[..., None]
    if values.shape != (spec.height, spec.width, spec.channels):
        raise ValueError(
            f"a {spec.format} plane of {spec.width}x{spec.height} takes [{spec.height}, {spec.width}, "
            f"{spec.channels}] values, not {list(values.shape)}"
        )
    plane_view(buf, spec)[...] = values.astype(spec.dtype)


def motion_pixels(raw: np.ndarray, desc: MotionPlane, width: int, height: int) -> np.ndarray:
    """Engine motion (image order, as declared) → float32 ``[H, W, 2]`` pixels, now minus then, +y down."""
    mv = raw.astype(np.float32)
    if desc.units == "uv":
        mv = mv * np.array([width, height], np.float32)
    if desc.sign == "previous_minus_current":
        mv = -mv
    if desc.y_up:
        mv = mv * np.array([1.0, -1.0], np.float32)
    return np.nan_to_num(mv, nan=0.0, posinf=0.0, neginf=0.0)


def linear_depth(raw: np.ndarray, desc: DepthPlane) -> np.ndarray:
    """Engine depth → float32 linear view-space depth (``[H, W]``). Device depth d in [0, 1]:
    z = near * far / (far - d * (far - near)); reversed-Z (d = 1 near) z = near * far / (near +
    d * (far - near)); an infinite far plane z = near / (1 - d), reversed near / d; the farthest
    value (the sky) stays finite."""
    d = raw.astype(np.float32)[..., 0] if raw.ndim == 3 else raw.astype(np.float32)
    if desc.kind == "linear":
        return np.nan_to_num(np.maximum(d, 0.0), nan=0.0, posinf=1e9, neginf=0.0)
    d = np.clip(d, 0.0, 1.0)
    n, f = desc.near, desc.far
    # written per convention so that no 1 - d loses the precision reversed-Z keeps far away
    if desc.reversed_z:  # d = 1 at the near plane
        denom = d if f == 0.0 else (n + d * (f - n)) / f
    else:
        denom = 1.0 - d if f == 0.0 else (f - d * (f - n)) / f
    z = n / np.maximum(denom, 1e-9)
    return np.minimum(z, 1e9).astype(np.float32)


def motion_to_model(mv: np.ndarray, width: int, height: int, device: torch.device) -> torch.Tensor:
    """``[H, W, 2]`` ring pixels → ``[1, 2, h, w]`` model pixels (bilinear, scaled with the image)."""
    h0, w0 = mv.shape[:2]
    t = torch.from_numpy(np.ascontiguousarray(mv)).permute(2, 0, 1).unsqueeze(0).to(device)
    if (w0, h0) != (width, height):
        t = F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False)
        t = t * torch.tensor([width / w0, height / h0], device=device).view(1, 2, 1, 1)
    return t


def depth_to_model(depth: np.ndarray, width: int, height: int, device: torch.device) -> torch.Tensor:
    """``[H, W]`` → ``[1, 1, h, w]``: the nearest surface in each model pixel when shrinking
    (min-pooling), the nearest sample when growing; never a blend across an edge."""
    h0, w0 = depth.shape[:2]
    t = torch.from_numpy(np.ascontiguousarray(depth, dtype=np.float32)).view(1, 1, h0, w0).to(device)
    if (w0, h0) == (width, height):
        return t
    if width <= w0 and height <= h0:
        return -F.adaptive_max_pool2d(-t, (height, width))
    return F.interpolate(t, size=(height, width), mode="nearest")
