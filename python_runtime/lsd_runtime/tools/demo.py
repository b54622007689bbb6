"""``lsd-runtime demo``: an engine-like client streams a moving 3D scene through a real runtime.

The client behaves like an engine plugin: each tick it renders a frame, hands it to the
runtime without waiting, and shows the newest restyled frame it has (the last one stays
on screen until a newer one arrives). Like an engine, it also sends each frame's exact depth
and motion vectors, stored the way Unity's built-in pipeline stores them (rows bottom-up,
motion in UV units with +y up, reversed-Z device depth with an infinite far plane), so the
depth-aware styles draw outlines from the geometry. Styles switch mid-run. It writes an
animated GIF, a before/after contact sheet and a latency summary.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from ..client.runtime_client import FrameResult, RuntimeClient
from ..pipeline.latency import percentiles
from ..pipeline.planes import DepthPlane, MotionPlane
from .runtime_process import RuntimeProcess
from .scene import SceneFrame, as_format, render_frame, to_rgba8

NEAR = 0.1  # the demo camera's near plane (scene units)
ENGINE_MOTION = MotionPlane("rg16f", units="uv", y_up=True)
ENGINE_DEPTH = DepthPlane("r32f", kind="device", reversed_z=True, near=NEAR, far=0.0)


def engine_planes(frame: SceneFrame) -> tuple[np.ndarray, np.ndarray]:
    """The scene's exact motion and depth as an engine stores them (ENGINE_MOTION, ENGINE_DEPTH)."""
    h, w = frame.depth.shape
    uv = frame.motion / np.array([w, -h], np.float32)  # pixels, +y down -> UV, +y up
    device = NEAR / np.maximum(frame.depth, NEAR)  # reversed-Z, infinite far plane
    return uv.astype(np.float16), device.astype(np.float32)


@dataclass
class DemoLog:
    engine: list[np.ndarray] = field(default_factory=list)  # what the engine rendered, per tick
    shown: list[np.ndarray | None] = field(default_factory=list)  # what it displayed, per tick
    sent: dict[int, tuple[int, str]] = field(default_factory=dict)  # frame id -> (tick, style)
    restyled: list[tuple[int, str, np.ndarray]] = field(default_factory=list)  # (tick, style, output)
    timings: list[dict[str, float]] = field(default_factory=list)
    round_trips: list[float] = field(default_factory=list)
    dropped: int = 0
    submitted: int = 0
    skipped: int = 0  # ticks whose frame found every input slot with the runtime (latest wins)


def run_demo(args: argparse.Namespace) -> int:
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"lsd-runtime demo: {args.frames} frames of {args.width}x{args.height} {args.format}, "
        f"styles {', '.join(styles)}"
    )
    t_start = time.perf_counter()
    with (
        RuntimeProcess() as runtime,
        RuntimeClient(runtime.endpoint, runtime.token, name="demo-engine/0.1") as client,
    ):
        print(f"runtime pid {runtime.pid} at {runtime.endpoint}; transport {client.transport}")
        planes = not args.no_planes and client.transport == "shm"
        client.bind(
            args.width,
            args.height,
            args.format,
            bottom_up=True,
            motion=ENGINE_MOTION if planes else None,
            depth=ENGINE_DEPTH if planes else None,
        )
        args.no_planes = not planes
        log = stream(client, args, styles)
        stats = client.stats()
    wall = time.perf_counter() - t_start
    write_outputs(out_dir, log, args, stats, wall)
    return 0


def stream(client: RuntimeClient, args: argparse.Namespace, styles: list[str]) -> DemoLog:
    log = DemoLog()
    per_style = max(1, args.frames // len(styles))
    display: np.ndarray | None = None
    style = ""
    for tick in tqdm(range(args.frames), desc="streaming", unit="frame"):
        wanted = styles[min(tick // per_style, len(styles) - 1)]
        if wanted != style:
            style = client.set_style(style=wanted)["style"]
        scene = render_frame(tick, args.width, args.height, with_planes=not args.no_planes)
        frame = scene.rgba
        if args.no_planes:
            fid = client.submit(as_format(frame, args.format))
        else:
            motion, depth = engine_planes(scene)
            fid = client.submit(as_format(frame, args.format), motion=motion, depth=depth)
        if fid is not None:
            log.submitted += 1
            log.sent[fid] = (tick, style)
        else:
            log.skipped += 1
        results: list[FrameResult] = client.poll_results()
        if tick == args.frames - 1:  # let the frames still in flight land before the end
            answered = len(log.timings) + log.dropped + len(results)
            results += [client.receive(10) for _ in range(log.submitted - answered)]
        for result in results:
            if result.image is None:
                log.dropped += 1
                continue
            display = to_rgba8(result.image, args.format)
            log.restyled.append((*log.sent[result.frame_id], display))
            log.timings.append(result.timings)
            log.round_trips.append(result.round_trip_ms)
        log.engine.append(frame)
        log.shown.append(display)
    return log


def write_outputs(out_dir: Path, log: DemoLog, args: argparse.Namespace, stats: dict, wall: float) -> None:
    blank = np.zeros_like(log.engine[0])
    pairs = [
        np.concatenate([e, s if s is not None else blank], axis=1)
        for e, s in zip(log.engine, log.shown, strict=True)
    ]
    gif = [Image.fromarray(p[..., :3]) for p in pairs[:: max(1, len(pairs) // 120)]]
    gif[0].save(out_dir / "result.gif", save_all=True, append_images=gif[1:], duration=66, loop=0)
    contact_sheet(log).save(out_dir / "contact_sheet.png")
    summary = latency_summary(log, stats, wall, args)
    (out_dir / "latency.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        f"# LSD Bridge demo: {args.frames} frames, {args.width}x{args.height} {args.format}",
        "",
        "| stage | p50 ms | p99 ms |",
        "|---|---|---|",
    ]
    for stage, (p50, p99) in summary["stages_ms"].items():
        lines.append(f"| {stage} | {p50:.3f} | {p99:.3f} |")
    lines += [
        "",
        f"frames submitted {log.submitted}, restyled {len(log.timings)}, "
        f"dropped (superseded by newer) {log.dropped}, skipped by the game loop (no free slot) "
        f"{log.skipped}; wall time {wall:.1f} s",
    ]
    (out_dir / "latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {out_dir}/result.gif, contact_sheet.png, latency.json, latency.md")


def latency_summary(log: DemoLog, stats: dict, wall: float, args: argparse.Namespace) -> dict:
    stages = {}
    for key in ("queue_ms", "input_ms", "backend_ms", "output_ms", "total_ms"):
        stages[key.removesuffix("_ms") + " (runtime)"] = percentiles([t[key] for t in log.timings])
    stages["round trip (client)"] = percentiles(log.round_trips)
    return {
        "frames": args.frames,
        "size": [args.width, args.height],
        "format": args.format,
        "engine_planes": not args.no_planes,  # depth and motion vectors sent with each frame
        "submitted": log.submitted,
        "skipped": log.skipped,
        "restyled": len(log.timings),
        "dropped": log.dropped,
        "wall_s": round(wall, 2),
        "stages_ms": stages,
        "runtime_stats": stats,
    }


def contact_sheet(log: DemoLog, columns: int = 4) -> Image.Image:
    """Each engine frame above its own restyled result: ``columns`` moments per style."""
    h, w = log.engine[0].shape[:2]
    picks: list[tuple[int, str, np.ndarray]] = []
    for style in dict.fromkeys(s for _, s, _ in log.restyled):
        mine = [r for r in log.restyled if r[1] == style]
        picks += [mine[int(k * (len(mine) - 1) / max(1, columns - 1))] for k in range(columns)]
    label_h = 18
    rows = (len(picks) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * w, rows * (2 * h + label_h)), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for n, (tick, style, output) in enumerate(picks):
        x, y = (n % columns) * w, (n // columns) * (2 * h + label_h)
        draw.text((x + 4, y + 3), f"frame {tick}: engine / {style}", fill=(230, 230, 230))
        sheet.paste(Image.fromarray(log.engine[tick][..., :3]), (x, y + label_h))
        sheet.paste(Image.fromarray(output[..., :3]), (x, y + label_h + h))
    return sheet
