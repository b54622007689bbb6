"""``lsd-runtime bench --backend effects --styles ...``: each effect's cost on one CPU core.

Per style and size, in one run on the same frames: the torch float32 effect (the path CUDA
and MPS take, and the only CPU path before the 8-bit one), the OpenCV 8-bit effect the
runtime uses on a CPU, and that effect slot to slot (the runtime's whole frame pipeline: a
bottom-up BGRA8 input slot in, the effect, the output slot written). Both libraries are held to
one thread, as the runtime holds each session's worker. The demo scene is the input.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .. import __version__
from ..backends import effects, effects_cpu
from ..backends.base import StyleRequest
from ..pipeline.frame_pipeline import FramePipeline
from ..pipeline.latency import percentiles
from ..pipeline.pixel_formats import RingSpec
from .scene import as_format, render


@dataclass
class EffectRow:
    style: str
    width: int
    height: int
    torch_p50_ms: float
    torch_p99_ms: float
    cpu8_p50_ms: float
    cpu8_p99_ms: float
    slot_p50_ms: float  # the 8-bit effect inside the frame pipeline, slot to slot
    slot_p99_ms: float

    @property
    def speedup(self) -> float:
        return self.torch_p50_ms / max(self.cpu8_p50_ms, 1e-9)


def parse_styles(text: str) -> list[str]:
    if text.strip() == "all":
        return list(effects.LOOKS)
    names = []
    for part in text.split(","):
        name = effects.effect_name(part)
        if name is None:
            raise ValueError(f"no effects style '{part.strip()}'; styles: {', '.join(effects.EFFECTS)}")
        names.append(name)
    return names


def _timed(fn: object, frames: int, warmup: int) -> list[float]:
    assert callable(fn)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(frames):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def measure_style(
    style: str, width: int, height: int, frames: int, warmup: int, torch_frames: int
) -> EffectRow:
    rgba = render(7, width, height)
    rgb = np.ascontiguousarray(rgba[..., :3])
    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    torch_ms = _timed(lambda: effects.apply_effect(x, style), torch_frames, 1)
    cpu_ms = _timed(lambda: effects_cpu.apply_effect_u8(rgb, style), frames, warmup)

    spec = RingSpec(width, height, "bgra8", bottom_up=True)
    src = bytearray(as_format(rgba, "bgra8")[::-1].tobytes())
    dst = bytearray(spec.size)
    backend = effects.EffectsBackend("cpu")
    backend.set_style(StyleRequest(style=style))
    pipeline = FramePipeline(spec, spec, width, height)
    slot_ms = _timed(lambda: pipeline.run(backend, src, dst), frames, warmup)
    tp = percentiles(torch_ms)
    cp = percentiles(cpu_ms)
    sp = percentiles(slot_ms)
    return EffectRow(style, width, height, tp[0], tp[1], cp[0], cp[1], sp[0], sp[1])


def run_effects_bench(args: argparse.Namespace) -> int:
    from .bench import parse_sizes

    if not effects_cpu.AVAILABLE:
        raise RuntimeError("the 8-bit effects need OpenCV: pip install opencv-python-headless")
    styles = parse_styles(args.styles)
    sizes = parse_sizes(args.sizes)
    torch.set_num_threads(1)
    effects_cpu.cv2.setNumThreads(1)
    torch_frames = max(3, min(args.frames, args.torch_frames))
    print(
        f"lsd-runtime bench: effects {', '.join(styles)} at {args.sizes}; one thread; "
        f"{args.frames} timed frames per OpenCV cell, {torch_frames} per torch cell"
    )
    rows: list[EffectRow] = []
    cells = [(s, w, h) for w, h in sizes for s in styles]
    for style, w, h in tqdm(cells, desc="effects", unit="cell", disable=None):
        rows.append(measure_style(style, w, h, args.frames, args.warmup, torch_frames))
    table = effects_table(rows)
    print("\n" + table)
    meta = {
        "version": __version__,
        "machine": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
        "opencv": effects_cpu.cv2.__version__,
        "frames": args.frames,
        "torch_frames": torch_frames,
    }
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    if args.markdown:
        append_markdown(args.markdown, table, meta, args.command_line)
    return 0


def effects_table(rows: list[EffectRow]) -> str:
    lines = [
        "| style | size | torch float32 p50 / p99 ms | OpenCV 8-bit p50 / p99 ms | × "
        "| slot to slot p50 / p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.style} | {r.width}×{r.height} | {r.torch_p50_ms:.1f} / {r.torch_p99_ms:.1f} "
            f"| {r.cpu8_p50_ms:.2f} / {r.cpu8_p99_ms:.2f} | {r.speedup:.0f} "
            f"| {r.slot_p50_ms:.2f} / {r.slot_p99_ms:.2f} |"
        )
    return "\n".join(lines)


MARKER = "<!-- effects-bench -->"


def append_markdown(path: Path, table: str, meta: dict[str, object], command: str) -> None:
    """Add the table to ``path`` (BENCHMARKS.md) with its command, machine and date: where the
    file has the ``<!-- effects-bench -->`` marker, just above it (runs in order), else at the end."""
    block = (
        f"\n{meta['date']}, `{command}` — {meta['machine']}, {meta['cpu']}, torch {meta['torch']}, "
        f"OpenCV {meta['opencv']}, one thread each; {meta['frames']} frames per OpenCV cell, "
        f"{meta['torch_frames']} per torch cell:\n\n{table}\n"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if MARKER in text:
        text = text.replace("\n" + MARKER, "\n" + block + "\n" + MARKER, 1)
    else:
        text += block
    path.write_text(text, encoding="utf-8")
