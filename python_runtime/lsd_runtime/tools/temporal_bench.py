"""``lsd-runtime bench --temporal``: what the engine's motion vectors and depth buy.

The demo scene is rendered with its exact motion and depth (as an engine has them) and streamed
through the frame pipeline twice per model: without the planes (all a video-only restyler has)
and with them (the backend reprojects its history, draws outlines from depth, ...). The measure
is the **temporal warping error**: the previous restyled frame moved to the current one with the
exact motion, compared with the current restyled frame where the surface was visible in both
(not disoccluded: the depth it had agrees with the depth it has), as a mean absolute difference
in 8-bit levels. Flicker and swimming texture raise it; a restyle that sticks to surfaces keeps
it near the input's own (lighting and highlights change a little from frame to frame).

    lsd-runtime bench --temporal --temporal-models toon,tiny-diffusion --strip temporal.png
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..backends import Backend, StyleRequest, create_backend
from ..backends.model_names import resolve_request
from ..pipeline.frame_pipeline import FramePipeline
from ..pipeline.latency import percentiles
from ..pipeline.pixel_formats import RingSpec, image_view
from ..pipeline.planes import DepthPlane, MotionPlane, PlaneSpec, write_plane
from .scene import SceneFrame, render_frame

FEEDBACK = 0.5  # diffusion: the last output's weight in each new one (reprojected with the planes)
DISOCCLUSION = 0.05  # depth change (relative) above which a pixel counts as newly visible


def warp_back(prev: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """``prev`` ([H, W, C]) moved to the current frame: each pixel takes what was at (x, y) - motion."""
    import cv2

    h, w = motion.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x, map_y = xs - motion[..., 0], ys - motion[..., 1]
    return cv2.remap(prev, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def visible_in_both(motion: np.ndarray, depth_prev: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``[H, W]`` bool: the surface at each pixel was on screen a frame ago and not hidden then."""
    import cv2

    h, w = depth.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    sx, sy = xs - motion[..., 0], ys - motion[..., 1]
    was = cv2.remap(depth_prev, sx, sy, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    inside = (sx >= 0) & (sx <= w - 1) & (sy >= 0) & (sy <= h - 1)
    return inside & (np.abs(was - depth) <= DISOCCLUSION * depth)


def warping_error(prev_out: np.ndarray, out: np.ndarray, prev: SceneFrame, cur: SceneFrame) -> float:
    """Mean |warp(prev_out) - out| (0..255) over the pixels visible in both frames."""
    mask = visible_in_both(cur.motion, prev.depth, cur.depth)
    diff = np.abs(warp_back(prev_out.astype(np.float32), cur.motion) - out.astype(np.float32))
    return float(diff[mask].mean()) if mask.any() else 0.0


@dataclass
class Run:
    model: str
    planes: bool
    outputs: list[np.ndarray] = field(default_factory=list)  # [H, W, 3] uint8 per frame
    ms: list[float] = field(default_factory=list)

    def errors(self, scene: list[SceneFrame]) -> list[float]:
        return [
            warping_error(a, b, scene[i], scene[i + 1])
            for i, (a, b) in enumerate(zip(self.outputs[:-1], self.outputs[1:], strict=True))
        ]


def _style(model: str, folder: Path | None) -> tuple[Backend, StyleRequest]:
    """The backend and style for a model name; ``tiny-diffusion`` is built into ``folder``."""
    if model == "tiny-diffusion":
        assert folder is not None
        # the same settings both ways; only whether the engine's planes arrive differs
        request = StyleRequest(
            model=f"diffusion:{folder}",
            prompt="a painted toy world",
            strength=0.6,
            seed=7,
            params={"feedback": FEEDBACK},
        )
    else:
        request = StyleRequest(model=model, params={"stabilize": 0.6})
    request = resolve_request(request)
    assert request.backend is not None
    backend = create_backend(request.backend)
    backend.set_style(request)
    return backend, request


def stream(model: str, planes: bool, scene: list[SceneFrame], folder: Path | None) -> Run:
    h, w = scene[0].depth.shape
    spec = RingSpec(w, h, "rgba8", 0, False, "srgb", 1)
    mspec, dspec = PlaneSpec.beside(spec, "rg32f"), PlaneSpec.beside(spec, "r32f")
    pipe = FramePipeline(
        spec, spec, w, h, motion_plane=(mspec, MotionPlane("rg32f")), depth_plane=(dspec, DepthPlane("r32f"))
    )
    backend, _ = _style(model, folder)
    src, dst = bytearray(spec.size), bytearray(spec.size)
    mbuf, dbuf = bytearray(mspec.size), bytearray(dspec.size)
    run = Run(model, planes)
    try:
        for i, frame in enumerate(scene):
            image_view(src, spec)[...] = frame.rgba
            if planes:
                write_plane(mbuf, mspec, frame.motion)
                write_plane(dbuf, dspec, frame.depth)
            t = time.perf_counter()
            pipe.run(
                backend,
                src,
                dst,
                reset=i == 0,
                motion_src=mbuf if planes and i > 0 else None,
                depth_src=dbuf if planes else None,
            )
            run.ms.append((time.perf_counter() - t) * 1e3)
            run.outputs.append(image_view(dst, spec)[..., :3].copy())
    finally:
        backend.close()
    return run


def strip(path: Path, scene: list[SceneFrame], runs: list[Run], picks: list[int]) -> None:
    """Frames side by side: the engine's, then each run's; a row of each run's warping error."""
    from PIL import Image, ImageDraw

    h, w = scene[0].depth.shape
    label_w = 200
    rows: list[tuple[str, list[np.ndarray]]] = [("engine frame", [scene[i].rgba[..., :3] for i in picks])]
    for r in runs:
        name = f"{r.model}, {'engine planes' if r.planes else 'video only'}"
        rows.append((name, [r.outputs[i] for i in picks]))
        errs = []
        for i in picks:
            mask = visible_in_both(scene[i].motion, scene[i - 1].depth, scene[i].depth)
            diff = np.abs(
                warp_back(r.outputs[i - 1].astype(np.float32), scene[i].motion) - r.outputs[i]
            ).mean(-1)
            heat = np.clip(diff * 4, 0, 255) * mask
            errs.append(np.stack([heat, heat * 0.6, heat * 0.2], -1).astype(np.uint8))
        rows.append(("  its frame-to-frame error (x4)", errs))
    sheet = Image.new("RGB", (label_w + w * len(picks), h * len(rows)), (18, 18, 22))
    draw = ImageDraw.Draw(sheet)
    for y, (name, images) in enumerate(rows):
        draw.text((6, y * h + 6), name, fill=(230, 230, 230))
        for x, img in enumerate(images):
            sheet.paste(Image.fromarray(np.ascontiguousarray(img)), (label_w + x * w, y * h))
    sheet.save(path)


def run_temporal_bench(args: argparse.Namespace) -> int:
    from .bench import parse_sizes

    (width, height), *_ = parse_sizes(args.temporal_size)
    models = [m.strip() for m in args.temporal_models.split(",") if m.strip()]
    n = args.temporal_frames
    print(
        f"lsd-runtime bench --temporal: {n} frames of the demo scene at {width}x{height}; "
        f"models {', '.join(models)}"
    )
    scene = [
        render_frame(i + 1, width, height)
        for i in tqdm(range(n), desc="rendering", unit="frame", disable=None)
    ]
    baseline = Run("input", False, [f.rgba[..., :3] for f in scene])
    results: list[dict[str, Any]] = []
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="lsd-temporal-") as tmp:
        folder = None
        if "tiny-diffusion" in models:
            from ..backends.diffusion.tiny_model import build_tiny_model

            folder = build_tiny_model(Path(tmp) / "tiny-sd")
        for model in models:
            for planes in (False, True):
                run = stream(model, planes, scene, folder)
                runs.append(run)
                errs = run.errors(scene)
                p50, p99 = percentiles(run.ms[1:])
                results.append(
                    {
                        "model": model,
                        "planes": planes,
                        "warping_error": float(np.mean(errs)),
                        "warping_error_p90": float(np.percentile(errs, 90)),
                        "frame_ms_p50": p50,
                        "frame_ms_p99": p99,
                    }
                )
    input_error = float(np.mean(baseline.errors(scene)))
    lines = [
        f"demo scene, {n} frames at {width}x{height}; the input's own warping error: {input_error:.2f}",
        "",
        "| model | planes | warping error (mean) | p90 | frame p50 ms | p99 ms | with / without |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        off = next(x for x in results if x["model"] == r["model"] and not x["planes"])
        ratio = r["warping_error"] / off["warping_error"] if off["warping_error"] else float("nan")
        lines.append(
            f"| {r['model']} | {'engine motion + depth' if r['planes'] else 'none (video only)'} | "
            f"{r['warping_error']:.2f} | {r['warping_error_p90']:.2f} | {r['frame_ms_p50']:.2f} | "
            f"{r['frame_ms_p99']:.2f} | {ratio:.2f} |"
        )
    print("\n".join(lines))
    if args.strip:
        picks = [i for i in (n // 4, n // 2, 3 * n // 4, n - 1) if i > 0]
        strip(args.strip, scene, runs, picks)
        print(f"wrote {args.strip}")
    if args.json:
        args.json.write_text(json.dumps({"input_error": input_error, "runs": results}, indent=2))
    return 0
