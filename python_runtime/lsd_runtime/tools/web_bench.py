"""``lsd-runtime bench --web``: what watching a session in the web console costs.

A client streams the demo scene at a game's pace (``--fps``) through a runtime serving the
console, three times in one run: unwatched, watched (a WebSocket client receiving every frame
the console sends, as a browser would), unwatched again. It reports the frame path (the
runtime's arrival-to-reply time, and the client's round trip) in each, the ratio watched /
unwatched, and how long after the runtime answered a frame the watcher had it (the console's
added delay), beside the frame interval.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import struct
import threading
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import __version__
from ..client.runtime_client import RuntimeClient
from ..pipeline.latency import percentiles
from ..server.state_file import read_state
from .runtime_process import RuntimeProcess
from .scene import render

HEADER = struct.Struct("<cdIf")


class Watcher:
    """A WebSocket client of the console on its own thread: logs in, watches one session."""

    def __init__(self, login_url: str):
        self.login_url = login_url
        self.delays_ms: list[float] = []
        self.frames = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="web-watcher")

    def start(self) -> None:
        self._thread.start()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    async def _main(self) -> None:
        import aiohttp

        base = self.login_url.split("/?")[0]
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await http.get(self.login_url)
            key = ""
            for _ in range(100):
                sessions = (await (await http.get(base + "/api/sessions")).json())["sessions"]
                if sessions:
                    key = sessions[0]["key"]
                    break
                await asyncio.sleep(0.1)
            async with http.ws_connect(f"{base}/ws/{key}") as ws:
                while not self._stop.is_set():
                    try:
                        msg = await ws.receive(timeout=0.5)
                    except asyncio.TimeoutError:
                        continue
                    if msg.type != aiohttp.WSMsgType.BINARY:
                        continue
                    kind, done_at, _, _ = HEADER.unpack_from(msg.data)
                    if kind == b"O":
                        self.delays_ms.append((time.time() - done_at) * 1e3)
                        self.frames += 1
                        self._ready.set()


def stream(client: RuntimeClient, frames: int, fps: float, label: str) -> tuple[list[float], list[float]]:
    images = [render(i, client.input_spec.width, client.input_spec.height) for i in range(8)]
    totals, rtts = [], []
    due = time.perf_counter()
    for i in tqdm(range(frames), desc=label, unit="frame", leave=False, disable=None):
        due += 1.0 / fps
        t0 = time.perf_counter()
        fid = client.submit(images[i % 8], wait=10)
        result = client.receive(10)
        rtts.append((time.perf_counter() - t0) * 1e3)
        assert result.frame_id == fid and result.image is not None
        totals.append(result.timings["total_ms"])
        time.sleep(max(0.0, due - time.perf_counter()))
    return totals, rtts


def run_web_bench(args: argparse.Namespace) -> int:
    from .bench import parse_sizes

    (width, height), *_ = parse_sizes(args.sizes)
    fps, frames = args.fps, args.frames
    style = args.model or "toon"
    print(f"lsd-runtime bench --web: {frames} frames of {width}x{height} with {style} at {fps:g} FPS, x3")
    rows: dict[str, dict[str, Any]] = {}
    with (
        RuntimeProcess(args=["--web"]) as rt,
        RuntimeClient(rt.endpoint, rt.token, name="web-bench") as client,
    ):
        client.bind(width, height, "rgba8")
        client.set_style(model=style)
        stream(client, 60, fps, "warm-up")
        phases = [
            ("unwatched", None),
            ("watched", read_state(rt.state_dir).console),
            ("unwatched again", None),
        ]
        watcher_stats: dict[str, Any] = {}
        for name, login in phases:
            watcher = Watcher(login) if login else None
            if watcher is not None:
                watcher.start()
                deadline = time.monotonic() + 30
                while not watcher.ready:  # stream until the watcher sees frames, then measure
                    if time.monotonic() > deadline:
                        raise TimeoutError("the console did not stream")
                    stream(client, 10, fps, "connecting")
                watcher.delays_ms.clear()
                watcher.frames = 0
            totals, rtts = stream(client, frames, fps, name)
            if watcher is not None:
                watcher.stop()
                d50, d99 = percentiles(watcher.delays_ms)
                watcher_stats = {"frames": watcher.frames, "delay_p50_ms": d50, "delay_p99_ms": d99}
            t50, t99 = percentiles(totals)
            r50, r99 = percentiles(rtts)
            rows[name] = {"path_p50_ms": t50, "path_p99_ms": t99, "rtt_p50_ms": r50, "rtt_p99_ms": r99}
    base = (rows["unwatched"]["path_p50_ms"] + rows["unwatched again"]["path_p50_ms"]) / 2
    ratio = rows["watched"]["path_p50_ms"] / max(base, 1e-9)
    lines = [
        "| phase | frame path p50 / p99 ms | client round trip p50 / p99 ms |",
        "|---|---|---|",
        *(
            f"| {name} | {r['path_p50_ms']:.3f} / {r['path_p99_ms']:.3f} "
            f"| {r['rtt_p50_ms']:.3f} / {r['rtt_p99_ms']:.3f} |"
            for name, r in rows.items()
        ),
    ]
    print("\n" + "\n".join(lines))
    print(
        f"\nwatched / unwatched frame path p50: x{ratio:.3f} (goal at most x1.05); the watcher got "
        f"{watcher_stats['frames']} of {frames} frames, {watcher_stats['delay_p50_ms']:.1f} ms (p99 "
        f"{watcher_stats['delay_p99_ms']:.1f}) after the runtime answered them; "
        f"a frame lasts {1e3 / fps:.1f} ms"
    )
    if args.json:
        meta = {
            "version": __version__,
            "machine": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M"),
        }
        report = {"meta": meta, "rows": rows, "ratio": ratio, "watcher": watcher_stats, "fps": fps}
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0
