"""``lsd-runtime run``: the command-line face of ``StreamEngine``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .errors import StreamEngineError
from .frames import parse_size
from .info import FrameInfo


def run_command(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except StreamEngineError as exc:
        print(f"lsd-runtime run: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .engine import StreamEngine

    if args.output is None and not args.preview:
        raise StreamEngineError("nothing to do: give --output FILE (e.g. out.avi) and/or --preview")
    if args.frames is not None and args.frames < 1:
        raise StreamEngineError(f"--frames must be at least 1, got {args.frames}")
    size = parse_size(args.size) if args.size else None
    engine = StreamEngine(
        model=args.style or args.model,
        prompt=args.prompt,
        strength=args.strength,
        seed=args.seed,
        device=args.device,
        size=size,
        endpoint=args.endpoint,
        state_dir=args.state_dir,
        fallback="effects" if args.fallback_effects else None,
        max_steps=args.steps,
    )
    bar: Any = None
    done = [0]
    delivered_at: list[float] = []

    def on_frame(frame: Any, info: FrameInfo) -> None:
        delivered_at.append(time.perf_counter())
        step = 1 + len(info.dropped)
        done[0] += step
        if bar is not None:
            bar.update(step)

    started = time.perf_counter()
    with engine:
        engine.start(
            args.input,
            on_frame,
            output=args.output,
            preview=args.preview,
            max_frames=args.frames,
            drop_stale=False if args.every_frame else None,
            fps=args.fps,
        )
        info = engine.source_info
        assert info is not None
        if not info.live and not args.no_progress:
            total = min(filter(None, (info.frame_count, args.frames)), default=None)
            bar = tqdm(
                total=total,
                unit="frame",
                desc="restyling",
                file=sys.stderr,
                initial=done[0],
                dynamic_ncols=True,
            )
        try:
            engine.wait()
        finally:
            if bar is not None:
                bar.update(max(0, engine.delivered + len(engine.dropped_frames) - bar.n))  # trailing drops
                bar.close()
    stats = engine.stats()
    seconds = time.perf_counter() - started
    print(summary(stats, seconds, delivered_at, args.output))
    return 0


def summary(stats: dict[str, Any], seconds: float, delivered_at: list[float], output: Any) -> str:
    """What a run did: frames restyled of those read, the restyled frame rate (first to last
    delivered frame), and the latencies from capture to restyled frame and to display."""
    where = f" to {output}" if output else ""
    span = delivered_at[-1] - delivered_at[0] if len(delivered_at) > 1 else 0.0
    rate = f", {(len(delivered_at) - 1) / span:.1f} FPS restyled" if span > 0 else ""
    lat, shown = stats["latency_ms"], stats["display_latency_ms"]
    return (
        f"restyled {stats['delivered']} of {stats['frames_read']} frames{where} ({stats['dropped']} "
        f"dropped) in {seconds:.1f} s{rate}, style {stats['style']}; latency p50/p99: capture to "
        f"restyled {lat['p50']:.1f}/{lat['p99']:.1f} ms, capture to display {shown['p50']:.1f}/"
        f"{shown['p99']:.1f} ms"
    )
