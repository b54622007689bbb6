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

import torch
import torch.nn.functional as F

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


def edge_strength(x: Tensor) -> Tensor:
    gx, gy = sobel(luminance(x))
    return torch.sqrt(gx * gx + gy * gy + 1e-12)


def position_hash(height: int, width: int, device: torch.device, salt: int = 0) -> Tensor:
    """A fixed pseudo-random value in [0, 1) per pixel, ``[1, 1, H, W]``."""
    y = torch.arange(height, device=device, dtype=torch.int64).view(-1, 1)
    x = torch.arange(width, device=device, dtype=torch.int64).view(1, -1)
    h = (x * 73856093) ^ (y * 19349663) ^ (salt * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    h = (h ^ (h >> 16)) & 0xFFFF
    return (h.to(torch.float32) / 65536.0).view(1, 1, height, width)


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
    flat = torch.round(saturate(smooth, 1.35) * (levels - 1.0)) / (levels - 1.0)
    edges = edge_strength(smooth)
    ink = (edges > float(p.get("edge", 0.35))).to(x.dtype)
    return flat * (1.0 - ink * 0.85)


def sketch(x: Tensor, p: dict[str, Any]) -> Tensor:
    gray = blur121(luminance(x), 1)
    gx, gy = sobel(gray)
    lines = torch.sqrt(gx * gx + gy * gy + 1e-12) * float(p.get("darkness", 2.5))
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
    small = F.adaptive_avg_pool2d(x, (gh, gw))
    levels = float(p.get("levels", 6))
    small = torch.round(saturate(small, 1.2) * (levels - 1.0)) / (levels - 1.0)
    return F.interpolate(small, size=(h, w), mode="nearest")


THERMAL_RAMP = [(0.0, 0.0, 0.05), (0.15, 0.0, 0.45), (0.55, 0.0, 0.6), (0.9, 0.2, 0.25),
                (1.0, 0.55, 0.0), (1.0, 0.85, 0.1), (1.0, 1.0, 0.85)]


def thermal(x: Tensor, p: dict[str, Any]) -> Tensor:
    heat = blur121(luminance(x), 2)
    # warm, saturated colours read hotter than their luminance alone
    red_bias = (x[:, 0:1] - x[:, 2:3]).clamp(min=0.0) * 0.25
    return lut((heat + red_bias).clamp(0.0, 1.0), THERMAL_RAMP)


def night_vision(x: Tensor, p: dict[str, Any]) -> Tensor:
    h, w = x.shape[-2:]
    gain = float(p.get("gain", 2.2))
    lum = (luminance(x) * gain).clamp(0.0, 1.0) ** 0.8
    grain = (position_hash(h, w, x.device, salt=3) - 0.5) * 0.12
    rows = torch.arange(h, device=x.device).view(1, 1, -1, 1)
    scan = torch.where(rows % 2 == 0, 1.0, 0.82)
    v = ((lum + grain) * scan * vignette(h, w, x.device, 0.9)).clamp(0.0, 1.0)
    tint = torch.tensor([0.25, 1.0, 0.35], device=x.device).view(1, 3, 1, 1)
    return (v * tint).clamp(0.0, 1.0)


def neon_edges(x: Tensor, p: dict[str, Any]) -> Tensor:
    edges = (edge_strength(blur121(x, 1)) * float(p.get("gain", 3.0))).clamp(0.0, 1.0)
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
    out = torch.cat([0.393 * r + 0.769 * g + 0.189 * b,
                     0.349 * r + 0.686 * g + 0.168 * b,
                     0.272 * r + 0.534 * g + 0.131 * b], dim=1)
    return (out * vignette(x.shape[-2], x.shape[-1], x.device, 0.6)).clamp(0.0, 1.0)


@dataclass(frozen=True)
class Effect:
    fn: Callable[[Tensor, dict[str, Any]], Tensor]
    words: tuple[str, ...]
    params: dict[str, tuple[float, float]]  # name -> (min, max)
    about: str


EFFECTS: dict[str, Effect] = {
    "identity": Effect(identity, ("identity", "passthrough", "original", "unchanged"), {},
                       "the input, unchanged (latency floor)"),
    "toon": Effect(toon, ("toon", "cartoon", "anime", "cel", "comic", "manga"),
                   {"levels": (2, 16), "edge": (0.01, 4.0)}, "flat colours with ink outlines"),
    "sketch": Effect(sketch, ("sketch", "pencil", "drawing", "drawn", "charcoal", "graphite"),
                     {"darkness": (0.1, 10.0)}, "pencil lines on paper"),
    "pixel_art": Effect(pixel_art, ("pixel", "pixelated", "8-bit", "8bit", "16-bit", "retro", "voxel"),
                        {"block": (1, 64), "levels": (2, 16)}, "big pixels, few colours"),
    "thermal": Effect(thermal, ("thermal", "heat", "infrared", "ir", "predator", "heatmap"), {},
                      "a thermal camera's false colours"),
    "night_vision": Effect(night_vision, ("night", "nightvision", "nvg", "goggles", "military"),
                           {"gain": (0.1, 10.0)}, "green image-intensifier look"),
    "neon_edges": Effect(neon_edges, ("neon", "cyberpunk", "tron", "synthwave", "glow", "vaporwave"),
                         {"gain": (0.1, 20.0)}, "glowing coloured outlines on black"),
    "watercolour": Effect(watercolour, ("watercolour", "watercolor", "painting", "painted", "paint",
                                        "aquarelle", "impressionist"),
                          {"levels": (2, 16)}, "soft washes on paper"),
    "sepia": Effect(sepia, ("sepia", "vintage", "old", "antique", "western", "1920s"), {},
                    "old photograph"),
}

DEFAULT_STYLE = "toon"
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]*")


def style_from_prompt(prompt: str) -> tuple[str, str]:
    """The style whose keyword appears first in the prompt, and that keyword."""
    for word in _WORD.findall(prompt.lower()):
        for name, effect in EFFECTS.items():
            if word in effect.words:
                return name, word
    return "", ""


def check_params(style: str, params: dict[str, Any]) -> dict[str, float]:
    allowed = EFFECTS[style].params
    out: dict[str, float] = {}
    for key, value in params.items():
        if key not in allowed:
            names = ", ".join(allowed) or "none"
            raise StyleError("bad_field", f"style '{style}' has no parameter '{str(key)[:32]}' "
                                          f"(parameters: {names})")
        if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
            raise StyleError("bad_field", f"parameter '{key}' of '{style}' must be a number")
        low, high = allowed[key]
        if not low <= value <= high:
            raise StyleError("bad_field", f"parameter '{key}' of '{style}' is {value}; "
                                          f"allowed {low:g}..{high:g}")
        out[key] = float(value)
    return out


def apply_effect(frames: Tensor, style: str, params: dict[str, Any] | None = None,
                 strength: float = 1.0) -> Tensor:
    """Apply a named effect to ``[N, 3, H, W]`` sRGB frames; ``strength`` blends with the input."""
    out = EFFECTS[style].fn(frames, params or {})
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

    def set_style(self, request: StyleRequest) -> StyleResult:
        matched = ""
        if request.style:
            style = request.style.lower().replace("-", "_").replace(" ", "_")
            style = {"watercolor": "watercolour", "pixelart": "pixel_art", "nightvision": "night_vision",
                     "neon": "neon_edges"}.get(style, style)
            if style not in EFFECTS:
                raise StyleError("unknown_style", f"effects has no style '{request.style[:64]}'; "
                                                  f"styles: {', '.join(EFFECTS)}")
        elif request.prompt:
            style, matched = style_from_prompt(request.prompt)
            style = style or DEFAULT_STYLE
        else:
            style = DEFAULT_STYLE
        params = check_params(style, request.params or {})
        self.style, self.params = style, params
        self.strength = 1.0 if request.strength is None else float(request.strength)
        return StyleResult(style=style, matched=matched)

    def process(self, frames: Tensor, *, motion: Tensor | None = None, depth: Tensor | None = None,
                reset: bool = False) -> Tensor:
        return apply_effect(frames, self.style, self.params, self.strength)

    @property
    def is_identity(self) -> bool:
        return self.style == "identity" or self.strength == 0.0

    @property
    def style_name(self) -> str:
        return self.style
