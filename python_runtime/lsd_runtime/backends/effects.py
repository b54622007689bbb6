"""The built-in ``effects`` backend: stylised looks with no weights, on CPU or GPU.

Every effect is built from element-wise torch ops and fixed-size neighbourhood sums
written as shifted slices, never from ops whose result depends on the thread count, so
a frame restyled in the runtime equals, bit for bit, the same frame restyled anywhere
else on the same device. No effect uses per-frame randomness: the grain patterns are
integer hashes of the pixel position, so a static scene gives a static picture.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import effects_cpu
from .base import Backend, StyleError, StyleRequest, StyleResult

Tensor = torch.Tensor


# --- building blocks ---------------------------------------------------------------


def luminance(x: Tensor) -> Tensor:
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def blur121(x: Tensor, passes: int = 1) -> Tensor:
    """Separable [1, 2, 1] / 4 blur with edge replication, ``passes`` times."""
    for _ in range(passes):
        p = F.pad(x, (1, 1, 1, 1), mode="replicate")
        h = p[..., :, :-2] + 2.0 * p[..., :, 1:-1] + p[..., :, 2:]
        x = (h[..., :-2, :] + 2.0 * h[..., 1:-1, :] + h[..., 2:, :]) * (1.0 / 16.0)
    return x


def sobel(gray: Tensor) -> tuple[Tensor, Tensor]:
    p = F.pad(gray, (1, 1, 1, 1), mode="replicate")
    tl, tc, tr = p[..., :-2, :-2], p[..., :-2, 1:-1], p[..., :-2, 2:]
    ml, mr = p[..., 1:-1, :-2], p[..., 1:-1, 2:]
    bl, bc, br = p[..., 2:, :-2], p[..., 2:, 1:-1], p[..., 2:, 2:]
    gx = (tr + 2.0 * mr + br) - (tl + 2.0 * ml + bl)
    gy = (bl + 2.0 * bc + br) - (tl + 2.0 * tc + tr)
    return gx, gy


def edge_strength_of_gray(gray: Tensor) -> Tensor:
    """Sobel L1 magnitude ``|gx| + |gy|`` of a one-channel image (what the CPU effects compute)."""
    gx, gy = sobel(gray)
    return gx.abs() + gy.abs()


def edge_strength(x: Tensor) -> Tensor:
    """``edge_strength_of_gray`` of the luminance."""
    return edge_strength_of_gray(luminance(x))


def soft_levels(x: Tensor, levels: float, softness: float = 0.35) -> Tensor:
    """Flat bands of ``levels`` values with soft steps between them (smoothstep over
    ``softness`` of a band), so a slow gradient such as a sky shows no hard seams."""
    n = levels - 1.0
    s = x.clamp(0.0, 1.0) * n
    base = torch.floor(s)
    t = ((s - base - (0.5 - softness / 2.0)) / softness).clamp(0.0, 1.0)
    return ((base + t * t * (3.0 - 2.0 * t)) / n).clamp(0.0, 1.0)


def position_hash(height: int, width: int, device: torch.device, salt: int = 0) -> Tensor:
    """A fixed pseudo-random value in [0, 1) per pixel, ``[1, 1, H, W]``."""
    y = torch.arange(height, device=device, dtype=torch.int64).view(-1, 1)
    x = torch.arange(width, device=device, dtype=torch.int64).view(1, -1)
    h = (x * 73856093) ^ (y * 19349663) ^ (salt * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    h = (h ^ (h >> 16)) & 0xFFFF
    return (h.to(torch.float32) / 65536.0).view(1, 1, height, width)  # 16-bit hash: not a protocol limit


def vignette(height: int, width: int, device: torch.device, amount: float) -> Tensor:
    y = torch.linspace(-1.0, 1.0, height, device=device).view(-1, 1)
    x = torch.linspace(-1.0, 1.0, width, device=device).view(1, -1)
    r2 = (x * x + y * y) * 0.5
    return (1.0 - amount * r2).clamp(0.0, 1.0).view(1, 1, height, width)


def saturate(x: Tensor, amount: float) -> Tensor:
    g = luminance(x)
    return (g + (x - g) * amount).clamp(0.0, 1.0)


def lut(values: Tensor, stops: list[tuple[float, float, float]]) -> Tensor:
    """Map ``[N, 1, H, W]`` values in [0, 1] through a piecewise-linear colour ramp."""
    table = torch.tensor(stops, dtype=torch.float32, device=values.device)  # [S, 3]
    pos = values.clamp(0.0, 1.0) * (len(stops) - 1)
    i0 = pos.floor().clamp(max=len(stops) - 2)
    frac = pos - i0
    idx = i0.long().squeeze(1)
    c0 = table[idx].permute(0, 3, 1, 2)
    c1 = table[idx + 1].permute(0, 3, 1, 2)
    return c0 + (c1 - c0) * frac


# --- the effects --------------------------------------------------------------------


def identity(x: Tensor, p: dict[str, Any]) -> Tensor:
    return x


def toon(x: Tensor, p: dict[str, Any]) -> Tensor:
    levels = float(p.get("levels", 5))
    smooth = blur121(x, 2)
    flat = soft_levels(saturate(smooth, 1.35), levels)
    edges = edge_strength(smooth)
    ink = (edges > float(p.get("edge", 0.35))).to(x.dtype)
    return flat * (1.0 - ink * 0.85)


def sketch(x: Tensor, p: dict[str, Any]) -> Tensor:
    gray = blur121(luminance(x), 1)
    gx, gy = sobel(gray)
    lines = (gx.abs() + gy.abs()) * float(p.get("darkness", 2.5))
    pencil = (1.0 - lines).clamp(0.0, 1.0) ** 1.5
    tone = 0.85 + 0.15 * gray  # keep a hint of shading
    grain = position_hash(x.shape[-2], x.shape[-1], x.device, salt=7) * 0.06
    v = (pencil * tone - grain).clamp(0.0, 1.0)
    paper = torch.tensor([0.98, 0.96, 0.90], device=x.device).view(1, 3, 1, 1)
    return v * paper


def pixel_art(x: Tensor, p: dict[str, Any]) -> Tensor:
    h, w = x.shape[-2:]
    block = int(p.get("block", max(2, round(min(h, w) / 48))))
    gh, gw = max(1, h // block), max(1, w // block)
    bh, bw = h // gh, w // gw  # whole blocks that fit; the rest falls in the last block scaled up
    small = F.avg_pool2d(x[..., : gh * bh, : gw * bw], (bh, bw))
    levels = float(p.get("levels", 6))
    small = torch.round(saturate(small, 1.2) * (levels - 1.0)) / (levels - 1.0)
    return F.interpolate(small, size=(h, w), mode="nearest")


THERMAL_RAMP = [
    (0.0, 0.0, 0.05),
    (0.15, 0.0, 0.45),
    (0.55, 0.0, 0.6),
    (0.9, 0.2, 0.25),
    (1.0, 0.55, 0.0),
    (1.0, 0.85, 0.1),
    (1.0, 1.0, 0.85),
]


def thermal(x: Tensor, p: dict[str, Any]) -> Tensor:
    heat = blur121(luminance(x), 2)
    # warm, saturated colours read hotter than their luminance alone
    red_bias = (x[:, 0:1] - x[:, 2:3]).clamp(min=0.0) * 0.25
    return lut((heat + red_bias).clamp(0.0, 1.0), THERMAL_RAMP)


def intensifier(lum: Tensor, gain: float) -> Tensor:
    """An image intensifier's response: dark areas lifted by ``gain``, bright ones compressed
    towards white without clipping (``(1 - e^-gL) / (1 - e^-g)``), so a lit scene keeps its shapes."""
    return (1.0 - torch.exp(-gain * lum)) / (1.0 - float(np.exp(-gain)))


def night_vision(x: Tensor, p: dict[str, Any]) -> Tensor:
    h, w = x.shape[-2:]
    lum = intensifier(luminance(x), float(p.get("gain", 2.2)))
    grain = (position_hash(h, w, x.device, salt=3) - 0.5) * 0.12
    rows = torch.arange(h, device=x.device).view(1, 1, -1, 1)
    scan = torch.where(rows % 2 == 0, 1.0, 0.82)
    v = ((lum + grain) * scan * vignette(h, w, x.device, 0.9)).clamp(0.0, 1.0)
    tint = torch.tensor([0.25, 1.0, 0.35], device=x.device).view(1, 3, 1, 1)
    return (v * tint).clamp(0.0, 1.0)


NEON_FLOOR = 0.25  # edges weaker than this (surface texture) stay dark: outlines glow, grass does not


def neon_edges(x: Tensor, p: dict[str, Any]) -> Tensor:
    edges = (edge_strength_of_gray(blur121(luminance(x), 2)) * float(p.get("gain", 3.0))).clamp(0.0, 1.0)
    edges = ((edges - NEON_FLOOR) / (1.0 - NEON_FLOOR)).clamp(min=0.0)
    colour = saturate(x, 2.5)
    colour = colour / colour.amax(dim=1, keepdim=True).clamp_min(0.2)
    lines = colour * edges
    glow = blur121(lines, 3)
    return (lines + glow * 1.5 + x * 0.06).clamp(0.0, 1.0)


def watercolour(x: Tensor, p: dict[str, Any]) -> Tensor:
    h, w = x.shape[-2:]
    soft = blur121(x, 4)
    levels = float(p.get("levels", 7))
    washed = torch.round(soft * (levels - 1.0)) / (levels - 1.0)
    washed = blur121(washed, 1)
    pigment = 0.55 * washed + 0.45 * soft
    rim = (edge_strength(soft) * 1.2).clamp(0.0, 1.0) * 0.35
    paper = 0.92 + 0.08 * position_hash(h, w, x.device, salt=11)
    bright = 1.0 - (1.0 - pigment) * 0.8  # pigment on white paper is lighter
    return ((bright - rim) * paper).clamp(0.0, 1.0)


def sepia(x: Tensor, p: dict[str, Any]) -> Tensor:
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    out = torch.cat(
        [
            0.393 * r + 0.769 * g + 0.189 * b,
            0.349 * r + 0.686 * g + 0.168 * b,
            0.272 * r + 0.534 * g + 0.131 * b,
        ],
        dim=1,
    )
    return out.clamp(0.0, 1.0) * vignette(x.shape[-2], x.shape[-1], x.device, 0.6)


@dataclass(frozen=True)
class Effect:
    fn: Callable[[Tensor, dict[str, Any]], Tensor]
    words: tuple[str, ...]
    params: dict[str, tuple[float, float]]  # name -> (min, max)
    about: str


EFFECTS: dict[str, Effect] = {
    "identity": Effect(
        identity,
        ("identity", "passthrough", "original", "unchanged"),
        {},
        "the input, unchanged (latency floor)",
    ),
    "toon": Effect(
        toon,
        ("toon", "cartoon", "anime", "cel", "comic", "manga"),
        {"levels": (2, 16), "edge": (0.01, 4.0)},
        "flat colours with ink outlines",
    ),
    "sketch": Effect(
        sketch,
        ("sketch", "pencil", "drawing", "drawn", "charcoal", "graphite"),
        {"darkness": (0.1, 10.0)},
        "pencil lines on paper",
    ),
    "pixel_art": Effect(
        pixel_art,
        ("pixel", "pixelated", "8-bit", "8bit", "16-bit", "retro", "voxel"),
        {"block": (1, 64), "levels": (2, 16)},
        "big pixels, few colours",
    ),
    "thermal": Effect(
        thermal,
        ("thermal", "heat", "infrared", "ir", "predator", "heatmap"),
        {},
        "a thermal camera's false colours",
    ),
    "night_vision": Effect(
        night_vision,
        ("night", "nightvision", "nvg", "goggles", "military"),
        {"gain": (0.1, 10.0)},
        "green image-intensifier look",
    ),
    "neon_edges": Effect(
        neon_edges,
        ("neon", "cyberpunk", "tron", "synthwave", "glow", "vaporwave"),
        {"gain": (0.1, 20.0)},
        "glowing coloured outlines on black",
    ),
    "watercolour": Effect(
        watercolour,
        ("watercolour", "watercolor", "painting", "painted", "paint", "aquarelle", "impressionist"),
        {"levels": (2, 16)},
        "soft washes on paper",
    ),
    "sepia": Effect(sepia, ("sepia", "vintage", "old", "antique", "western", "1920s"), {}, "old photograph"),
    "planes": Effect(
        lambda x, p: planes_view(x, None, None),
        ("planes", "debug", "vectors"),
        {},
        "what the engine sent: motion in red and green (128: still), depth in blue",
    ),
}
# styles that show a look (contact sheets, benchmarks); `planes` is a developer's view
LOOKS = [s for s in EFFECTS if s not in ("identity", "planes")]

DEFAULT_STYLE = "toon"
# other spellings users type for a style (the runtime resolves them; no client keeps a copy)
ALIASES: dict[str, str] = {
    "watercolor": "watercolour",
    "pixelart": "pixel_art",
    "nightvision": "night_vision",
    "neon": "neon_edges",
}
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*")


def effect_name(name: str) -> str | None:
    """The canonical style for ``name`` (``"Neon"`` → ``"neon_edges"``, ``"pixel-art"`` →
    ``"pixel_art"``), or None when it names no style."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    return key if key in EFFECTS else None


def style_from_prompt(prompt: str) -> tuple[str, str]:
    """The style whose keyword appears first in the prompt, and that keyword."""
    for word in _WORD.findall(prompt.lower()):
        for name, effect in EFFECTS.items():
            if word in effect.words:
                return name, word
    return "", ""


# parameters every style takes: they use the engine's depth and motion when a client sends them
ENGINE_PARAMS: dict[str, tuple[float, float]] = {
    "fog_distance": (0.01, 1e6),  # distance fog: the depth (scene units) at which 63 % is fog
    "stabilize": (0.0, 0.95),  # blend with the previous output moved by the engine's motion vectors
}


def check_params(style: str, params: dict[str, Any]) -> dict[str, float]:
    allowed = {**EFFECTS[style].params, **ENGINE_PARAMS}
    out: dict[str, float] = {}
    for key, value in params.items():
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            raise StyleError(
                "bad_field", f"style '{style}' has no parameter '{str(key)[:32]}' (parameters: {names})"
            )
        if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
            raise StyleError("bad_field", f"parameter '{key}' of '{style}' must be a number")
        low, high = allowed[key]
        if not low <= value <= high:
            raise StyleError(
                "bad_field", f"parameter '{key}' of '{style}' is {value}; allowed {low:g}..{high:g}"
            )
        out[key] = float(value)
    return out


# --- with the engine's depth and motion (the torch counterparts of effects_cpu's) ------------

CREASE = 0.05  # |laplacian(1/z)| * z above this: an outline (zero on any plane)
FOG_RGB = (200 / 255, 205 / 255, 212 / 255)


def depth_ink(depth: Tensor) -> Tensor:
    """``[N, 1, H, W]`` 1.0 where the geometry has an outline (see ``effects_cpu.depth_ink``)."""
    z = depth.clamp_min(1e-6)
    inv = F.pad(1.0 / z, (1, 1, 1, 1), mode="replicate")
    lap = (
        inv[..., 1:-1, :-2]
        + inv[..., 1:-1, 2:]
        + inv[..., :-2, 1:-1]
        + inv[..., 2:, 1:-1]
        - 4.0 * inv[..., 1:-1, 1:-1]
    )
    ink = ((lap.abs() * z) > CREASE).to(depth.dtype)
    width = max(1, round(depth.shape[-1] / 640))
    if width > 1:  # as cv2.dilate with a width x width square anchored at its centre
        ink = F.max_pool2d(F.pad(ink, ((width - 1) // 2, width // 2, (width - 1) // 2, width // 2)), width, 1)
    return ink


def toon_depth(x: Tensor, p: dict[str, Any], depth: Tensor) -> Tensor:
    levels = float(p.get("levels", 5))
    flat = soft_levels(saturate(blur121(x, 2), 1.35), levels)
    return flat * (1.0 - depth_ink(depth) * 0.85)


def sketch_depth(x: Tensor, p: dict[str, Any], depth: Tensor) -> Tensor:
    gray = blur121(luminance(x), 1)
    gx, gy = sobel(gray)
    lines = torch.maximum((gx.abs() + gy.abs()) * float(p.get("darkness", 2.5)) * 0.5, depth_ink(depth))
    pencil = (1.0 - lines).clamp(0.0, 1.0) ** 1.5
    tone = 0.85 + 0.15 * gray
    grain = position_hash(x.shape[-2], x.shape[-1], x.device, salt=7) * 0.06
    v = (pencil * tone - grain).clamp(0.0, 1.0)
    return v * torch.tensor([0.98, 0.96, 0.90], device=x.device).view(1, 3, 1, 1)


DEPTH_STYLES: dict[str, Callable[[Tensor, dict[str, Any], Tensor], Tensor]] = {
    "toon": toon_depth,
    "sketch": sketch_depth,
}


def fog(x: Tensor, depth: Tensor, distance: float) -> Tensor:
    keep = torch.exp(-depth.clamp_min(0.0) / distance)
    haze = torch.tensor(FOG_RGB, device=x.device).view(1, 3, 1, 1)
    return x * keep + haze * (1.0 - keep)


def planes_view(x: Tensor, motion: Tensor | None, depth: Tensor | None) -> Tensor:
    """As ``effects_cpu.planes_view``: motion around 128 in red and green, depth in blue (/255)."""
    n, _, h, w = x.shape
    still = torch.full((n, 2, h, w), 128.0, device=x.device)
    rg = still if motion is None else (motion.float() + 128.0).round().clamp(0, 255)
    b = torch.zeros((n, 1, h, w), device=x.device) if depth is None else depth.float().round().clamp(0, 255)
    return torch.cat([rg, b], dim=1) / 255.0


def warp_previous(prev: Tensor, prev_depth: Tensor, motion: Tensor, depth: Tensor) -> tuple[Tensor, Tensor]:
    """As ``effects_cpu.warp_previous``: the previous output where its surfaces are now, and
    1.0 where that is trustworthy (the previous depth there within 10 %, on screen)."""
    _, _, h, w = depth.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=depth.device, dtype=torch.float32),
        torch.arange(w, device=depth.device, dtype=torch.float32),
        indexing="ij",
    )
    sx, sy = xs - motion[:, 0], ys - motion[:, 1]
    grid = torch.stack(((sx + 0.5) / w * 2 - 1, (sy + 0.5) / h * 2 - 1), dim=-1)
    warped = F.grid_sample(prev, grid, mode="bilinear", padding_mode="border", align_corners=False)
    was = F.grid_sample(prev_depth, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    inside = ((sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)).unsqueeze(1)
    valid = inside & ((was - depth).abs() <= 0.1 * depth.clamp_min(1e-6))
    return warped, valid.to(prev.dtype)


def apply_effect(
    frames: Tensor,
    style: str,
    params: dict[str, Any] | None = None,
    strength: float = 1.0,
    depth: Tensor | None = None,
) -> Tensor:
    """Apply a named effect to ``[N, 3, H, W]`` sRGB frames; ``strength`` blends with the input.
    With the engine's ``depth`` (``[N, 1, H, W]`` linear), outlines follow the geometry (``toon``,
    ``sketch``) and ``fog_distance`` adds distance fog."""
    p = params or {}
    out = (
        DEPTH_STYLES[style](frames, p, depth)
        if depth is not None and style in DEPTH_STYLES
        else EFFECTS[style].fn(frames, p)
    )
    if depth is not None and p.get("fog_distance"):
        out = fog(out, depth, float(p["fog_distance"]))
    if strength < 1.0:
        out = frames + (out - frames) * strength
    return out.clamp(0.0, 1.0)


class EffectsBackend(Backend):
    name = "effects"

    def __init__(self, device: torch.device | str = "cpu"):
        super().__init__(device)
        self.style = "identity"
        self.params: dict[str, float] = {}
        self.strength = 1.0
        # stabilize: the previous output and its depth (torch path, and the 8-bit CPU path)
        self._history: tuple[Tensor, Tensor] | None = None
        self._history_u8: tuple[np.ndarray, np.ndarray] | None = None

    def set_style(self, request: StyleRequest) -> StyleResult:
        matched = ""
        if request.style:
            style = effect_name(request.style) or ""
            if not style:
                raise StyleError(
                    "unknown_style",
                    f"effects has no style '{request.style[:64]}'; styles: {', '.join(EFFECTS)}",
                )
        elif request.prompt:
            style, matched = style_from_prompt(request.prompt)
            style = style or DEFAULT_STYLE
        else:
            style = DEFAULT_STYLE
        params = check_params(style, request.params or {})
        self.style, self.params = style, params
        self.strength = 1.0 if request.strength is None else float(request.strength)
        return StyleResult(style=style, matched=matched)

    def process(
        self,
        frames: Tensor,
        *,
        motion: Tensor | None = None,
        depth: Tensor | None = None,
        reset: bool = False,
    ) -> Tensor:
        if self.style == "planes":
            return planes_view(frames, motion, depth)
        out = apply_effect(frames, self.style, self.params, self.strength, depth)
        amount = self.params.get("stabilize", 0.0)
        history, self._history = self._history, None
        if reset or not amount or depth is None:
            return out
        if motion is not None and history is not None and history[0].shape == out.shape:
            warped, valid = warp_previous(history[0], history[1], motion, depth)
            out = out + (warped - out) * (valid * amount)
        self._history = (out, depth)
        return out

    def process_image(
        self,
        image: np.ndarray,
        *,
        motion: np.ndarray | None = None,
        depth: np.ndarray | None = None,
        reset: bool = False,
    ) -> np.ndarray | None:
        # the CPU path: OpenCV on the 8-bit frame (effects_cpu); CUDA / MPS keep the torch one
        if self.device.type != "cpu" or not effects_cpu.AVAILABLE:
            return None
        if self.style == "planes":
            return effects_cpu.planes_view(image, motion, depth)
        out = effects_cpu.apply_effect_u8(image, self.style, self.params, self.strength, depth)
        amount = self.params.get("stabilize", 0.0)
        history = self._history_u8
        self._history_u8 = None
        if not reset and amount and depth is not None:
            if motion is not None and history is not None and history[0].shape == out.shape:
                warped, valid = effects_cpu.warp_previous(history[0], history[1], motion, depth)
                blended = effects_cpu.cv2.addWeighted(warped, amount, out, 1.0 - amount, 0.0)
                out = effects_cpu.cv2.copyTo(blended, valid, out)
            self._history_u8 = (out, depth.copy())
        return out

    @property
    def is_identity(self) -> bool:
        return self.style == "identity" or (self.strength == 0.0 and self.style != "planes")

    @property
    def style_name(self) -> str:
        return self.style
