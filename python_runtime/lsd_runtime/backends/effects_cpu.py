"""The effects on a CPU core: OpenCV's SIMD kernels on the 8-bit frame itself.

Each style here is the counterpart of the torch one in ``effects.py`` (which serves CUDA, MPS
and machines without OpenCV): the same filters in the same order, on ``[H, W, 3]`` uint8 RGB
instead of float32 NCHW, so rounding happens between steps. The two agree within the
tolerance that ``tests/unit/test_effects_cpu.py`` states per style; each is exact against itself
(the runtime's output equals the same function called in-process).

OpenCV runs single-threaded here (``cv2.setNumThreads(1)`` at import): the runtime sits beside
a game, and one core per session is the budget the benchmarks hold it to.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

try:
    import cv2
except ImportError:  # pragma: no cover - a dependency; without it the torch effects run
    cv2 = None  # type: ignore[assignment]

if cv2 is not None:
    cv2.setNumThreads(1)

AVAILABLE = cv2 is not None
Image = np.ndarray
REPLICATE = 1  # cv2.BORDER_REPLICATE, the torch effects' padding


def _binomial(passes: int) -> np.ndarray:
    """The 1-D kernel of ``passes`` [1, 2, 1] / 4 blurs (binomial of order 2 x passes)."""
    k = np.array([1.0], np.float64)
    for _ in range(passes):
        k = np.convolve(k, [0.25, 0.5, 0.25])
    return k.astype(np.float32)


_KERNELS = {n: _binomial(n) for n in range(1, 5)}


def blur(x: Image, passes: int) -> Image:
    k = _KERNELS[passes]
    return cv2.sepFilter2D(x, -1, k, k, borderType=REPLICATE)


def gray(x: Image) -> Image:
    return cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)  # 0.299 R + 0.587 G + 0.114 B


def edges(g: Image, scale: float) -> Image:
    """The Sobel L1 magnitude ``|gx| + |gy|`` of an 8-bit image (gradients of the [0, 1] image,
    as the torch effects compute them) times ``scale``, as 8 bits: 255 = 1.0, saturating."""
    gx = cv2.Sobel(g, cv2.CV_16S, 1, 0, ksize=3, borderType=REPLICATE)
    gy = cv2.Sobel(g, cv2.CV_16S, 0, 1, ksize=3, borderType=REPLICATE)
    ax = cv2.convertScaleAbs(gx, alpha=scale)
    ay = cv2.convertScaleAbs(gy, alpha=scale)
    return cv2.add(ax, ay)


@lru_cache(maxsize=16)
def _saturation_matrix(amount: float) -> np.ndarray:
    """``amount x colour + (1 - amount) x luminance`` per channel, as one 3x3 colour matrix."""
    luma = np.array([[0.299, 0.587, 0.114]] * 3)
    return (amount * np.eye(3) + (1.0 - amount) * luma).astype(np.float32)


def saturate(x: Image, amount: float) -> Image:
    return cv2.transform(x, _saturation_matrix(amount))  # one pass, rounded and saturated


@lru_cache(maxsize=32)
def soft_levels_table(levels: float, softness: float = 0.35) -> np.ndarray:
    """Posterise to ``levels`` flat bands with soft steps between them (a 256-entry LUT)."""
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.round(soft_levels(v, levels, softness) * 255.0).astype(np.uint8)


def soft_levels(v: np.ndarray, levels: float, softness: float = 0.35) -> np.ndarray:
    """Bands of ``levels`` values; within ``softness`` of a band's edge the value ramps to the
    next (smoothstep), so a slow gradient (a sky) shows soft steps, not hard seams."""
    n = levels - 1.0
    s = v * n
    base = np.floor(s)
    frac = s - base
    lo, hi = 0.5 - softness / 2.0, 0.5 + softness / 2.0
    t = np.clip((frac - lo) / (hi - lo), 0.0, 1.0)
    t = t * t * (3.0 - 2.0 * t)
    return np.clip((base + t) / n, 0.0, 1.0)


@lru_cache(maxsize=16)
def position_hash(height: int, width: int, salt: int) -> np.ndarray:
    """The torch effects' per-pixel hash in [0, 1), float32 ``[H, W]`` (cached per size)."""
    y = np.arange(height, dtype=np.int64).reshape(-1, 1)
    x = np.arange(width, dtype=np.int64).reshape(1, -1)
    h = (x * 73856093) ^ (y * 19349663) ^ (salt * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    h = (h ^ (h >> 16)) & 0xFFFF
    return (h.astype(np.float32) / 65536.0).astype(np.float32)  # 16-bit hash: not a protocol limit


@lru_cache(maxsize=16)
def vignette(height: int, width: int, amount: float) -> np.ndarray:
    y = np.linspace(-1.0, 1.0, height, dtype=np.float32).reshape(-1, 1)
    x = np.linspace(-1.0, 1.0, width, dtype=np.float32).reshape(1, -1)
    return np.clip(1.0 - amount * (x * x + y * y) * 0.5, 0.0, 1.0).astype(np.float32)


@lru_cache(maxsize=16)
def _vignette3(height: int, width: int, amount: float) -> np.ndarray:
    v = np.round(vignette(height, width, amount) * 255.0).astype(np.uint8)
    return cv2.merge([v, v, v])


def _to8(v: np.ndarray) -> Image:
    """float32 in [0, 1] → uint8 (rounded, saturating)."""
    return cv2.convertScaleAbs(v, alpha=255.0)


# --- the styles ----------------------------------------------------------------------------------


def identity(x: Image, p: dict[str, Any]) -> Image:
    return x


def toon(x: Image, p: dict[str, Any]) -> Image:
    levels = float(p.get("levels", 5))
    smooth = blur(x, 2)
    flat = cv2.LUT(saturate(smooth, 1.35), soft_levels_table(levels))
    # ink where |gx| + |gy| > edge (the 8-bit edges hold a quarter of it: edge goes up to 4)
    _, ink = cv2.threshold(
        edges(gray(smooth), 1.0 / 4.0), float(p.get("edge", 0.35)) * 255.0 / 4.0, 255, cv2.THRESH_BINARY
    )
    dark = cv2.convertScaleAbs(flat, alpha=0.15)
    return cv2.copyTo(dark, ink, flat)


@lru_cache(maxsize=8)
def _sketch_tables(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i = np.arange(256, dtype=np.float64) / 255.0
    pencil = np.round(np.clip(1.0 - i, 0.0, 1.0) ** 1.5 * 255.0).astype(np.uint8)
    tone = np.round((0.85 + 0.15 * i) * 255.0).astype(np.uint8)
    grain = np.round(position_hash(height, width, 7) * 0.06 * 255.0).astype(np.uint8)
    return pencil, tone, grain


_PAPER = np.array([[0.98], [0.96], [0.90]], np.float32)


def sketch(x: Image, p: dict[str, Any]) -> Image:
    h, w = x.shape[:2]
    pencil_lut, tone_lut, grain = _sketch_tables(h, w)
    g = blur(gray(x), 1)
    lines = edges(g, float(p.get("darkness", 2.5)))
    v = cv2.multiply(cv2.LUT(lines, pencil_lut), cv2.LUT(g, tone_lut), scale=1.0 / 255.0)
    v = cv2.subtract(v, grain)
    return cv2.transform(v, _PAPER)


def pixel_grid(height: int, width: int, block: int) -> tuple[int, int, int, int]:
    """Blocks down and across, and each block's height and width: whole blocks that fit (the
    last few rows and columns, less than a block, fall inside the last block when scaled up)."""
    gh, gw = max(1, height // block), max(1, width // block)
    return gh, gw, height // gh, width // gw


def pixel_art(x: Image, p: dict[str, Any]) -> Image:
    h, w = x.shape[:2]
    gh, gw, bh, bw = pixel_grid(h, w, int(p.get("block", max(2, round(min(h, w) / 48)))))
    # whole blocks: OpenCV's area resize has a fast path for integer factors
    small = cv2.resize(x[: gh * bh, : gw * bw], (gw, gh), interpolation=cv2.INTER_AREA)
    levels = float(p.get("levels", 6))
    small = cv2.LUT(saturate(small, 1.2), _hard_levels_table(levels))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


@lru_cache(maxsize=32)
def _hard_levels_table(levels: float) -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.round(np.round(v * (levels - 1.0)) / (levels - 1.0) * 255.0).astype(np.uint8)


THERMAL_RAMP = [
    (0.0, 0.0, 0.05),
    (0.15, 0.0, 0.45),
    (0.55, 0.0, 0.6),
    (0.9, 0.2, 0.25),
    (1.0, 0.55, 0.0),
    (1.0, 0.85, 0.1),
    (1.0, 1.0, 0.85),
]


@lru_cache(maxsize=1)
def _thermal_table() -> np.ndarray:
    stops = np.array(THERMAL_RAMP, np.float64)
    pos = np.arange(256, dtype=np.float64) / 255.0 * (len(stops) - 1)
    i0 = np.clip(np.floor(pos), 0, len(stops) - 2).astype(int)
    frac = (pos - i0)[:, None]
    rgb = stops[i0] + (stops[i0 + 1] - stops[i0]) * frac
    return np.round(rgb * 255.0).astype(np.uint8).reshape(256, 1, 3)


def thermal(x: Image, p: dict[str, Any]) -> Image:
    heat = blur(gray(x), 2)
    r, _, b = cv2.split(x)
    warm = cv2.addWeighted(heat, 1.0, cv2.subtract(r, b), 0.25, 0.0)
    return cv2.LUT(cv2.cvtColor(warm, cv2.COLOR_GRAY2RGB), _thermal_table())


Tables = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@lru_cache(maxsize=8)
def _night_tables(height: int, width: int, gain: float) -> Tables:
    """8-bit tables: the intensifier's response (a LUT), the per-pixel scan-line x vignette
    factor, and the grain (already times that factor) split into its positive and negative
    parts, so the frame itself never leaves 8 bits."""
    i = np.arange(256, dtype=np.float64) / 255.0
    lum = np.round((1.0 - np.exp(-gain * i)) / (1.0 - np.exp(-gain)) * 255.0).astype(np.uint8)
    rows = np.arange(height).reshape(-1, 1)
    scan = np.where(rows % 2 == 0, 1.0, 0.82)
    factor = scan * vignette(height, width, 0.9).astype(np.float64)
    grain = (position_hash(height, width, 3).astype(np.float64) - 0.5) * 0.12 * factor
    return (
        lum,
        np.round(factor * 255.0).astype(np.uint8),
        np.round(np.maximum(grain, 0.0) * 255.0).astype(np.uint8),
        np.round(np.maximum(-grain, 0.0) * 255.0).astype(np.uint8),
    )


_TINT = np.array([[0.25], [1.0], [0.35]], np.float32)


def night_vision(x: Image, p: dict[str, Any]) -> Image:
    h, w = x.shape[:2]
    lum_lut, factor, grain_up, grain_down = _night_tables(h, w, float(p.get("gain", 2.2)))
    v = cv2.multiply(cv2.LUT(gray(x), lum_lut), factor, scale=1.0 / 255.0)
    v = cv2.subtract(cv2.add(v, grain_up), grain_down)
    return cv2.transform(v, _TINT)


NEON_FLOOR = 64  # 0.25 x 255: weaker edges (surface texture) stay dark, as in the torch effect
_NEON_FLOOR_TABLE = np.round(
    np.clip((np.arange(256) - NEON_FLOOR) * 255.0 / (255 - NEON_FLOOR), 0.0, 255.0)
).astype(np.uint8)


def neon_edges(x: Image, p: dict[str, Any]) -> Image:
    e = edges(blur(gray(x), 2), float(p.get("gain", 3.0)))  # grey then blur: one channel, not three
    e = cv2.LUT(e, _NEON_FLOOR_TABLE)
    colour = saturate(x, 2.5)
    r, g, b = cv2.split(colour)  # channel views would each be copied by OpenCV anyway
    peak = cv2.max(cv2.max(cv2.max(r, g), b), 51)  # 0.2 x 255: dark pixels are not blown up
    colour = cv2.divide(colour, cv2.cvtColor(peak, cv2.COLOR_GRAY2RGB), scale=255.0)
    lines = cv2.multiply(colour, cv2.cvtColor(e, cv2.COLOR_GRAY2RGB), scale=1.0 / 255.0)
    glow = blur(lines, 3)
    out = cv2.addWeighted(lines, 1.0, glow, 1.5, 0.0)
    return cv2.addWeighted(out, 1.0, x, 0.06, 0.0)


@lru_cache(maxsize=8)
def _paper3(height: int, width: int) -> np.ndarray:
    paper = np.round((0.92 + 0.08 * position_hash(height, width, 11)) * 255.0).astype(np.uint8)
    return cv2.merge([paper, paper, paper])


def watercolour(x: Image, p: dict[str, Any]) -> Image:
    h, w = x.shape[:2]
    soft = blur(x, 4)
    washed = blur(cv2.LUT(soft, _hard_levels_table(float(p.get("levels", 7)))), 1)
    # pigment (0.55 washed + 0.45 soft) on white paper: 0.2 + 0.8 x pigment, in one pass
    bright = cv2.addWeighted(washed, 0.8 * 0.55, soft, 0.8 * 0.45, 0.2 * 255.0)
    rim = cv2.convertScaleAbs(edges(gray(soft), 1.2), alpha=0.35)
    v = cv2.subtract(bright, cv2.cvtColor(rim, cv2.COLOR_GRAY2RGB))
    return cv2.multiply(v, _paper3(h, w), scale=1.0 / 255.0)


_SEPIA = np.array(
    [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]],
    np.float32,
)


def sepia(x: Image, p: dict[str, Any]) -> Image:
    h, w = x.shape[:2]
    return cv2.multiply(cv2.transform(x, _SEPIA), _vignette3(h, w, 0.6), scale=1.0 / 255.0)


STYLES: dict[str, Callable[[Image, dict[str, Any]], Image]] = {
    "identity": identity,
    "toon": toon,
    "sketch": sketch,
    "pixel_art": pixel_art,
    "thermal": thermal,
    "night_vision": night_vision,
    "neon_edges": neon_edges,
    "watercolour": watercolour,
    "sepia": sepia,
    "planes": lambda x, p: planes_view(x, None, None),
}


# --- with the engine's depth and motion -----------------------------------------------------

CREASE = 0.05  # |laplacian(1/z)| * z above this: an outline (zero on any plane, whatever its slant)
FOG_RGB = (200, 205, 212)


def depth_ink(depth: np.ndarray) -> Image:
    """Outlines from the engine's depth, as non-photorealistic game renderers draw them: where the
    depth jumps (silhouettes) or its surface bends (creases). The laplacian of 1/z is zero on every
    plane, so a floor seen at a grazing angle stays clean. 255 = ink, about a pixel per 640 wide."""
    z = np.maximum(depth.astype(np.float32), 1e-6)
    lap = cv2.Laplacian(1.0 / z, cv2.CV_32F, ksize=1, borderType=REPLICATE)
    ink: np.ndarray = ((np.abs(lap) * z) > CREASE).astype(np.uint8) * 255
    width = max(1, round(depth.shape[1] / 640))
    if width > 1:
        ink = cv2.dilate(ink, np.ones((width, width), np.uint8))
    return ink


def toon_depth(x: Image, p: dict[str, Any], depth: np.ndarray) -> Image:
    """``toon`` with outlines from depth instead of colour edges: texture and shadows draw none."""
    levels = float(p.get("levels", 5))
    flat = cv2.LUT(saturate(blur(x, 2), 1.35), soft_levels_table(levels))
    dark = cv2.convertScaleAbs(flat, alpha=0.15)
    return cv2.copyTo(dark, depth_ink(depth), flat)


def sketch_depth(x: Image, p: dict[str, Any], depth: np.ndarray) -> Image:
    """``sketch`` with firm lines where the geometry has them, and the colour edges (texture,
    shading) drawn at half the darkness."""
    h, w = x.shape[:2]
    pencil_lut, tone_lut, grain = _sketch_tables(h, w)
    g = blur(gray(x), 1)
    lines = cv2.max(edges(g, float(p.get("darkness", 2.5)) * 0.5), depth_ink(depth))
    v = cv2.multiply(cv2.LUT(lines, pencil_lut), cv2.LUT(g, tone_lut), scale=1.0 / 255.0)
    v = cv2.subtract(v, grain)
    return cv2.transform(v, _PAPER)


DEPTH_STYLES: dict[str, Callable[[Image, dict[str, Any], np.ndarray], Image]] = {
    "toon": toon_depth,
    "sketch": sketch_depth,
}


def fog(x: Image, depth: np.ndarray, distance: float) -> Image:
    """Distance fog: each pixel goes towards the fog colour by 1 - exp(-depth / distance)."""
    keep = np.exp(-np.maximum(depth.astype(np.float32), 0.0) / distance)
    keep8 = cv2.cvtColor(np.round(keep * 255.0).astype(np.uint8), cv2.COLOR_GRAY2RGB)
    haze = np.empty_like(x)
    haze[...] = FOG_RGB
    return cv2.add(
        cv2.multiply(x, keep8, scale=1.0 / 255.0),
        cv2.multiply(haze, cv2.bitwise_not(keep8), scale=1.0 / 255.0),
    )


def planes_view(image: Image, motion: np.ndarray | None, depth: np.ndarray | None) -> Image:
    """What the engine sent, as the backend sees it (the ``planes`` style): red and green are the
    motion vector's x and y in model pixels around 128 (128: still), blue the linear depth in
    scene units (0..255, clipped); a plane not sent this frame reads 128 or 0."""
    h, w = image.shape[:2]
    out = np.empty((h, w, 3), np.uint8)
    if motion is None:
        out[..., :2] = 128
    else:
        out[..., :2] = np.clip(np.rint(motion.astype(np.float32) + 128.0), 0, 255)
    out[..., 2] = 0 if depth is None else np.clip(np.rint(depth.astype(np.float32)), 0, 255)
    return out


def warp_previous(
    prev: Image, prev_depth: np.ndarray, motion: np.ndarray, depth: np.ndarray
) -> tuple[Image, np.ndarray]:
    """The previous output moved to where its surfaces are now (each pixel from where the engine
    says it was), and where that is trustworthy: 255 where the previous depth there matches
    (within 10 %); 0 where the surface was hidden a frame ago (disoccluded) or off screen."""
    h, w = depth.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = xs - motion[..., 0], ys - motion[..., 1]
    warped = cv2.remap(prev, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    was = cv2.remap(
        prev_depth, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0
    )
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    valid = inside & (np.abs(was - depth) <= 0.1 * np.maximum(depth, 1e-6))
    return warped, valid.astype(np.uint8) * 255


def apply_effect_u8(
    image: Image,
    style: str,
    params: dict[str, Any] | None = None,
    strength: float = 1.0,
    depth: np.ndarray | None = None,
) -> Image:
    """Apply a named effect to one ``[H, W, 3]`` uint8 sRGB RGB image (a new image). With the
    engine's ``depth`` (``[H, W]`` float32 linear depth), outlines follow the geometry (``toon``,
    ``sketch``) and ``fog_distance`` (a parameter of every style) adds distance fog."""
    p = params or {}
    if depth is not None and style in DEPTH_STYLES:
        out = DEPTH_STYLES[style](image, p, depth)
    else:
        out = STYLES[style](image, p)
    if depth is not None and p.get("fog_distance"):
        out = fog(out, depth, float(p["fog_distance"]))
    if strength < 1.0:
        out = cv2.addWeighted(out, strength, image, 1.0 - strength, 0.0)
    return out
