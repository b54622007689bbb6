"""Frame layouts at the SDK's edges: what sources may yield, what sinks receive, sizes."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .. import protocol


@dataclass(frozen=True)
class EngineFrame:
    """A frame with what an engine knows about it, for sources that have it (a game, a renderer):

    - ``image``: image-order uint8 RGB, RGBA or grey, as any source frame;
    - ``motion``: ``[H, W, 2]`` float, where each pixel's surface is now minus where it was a
      frame ago, in pixels, +x right, +y down the image (None: not this frame);
    - ``depth``: ``[H, W]`` float, linear view-space depth in scene units (None: not this frame);
    - ``camera_cut``: the camera jumped; the backend forgets earlier frames.

    Sources may yield these instead of bare arrays; the engine sends the planes beside the frame
    (shared-memory sessions) and the runtime resizes them with the frame.
    """

    image: np.ndarray
    motion: np.ndarray | None = None
    depth: np.ndarray | None = None
    camera_cut: bool = False

    def checked(self) -> EngineFrame:
        """A copy with the image as RGBA and the planes as float32, or ValueError naming what is wrong."""
        rgba = to_rgba(self.image)
        h, w = rgba.shape[:2]
        motion = depth = None
        if self.motion is not None:
            motion = np.asarray(self.motion, np.float32)
            if motion.shape != (h, w, 2):
                raise ValueError(f"EngineFrame.motion is {list(motion.shape)}; the image needs [{h}, {w}, 2]")
        if self.depth is not None:
            depth = np.asarray(self.depth, np.float32)
            if depth.shape != (h, w):
                raise ValueError(f"EngineFrame.depth is {list(depth.shape)}; the image needs [{h}, {w}]")
        return EngineFrame(rgba, motion, depth, bool(self.camera_cut))


_SIZE = re.compile(r"^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$")


def to_rgba(frame: np.ndarray) -> np.ndarray:
    """An image-order ``[H, W, 4]`` uint8 RGBA copy of an RGB, RGBA or grey uint8 frame."""
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"a frame must be a numpy array, not {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise TypeError(
            f"a frame must be uint8 (0..255), not {frame.dtype}; convert float images with "
            "(img * 255).clip(0, 255).astype(np.uint8)"
        )
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[..., 0]
    if frame.ndim == 2:
        h, w = frame.shape
        out = np.empty((h, w, 4), np.uint8)
        out[..., :3] = frame[..., None]
        out[..., 3] = 255
        return out
    if frame.ndim == 3 and frame.shape[2] in (3, 4) and frame.shape[0] > 0 and frame.shape[1] > 0:
        h, w, c = frame.shape
        if c == 4:
            return np.ascontiguousarray(frame).copy()
        out = np.empty((h, w, 4), np.uint8)
        out[..., :3] = frame
        out[..., 3] = 255
        return out
    raise ValueError(f"a frame must be [H, W, 3] RGB, [H, W, 4] RGBA or [H, W] grey; got shape {frame.shape}")


def rgb_of(rgba: np.ndarray) -> np.ndarray:
    """The contiguous RGB part of an RGBA frame."""
    return np.ascontiguousarray(rgba[..., :3])


def parse_size(text: str) -> tuple[int, int]:
    """``"640x360"`` → ``(640, 360)`` (width × height)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"size '{text}' must look like WIDTHxHEIGHT, e.g. 640x360")
    return check_size(int(m.group(1)), int(m.group(2)))


def check_size(width: int, height: int) -> tuple[int, int]:
    low, high = protocol.MIN_DIMENSION, protocol.MAX_DIMENSION
    if not (low <= width <= high and low <= height <= high):
        raise ValueError(f"size {width}x{height} is out of range ({low}..{high} pixels a side)")
    return width, height


def resolve_size(
    resolution: tuple[int, int] | None, size: tuple[int, int] | str | None
) -> tuple[int, int] | None:
    """The processing size as ``(width, height)`` from ``resolution=(height, width)`` (the documented
    order, as numpy shapes) or ``size=(width, height)`` / ``size="WxH"`` (as video tools write it)."""
    if resolution is not None and size is not None:
        raise ValueError("give either resolution=(height, width) or size=(width, height), not both")
    if size is not None:
        if isinstance(size, str):
            return parse_size(size)
        w, h = _pair(size, "size")
        return check_size(w, h)
    if resolution is not None:
        h, w = _pair(resolution, "resolution")
        return check_size(w, h)
    return None


def _pair(value: object, name: str) -> tuple[int, int]:
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)
    ):
        order = "(height, width)" if name == "resolution" else "(width, height)"
        raise ValueError(f"{name} must be two integers {order}, got {value!r}")
    return int(value[0]), int(value[1])
