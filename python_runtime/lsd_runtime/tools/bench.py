"""``lsd-runtime bench``: frame round trips through a real runtime, shm beside inline
(``--transport cuda_ipc``: device slots beside both, the runtime on the GPU).

Round trip = the client writes the frame into its input slot (or message), the runtime
restyles it with the identity effect, and the client has copied the result out of the
output slot (or message): with the identity effect, the bridge's whole overhead. On
``cuda_ipc`` the frame is a CUDA tensor from start to end (as a game's render target) and the
round trip ends when the client's stream has copied the result out. "seq" runs one frame at
a time (latency); "stream" keeps two frames in flight as an engine would (throughput, latest
frame wins).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import __version__
from ..client.runtime_client import RuntimeClient
from ..pipeline.latency import percentiles
from .runtime_process import RuntimeProcess
from .scene import as_format


@dataclass
class BenchRow:
    transport: str
    width: int
    height: int
    format: str
    p50_ms: float
    p99_ms: float
    seq_fps: float
    stream_fps: float
    runtime_total_p50_ms: float


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        w, _, h = part.strip().lower().partition("x")
        if not (w.isdigit() and h.isdigit()):
            raise ValueError(f"size '{part}' is not WxH")
        sizes.append((int(w), int(h)))
    return sizes


def measure(client: RuntimeClient, image: np.ndarray, frames: int, warmup: int, label: str) -> BenchRow:
    for _ in range(warmup):
        client.process(image)
    rtts = []
    runtime_total = []
    t_seq = time.perf_counter()
    for _ in tqdm(range(frames), desc=f"{label} seq", unit="frame", leave=False, disable=None):
        t0 = time.perf_counter()
        fid = client.submit(image, wait=10)
        result = client.receive(10)
        rtts.append((time.perf_counter() - t0) * 1e3)
        assert result.frame_id == fid and result.image is not None
        runtime_total.append(result.timings["total_ms"])
    seq_elapsed = time.perf_counter() - t_seq
    done = 0
    outstanding = 0
    t_stream = time.perf_counter()
    for _ in tqdm(range(frames), desc=f"{label} stream", unit="frame", leave=False, disable=None):
        if client.submit(image, wait=10) is not None:
            outstanding += 1
        if outstanding >= 2:
            done += client.receive(10).image is not None
            outstanding -= 1
    while outstanding:
        done += client.receive(10).image is not None
        outstanding -= 1
    stream_elapsed = time.perf_counter() - t_stream
    p50, p99 = percentiles(rtts)
    spec = client.input_spec
    return BenchRow(
        client.transport,
        spec.width,
        spec.height,
        spec.format,
        p50,
        p99,
        round(frames / seq_elapsed, 1),
        round(done / stream_elapsed, 1),
        percentiles(runtime_total)[0],
    )


def device_image(image: np.ndarray) -> Any:
    """The frame as a CUDA tensor (where a game's frame is)."""
    import torch

    return torch.from_numpy(image).cuda()


def run_bench(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.sizes)
    transports = {"cuda_ipc": ["cuda_ipc", "shm", "inline"], "shm": ["shm", "inline"]}.get(
        args.transport, [args.transport]
    )
    on_gpu = "cuda_ipc" in transports
    if on_gpu:
        from ..transport.cuda_ipc import missing_for_cuda_ipc

        missing = missing_for_cuda_ipc()
        if missing:
            print(f"lsd-runtime bench: --transport cuda_ipc needs {'; '.join(missing)}", file=sys.stderr)
            return 2
    rows: list[BenchRow] = []
    print(
        f"lsd-runtime bench: {', '.join(transports)} at {args.sizes}, {args.format}, identity effect, "
        f"{args.frames} timed frames each"
    )
    with RuntimeProcess(args=["--inline", *(["--device", "cuda"] if on_gpu else [])]) as runtime:
        for width, height in tqdm(sizes, desc="sizes", unit="size", disable=None):
            rng = np.random.default_rng(width * height)
            image = as_format(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), args.format)
            for transport in transports:
                device = transport == "cuda_ipc"
                with RuntimeClient(
                    runtime.endpoint, runtime.token, transports=(transport,), device_frames=device
                ) as client:
                    client.bind(width, height, args.format)
                    if client.transport != transport:
                        raise RuntimeError(f"{transport} was not used: {client.fallback}")
                    client.set_style(style="identity")
                    frame = device_image(image) if device else image
                    rows.append(
                        measure(client, frame, args.frames, args.warmup, f"{transport} {width}x{height}")
                    )
    print_table(rows, transports)
    if args.json:
        meta = {
            "version": __version__,
            "machine": platform.platform(),
            "cpu": platform.processor(),
            "date": time.strftime("%Y-%m-%d"),
            "frames": args.frames,
        }
        args.json.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    return 0


def print_table(rows: list[BenchRow], transports: list[str]) -> None:
    print(
        "\n| transport | size | format | round trip p50 ms | p99 ms | seq FPS | stream FPS | runtime p50 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.transport} | {r.width}x{r.height} | {r.format} | {r.p50_ms:.3f} | {r.p99_ms:.3f} "
            f"| {r.seq_fps:.0f} | {r.stream_fps:.0f} | {r.runtime_total_p50_ms:.3f} |"
        )
    base = transports[-1]
    for other in transports[:-1]:
        print(f"\nratio {base} / {other} (higher = {other} faster):")
        for r in rows:
            if r.transport != other:
                continue
            b = next(x for x in rows if x.transport == base and (x.width, x.height) == (r.width, r.height))
            print(
                f"  {r.width}x{r.height}: p50 x{b.p50_ms / r.p50_ms:.2f}, p99 x{b.p99_ms / r.p99_ms:.2f}, "
                f"stream FPS x{r.stream_fps / max(b.stream_fps, 1e-9):.2f}"
            )
