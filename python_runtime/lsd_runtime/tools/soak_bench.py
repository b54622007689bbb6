"""``lsd-runtime bench --soak``: a long stream through a real runtime, watched over time.

One client streams ``--frames`` frames (one at a time, as a game waiting on each result would)
through a runtime process, and every ``--sample-every`` frames the runtime's resident memory,
open descriptors, threads and slot memory are read, beside the round trip's p50/p99 over the
frames since the last sample. It prints the growth from the first to the last tenth of the run
against the goals (memory growth at most 1 MiB, p50 drift at most 5 %), writes every sample as
JSON, and draws them (PNG) when matplotlib is installed.

    lsd-runtime bench --soak --frames 1000000 --sizes 64x64 --model toon --plot soak.png
    lsd-runtime bench --soak --frames 100000 --sizes 64x64 --model tiny-diffusion --plot soak-d.png
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import psutil
from tqdm import tqdm

from .. import __version__
from ..client.runtime_client import RuntimeClient
from ..pipeline.latency import percentiles
from ..transport.shm import list_segments, slot_memfds
from .runtime_process import RuntimeProcess
from .scene import render

GOAL_GROWTH_MB = 1.0
GOAL_DRIFT = 0.05


@dataclass
class Sample:
    frames: int
    seconds: float
    rss_mb: float
    fds: int
    threads: int
    slots: int
    p50_ms: float
    p99_ms: float


def summarise(samples: list[Sample]) -> dict[str, float]:
    """Growth from the first tenth of the samples to the last: memory (MiB), descriptors,
    threads, slots, and the p50's relative drift."""
    k = max(1, len(samples) // 10)
    first, last = samples[:k], samples[-k:]

    def mean(xs: list[Sample], f: str) -> float:
        return statistics.fmean(getattr(s, f) for s in xs)

    return {
        "rss_growth_mb": round(mean(last, "rss_mb") - mean(first, "rss_mb"), 3),
        "fd_growth": round(mean(last, "fds") - mean(first, "fds"), 2),
        "thread_growth": round(mean(last, "threads") - mean(first, "threads"), 2),
        "slot_growth": round(mean(last, "slots") - mean(first, "slots"), 2),
        "p50_first_ms": round(mean(first, "p50_ms"), 4),
        "p50_last_ms": round(mean(last, "p50_ms"), 4),
        "p50_drift": round(mean(last, "p50_ms") / max(mean(first, "p50_ms"), 1e-9) - 1.0, 4),
    }


def _runtime_sample(proc: psutil.Process, frames: int, seconds: float, rtts: list[float]) -> Sample:
    p50, p99 = percentiles(rtts)
    slots = len(slot_memfds(proc.pid)) + len(list_segments(f"lsd-{proc.pid}-"))
    return Sample(
        frames,
        round(seconds, 3),
        round(proc.memory_info().rss / 2**20, 3),
        proc.num_fds(),
        proc.num_threads(),
        slots,
        p50,
        p99,
    )


def run_soak(args: argparse.Namespace) -> int:
    from .bench import parse_sizes

    (width, height), *_ = parse_sizes(args.sizes)
    frames, every = args.frames, max(1, args.sample_every)
    serve_args: list[str] = []
    tmp = tempfile.TemporaryDirectory(prefix="lsd-soak-")
    style: dict[str, object]
    model_size: tuple[int, int] | None = None
    if args.model == "tiny-diffusion":
        from ..backends.diffusion.tiny_model import build_tiny_model

        folder = build_tiny_model(Path(tmp.name) / "tiny-sd")
        style = {"model": f"diffusion:{folder}", "prompt": "a cat", "strength": 0.5, "seed": 1}
        model_size = (width, height)
    else:
        style = {"model": args.model or "toon"}
    print(
        f"lsd-runtime bench --soak: {frames} frames of {width}x{height} with {args.model or 'toon'} "
        f"after {args.warmup} warm-up frames, a sample every {every} frames"
    )
    images = [render(i, width, height) for i in range(16)]
    samples: list[Sample] = []
    started = time.perf_counter()
    with tmp, RuntimeProcess(args=serve_args) as runtime:
        proc = psutil.Process(runtime.pid)
        with RuntimeClient(runtime.endpoint, runtime.token, name="soak", timeout=600) as client:
            client.bind(width, height, "rgba8", model_size=model_size)
            client.set_style(**style, timeout=600)  # type: ignore[arg-type]
            for i in range(args.warmup):  # warm-up, not sampled: caches, allocator pools, CPU clocks
                client.process(images[i % 16])
            rtts: list[float] = []
            t0 = time.perf_counter()
            with tqdm(total=frames, desc="soak", unit="frame", disable=None, smoothing=0.05) as bar:
                for i in range(frames):
                    t = time.perf_counter()
                    out = client.process(images[i % 16])
                    rtts.append((time.perf_counter() - t) * 1e3)
                    if out is None:
                        raise RuntimeError(f"frame {i} came back without an image")
                    if (i + 1) % every == 0 or i + 1 == frames:
                        samples.append(_runtime_sample(proc, i + 1, time.perf_counter() - t0, rtts))
                        rtts = []
                        bar.update(every if (i + 1) % every == 0 else (i + 1) % every)
            stats = client.stats()
        alive = runtime.alive()
    wall = time.perf_counter() - started
    summary = summarise(samples)
    summary.update(
        frames=frames,
        seconds=round(samples[-1].seconds, 1),
        fps=round(frames / max(samples[-1].seconds, 1e-9), 1),
        wall_s=round(wall, 1),
        runtime_alive=alive,
        frames_done=int(stats.get("frames_done", 0)),
        growth_ok=summary["rss_growth_mb"] <= GOAL_GROWTH_MB,
        drift_ok=abs(summary["p50_drift"]) <= GOAL_DRIFT,
    )
    print(
        f"\n{frames} frames in {summary['seconds']:.0f} s ({summary['fps']:.0f} FPS); runtime RSS growth "
        f"{summary['rss_growth_mb']:+.2f} MiB (goal <= {GOAL_GROWTH_MB}), "
        f"descriptors {summary['fd_growth']:+.1f}, threads {summary['thread_growth']:+.1f}, "
        f"slots {summary['slot_growth']:+.1f}; round trip p50 {summary['p50_first_ms']:.3f} -> "
        f"{summary['p50_last_ms']:.3f} ms ({summary['p50_drift'] * 100:+.1f} %, "
        f"goal within {GOAL_DRIFT * 100:.0f} %)"
    )
    meta = {
        "version": __version__,
        "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "model": args.model or "toon",
        "size": [width, height],
    }
    if args.json:
        args.json.write_text(
            json.dumps({"meta": meta, "summary": summary, "samples": [asdict(s) for s in samples]}, indent=1)
            + "\n"
        )
    if args.plot:
        plot_soak(samples, summary, meta, args.plot)
    return 0 if alive and summary["frames_done"] >= frames else 1


def plot_soak(samples: list[Sample], summary: dict, meta: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: pip install matplotlib")
        return
    x = np.array([s.frames for s in samples]) / 1000.0
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    axes[0].plot(x, [s.rss_mb for s in samples], color="tab:blue")
    axes[0].set_ylabel("runtime RSS (MiB)")
    # equal counts would hide each other: each line has its own dash, and its last value in the legend
    counts = (("fds", "descriptors", "-"), ("threads", "threads", "--"), ("slots", "slots", ":"))
    for field, name, style in counts:
        ys = [getattr(s, field) for s in samples]
        axes[1].plot(x, ys, label=f"{name} ({ys[-1]})", linestyle=style, linewidth=2)
    axes[1].set_ylabel("count")
    axes[1].legend(loc="upper right")
    axes[2].plot(x, [s.p50_ms for s in samples], label="p50")
    axes[2].plot(x, [s.p99_ms for s in samples], label="p99", alpha=0.6)
    axes[2].set_ylabel("round trip (ms)")
    axes[2].legend(loc="upper right")
    fps = [0.0] + [
        (b.frames - a.frames) / max(b.seconds - a.seconds, 1e-9)
        for a, b in zip(samples, samples[1:], strict=False)
    ]
    axes[3].plot(x[1:], fps[1:], color="tab:green")
    axes[3].set_ylabel("frames/s")
    axes[3].set_xlabel("frames (thousands)")
    fig.suptitle(
        f"soak: {summary['frames']} frames {meta['size'][0]}x{meta['size'][1]} {meta['model']} — RSS "
        f"{summary['rss_growth_mb']:+.2f} MiB, p50 drift {summary['p50_drift'] * 100:+.1f} % ({meta['date']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    print(f"wrote {path}")
