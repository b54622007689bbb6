"""``lsd-runtime styles``: the effects styles listed, and a contact sheet of every one.

The sheet has a block per input picture (the demo's ray-traced scene, and any screenshots
given with ``--image``, such as a real game's frame): the original, then every style. Each
cell is what the runtime sends back for that frame: the same backend, the same 8-bit CPU
path. ``docs/effects_contact_sheet.jpg`` is made by::

    lsd-runtime styles --sheet docs/effects_contact_sheet.jpg --image docs/neverball_frame.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..backends.base import StyleRequest
from ..backends.effects import EFFECTS, LOOKS, EffectsBackend
from ..pipeline.frame_pipeline import FramePipeline
from ..pipeline.pixel_formats import RingSpec
from .scene import render

WORK_WIDTH = 640  # pictures are restyled at this width (a small game window), as the runtime would
CELL_WIDTH = 400  # then shown at this width (heights keep the aspect)
LABEL_HEIGHT = 18
BACKGROUND = (24, 24, 28)


def restyled(rgb: np.ndarray, style: str) -> np.ndarray:
    """``rgb`` ([H, W, 3] uint8) through the runtime's frame pipeline with ``style``."""
    h, w = rgb.shape[:2]
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = rgb, 255
    backend = EffectsBackend("cpu")
    backend.set_style(StyleRequest(style=style))
    spec = RingSpec(w, h, "rgba8")
    return FramePipeline(spec, spec, w, h).run_array(backend, rgba)[..., :3]


def scaled(rgb: np.ndarray, width: int) -> np.ndarray:
    picture = Image.fromarray(rgb)
    height = max(2, round(picture.height * width / picture.width))
    return np.asarray(picture.resize((width, height), Image.Resampling.LANCZOS))


def load_picture(path: Path) -> np.ndarray:
    """An image file as [H, W, 3] uint8 RGB at the width pictures are restyled at."""
    with Image.open(path) as im:
        return scaled(np.asarray(im.convert("RGB")), WORK_WIDTH)


def contact_sheet(pictures: list[tuple[str, np.ndarray]], styles: list[str], columns: int = 3) -> Image.Image:
    """A block of cells per picture, ``columns`` wide: the original, then each style."""
    cells = ["original", *styles]
    rows = -(-len(cells) // columns)
    heights = [round(p.shape[0] * CELL_WIDTH / p.shape[1]) + LABEL_HEIGHT for _, p in pictures]
    sheet = Image.new("RGB", (columns * CELL_WIDTH, rows * sum(heights)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    top = 0
    for (name, picture), h in zip(pictures, heights, strict=True):
        for i, style in enumerate(cells):
            x, y = (i % columns) * CELL_WIDTH, top + (i // columns) * h
            cell = picture if style == "original" else restyled(picture, style)
            draw.text((x + 6, y + 3), f"{name}: {style}", fill=(230, 230, 230))
            sheet.paste(Image.fromarray(scaled(cell, CELL_WIDTH)), (x, y + LABEL_HEIGHT))
        top += rows * h
    return sheet


def run_styles(args: argparse.Namespace) -> int:
    if args.sheet is None:
        width = max(len(s) for s in EFFECTS)
        for name, effect in EFFECTS.items():
            words = ", ".join(effect.words)
            params = ", ".join(f"{k} {lo:g}..{hi:g}" for k, (lo, hi) in effect.params.items())
            extra = f"; {params}" if params else ""
            print(f"{name:<{width}}  {effect.about}; prompt words: {words}{extra}")
        return 0
    pictures: list[tuple[str, np.ndarray]] = [
        ("demo-scene", render(args.frame, WORK_WIDTH, WORK_WIDTH * 9 // 16)[..., :3].copy())
    ]
    for path in args.image:
        if not path.is_file():
            raise FileNotFoundError(f"--image {path}: no such file")
        pictures.append((path.stem, load_picture(path)))
    styles = list(LOOKS)
    args.sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet = contact_sheet(pictures, styles)
    if args.sheet.suffix.lower() in (".jpg", ".jpeg"):
        sheet.save(args.sheet, quality=88, optimize=True)
    else:
        sheet.save(args.sheet, optimize=True)
    print(f"wrote {args.sheet}: {len(pictures)} picture(s) x {len(styles)} styles")
    return 0
