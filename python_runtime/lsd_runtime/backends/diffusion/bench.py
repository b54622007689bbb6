"""``lsd-runtime bench --backend diffusion``: per-stage latency and FPS of the stream pipeline;
with ``--techniques``, the pipeline with and without each way of doing less work per frame,
side by side in one run, with each one's fidelity to the full computation beside its speed."""

from __future__ import annotations

import math
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ...pipeline.latency import percentiles
from .accel import model_dtype, prepare_denoise
from .codec import LatentCodec
from .config import DiffusionConfig
from .sizing import model_size
from .stream import StreamPipeline

STAGES = ("encode", "unet", "decode", "total")


def _components(
    model: str, random_weights: bool, device: torch.device, config: DiffusionConfig
) -> tuple[Any, Any]:
    dtype = model_dtype(device, config.fp16)
    if random_weights:
        from .random_model import TokenFreeEncoder, build_random_components

        components = build_random_components(model, device, dtype, progress=config.progress)
        return components, TokenFreeEncoder(components)
    from .model_cache import get_components
    from .prompts import PromptEncoder
    from .resolve import resolve_model

    resolved = resolve_model(model, tiny_vae=config.tiny_vae, vae=config.vae, cache_dir=config.cache_dir)
    components = get_components(resolved, device, dtype, progress=config.progress)
    return components, PromptEncoder(components)


def _pipeline(
    model: str,
    random_weights: bool,
    device: torch.device,
    config: DiffusionConfig,
    loaded: tuple[Any, Any] | None = None,
) -> tuple[StreamPipeline, int]:
    dtype = model_dtype(device, config.fp16)
    components, encoder = loaded or _components(model, random_weights, device, config)
    denoise = prepare_denoise(
        components.unet,
        device,
        channels_last=config.channels_last,
        compile=config.compile,
        cuda_graph=config.cuda_graph,
        tensorrt=config.tensorrt,
        engine_dir=config.engine_dir,
        engine_key=f"{'random:' if random_weights else ''}{model}",
    )
    pipe = StreamPipeline(
        LatentCodec(components.vae, dtype),
        denoise,
        encoder,
        components.schedule,
        components.family,
        dtype,
        device,
        config,
        profile=True,
        unet=components.unet,
    )
    return pipe, sum(p.numel() for p in components.unet.parameters())


def run_diffusion_bench(
    model: str = "sd-turbo",
    random_weights: bool = False,
    width: int = 512,
    height: int = 512,
    frames: int = 100,
    device: str = "cuda",
    compile: bool = False,
    *,
    steps: int = 1,
    strength: float = 0.5,
    warmup: int | None = None,
    config: DiffusionConfig | None = None,
) -> dict[str, Any]:
    """Stream ``frames`` frames of ``width`` × ``height`` (resized to the model size as the
    runtime does) through the pipeline; report p50/p99 ms per stage and FPS.

    ``random_weights`` builds the full-size architecture from ``arch_configs`` (nothing to
    download); otherwise ``model`` is resolved offline like the backend does.
    """
    dev = torch.device(device)
    cfg = (config or DiffusionConfig()).with_params(
        compile=compile,
        cuda_graph=False,
        prompt="a watercolour painting of a city street",
        strength=strength,
        steps=steps,
    )
    pipe, unet_params = _pipeline(model, random_weights, dev, cfg)
    mw, mh = model_size(width, height, cfg.long_side)
    warm = warmup if warmup is not None else max(1, min(5, frames // 5))
    gen = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, mh, mw, generator=gen).to(dev)
    rows: list[dict[str, float]] = []
    for i in tqdm(
        range(warm + frames), desc=f"bench {model} {mw}x{mh}", unit="frame", disable=not cfg.progress
    ):
        frame = torch.roll(base, shifts=i, dims=-1)  # a panning camera: every frame differs
        pipe(frame)
        if i >= warm:
            rows.append({stage: pipe.times.ms(stage) for stage in STAGES})
    stages = {}
    for stage in STAGES:
        p50, p99 = percentiles([r[stage] for r in rows])
        stages[stage] = {"p50_ms": p50, "p99_ms": p99}
    mean_total = statistics.fmean(r["total"] for r in rows) / 1000.0
    return {
        "model": model,
        "random_weights": random_weights,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "dtype": str(pipe.dtype).replace("torch.", ""),
        "input": [width, height],
        "model_size": [mw, mh],
        "steps": steps,
        "strength": strength,
        "frames": frames,
        "warmup": warm,
        "compile": compile,
        "unet_parameters": unet_params,
        "stages": stages,
        "fps": 1.0 / mean_total if mean_total else 0.0,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


# ---- with and without each technique, side by side --------------------------------------------
TECHNIQUES: dict[str, dict[str, Any]] = {
    "full": {},
    "deepcache-2": {"deep_cache_interval": 2},
    "deepcache-3": {"deep_cache_interval": 3},
    "deepcache-3-l2": {"deep_cache_interval": 3, "deep_cache_layers": 2},
    "deepcache-4": {"deep_cache_interval": 4},
    "encode-skip-3": {"encode_interval": 3, "encode_threshold": 0.02},
    "tokens-2": {"token_downsample": 2},
    "combo": {"deep_cache_interval": 3, "encode_interval": 3, "encode_threshold": 0.02},
}
DEFAULT_TECHNIQUES = "full,deepcache-2,deepcache-3,deepcache-3-l2,encode-skip-3,tokens-2,combo"


def parse_techniques(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Comma list of preset names (``TECHNIQUES``), ``key=value+key=value`` settings, or
    ``arch:NAME`` (another random-weight architecture from ``arch_configs``, e.g. a smaller
    UNet); ``default`` stands for ``DEFAULT_TECHNIQUES``. ``full`` is always measured, first: it is
    what the others are compared with."""
    out: list[tuple[str, dict[str, Any]]] = [("full", {})]
    items = [t.strip() for t in text.split(",")]
    items = [i for item in items for i in (DEFAULT_TECHNIQUES.split(",") if item == "default" else [item])]
    for item in items:
        if not item or item == "full":
            continue
        if item in TECHNIQUES:
            out.append((item, dict(TECHNIQUES[item])))
        elif item.startswith("arch:"):
            out.append((item, {"arch": item[5:]}))
        elif "=" in item:
            settings: dict[str, Any] = {}
            for pair in item.split("+"):
                key, _, value = pair.partition("=")
                default = getattr(DiffusionConfig(), key, None)
                if default is None or isinstance(default, (tuple, Path)):
                    raise ValueError(f"unknown setting '{key}' in --techniques")
                settings[key] = type(default)(float(value)) if not isinstance(default, bool) else value == "1"
            out.append((item, settings))
        else:
            raise ValueError(
                f"unknown technique '{item}'; presets: {', '.join(TECHNIQUES)}, key=value, arch:NAME"
            )
    return out


def scene_frames(
    kind: str, n: int, width: int, height: int
) -> tuple[list[torch.Tensor], torch.Tensor | None]:
    """``orbit``: the demo's ray-traced scene (an orbiting camera, bouncing spheres), no motion
    vectors; ``pan``: a smooth texture moving one pixel right per frame, with its exact motion
    vectors (what an engine would send)."""
    if kind == "orbit":
        from ...tools.scene import render

        frames = []
        for i in range(n):
            rgb = torch.from_numpy(render(i, width, height)[..., :3].copy()).permute(2, 0, 1)
            frames.append(rgb[None].float() / 255.0)
        return frames, None
    if kind == "pan":
        g = torch.Generator().manual_seed(0)
        low = torch.rand(1, 3, max(2, height // 16), max(2, (width + n) // 16), generator=g)
        wide = torch.nn.functional.interpolate(
            low, size=(height, width + n), mode="bicubic", align_corners=False
        )
        wide = wide.clamp(0, 1)
        frames = [wide[..., n - i : n - i + width].contiguous() for i in range(n)]
        motion = torch.zeros(1, 2, height, width)
        motion[:, 0] = 1.0  # content moves one pixel right per frame
        return frames, motion
    raise ValueError(f"unknown scene '{kind}' (orbit, pan)")


@dataclass
class TechniqueRow:
    name: str
    settings: dict[str, Any]
    fps: float = 0.0
    speedup: float = 1.0
    flop_speedup: float | None = None
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    latent_error_mean: float | None = None  # ||x0 - x0_full|| / ||x0_full|| over the timed frames
    latent_error_max: float | None = None
    psnr_mean: float | None = None  # output vs the full computation's, dB, of the mean squared error
    psnr_min: float | None = None  # of the worst frame (inf: identical)
    work: dict[str, int] = field(default_factory=dict)


def _psnr(mse: float) -> float:
    """Of images in 0..1."""
    return math.inf if mse <= 0.0 else 10.0 * math.log10(1.0 / mse)


def _work(pipe: StreamPipeline) -> tuple[int, int, int, int, int]:
    dc = pipe.deep_cache
    w = pipe.work
    full = dc.full_passes if dc else w.unet_calls
    return (w.unet_calls, full, dc.reuse_passes if dc else 0, w.encodes, w.encodes_predicted)


def _meta_flops(unet: Any, vae: Any, image_hw: tuple[int, int], rows: int) -> Any:
    from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel

    from .flops import frame_flops

    vae_cls = AutoencoderTiny if type(vae).__name__ == "AutoencoderTiny" else AutoencoderKL
    with torch.device("meta"):
        meta_unet: Any = UNet2DConditionModel.from_config(unet.config)
        meta_vae: Any = vae_cls.from_config(vae.config)
    return frame_flops(meta_unet, meta_vae, image_hw, rows=rows)


def run_diffusion_compare(
    model: str = "sd-turbo",
    random_weights: bool = False,
    width: int = 256,
    height: int = 256,
    frames: int = 20,
    device: str = "cpu",
    techniques: str = DEFAULT_TECHNIQUES,
    *,
    steps: int = 1,
    strength: float = 0.5,
    warmup: int = 2,
    scene: str = "orbit",
    config: DiffusionConfig | None = None,
) -> dict[str, Any]:
    """Stream the same frames through one pipeline per technique, interleaved frame by frame (so
    a busy machine slows them all alike), and compare each with the full computation."""
    dev = torch.device(device)
    cfg = (config or DiffusionConfig()).with_params(
        prompt="a watercolour painting of a city street", strength=strength, steps=steps, cuda_graph=False
    )
    mw, mh = model_size(width, height, cfg.long_side)
    mw, mh = mw // 16 * 16, mh // 16 * 16  # even latent sizes for the UNet's upsamplers
    plan = parse_techniques(techniques)
    loaded = _components(model, random_weights, dev, cfg)
    embeddings: dict[str, Any] = {}

    def encoder(prompt: str) -> Any:  # every pipeline encodes the same prompts: once is enough
        if prompt not in embeddings:
            embeddings[prompt] = loaded[1](prompt)
        return embeddings[prompt]

    pipes: list[tuple[str, dict[str, Any], StreamPipeline]] = []
    params = 0
    for name, settings in plan:
        if "arch" in settings:
            if not random_weights:
                raise ValueError("arch:NAME compares random-weight architectures: use --random-weights")
            other = _components(settings["arch"], True, dev, cfg)
            pipe, _ = _pipeline(settings["arch"], True, dev, cfg, other)
        else:
            pipe, n = _pipeline(model, random_weights, dev, cfg.with_params(**settings), (loaded[0], encoder))
            params = params or n
        pipes.append((name, settings, pipe))
    clip, motion = scene_frames(scene, warmup + frames, mw, mh)
    clip = [f.to(dev) for f in clip]
    motion = None if motion is None else motion.to(dev)
    times: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in pipes}
    errors: dict[str, list[float]] = {name: [] for name, _, _ in pipes}
    mses: dict[str, list[float]] = {name: [] for name, _, _ in pipes}
    at_warmup: dict[str, tuple[int, int, int, int, int]] = {}
    for i in tqdm(
        range(warmup + frames), desc=f"compare {model} {mw}x{mh}", unit="frame", disable=not cfg.progress
    ):
        reference: tuple[torch.Tensor, torch.Tensor] | None = None
        for name, settings, pipe in pipes:
            if i == warmup:
                at_warmup[name] = _work(pipe)
            t0 = time.perf_counter()
            out = pipe(clip[i], motion=motion)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            wall = (time.perf_counter() - t0) * 1e3
            if i < warmup:
                continue
            sample = {stage: pipe.times.ms(stage) for stage in ("encode", "unet", "decode")}
            sample["total"] = wall
            times[name].append(sample)
            latent = pipe._last_x0
            assert latent is not None
            if reference is None:
                reference = (latent.float().cpu(), out.float().cpu())
            elif "arch" not in settings:
                ref_latent, ref_out = reference
                err = (latent.float().cpu() - ref_latent).norm() / ref_latent.norm().clamp_min(1e-12)
                errors[name].append(float(err))
                mses[name].append(float(((out.float().cpu() - ref_out) ** 2).mean()))
    flops = _meta_flops(loaded[0].unet, loaded[0].vae, (mh, mw), rows=steps)
    rows: list[TechniqueRow] = []
    for name, settings, pipe in pipes:
        samples = times[name]
        mean_total = statistics.fmean(r["total"] for r in samples)
        row = TechniqueRow(name, settings, fps=1e3 / mean_total if mean_total else 0.0)
        for stage in ("encode", "unet", "decode", "total"):
            p50, p99 = percentiles([r[stage] for r in samples])
            row.stages[stage] = {"p50_ms": p50, "p99_ms": p99}
        if "arch" not in settings:
            row.flop_speedup = flops.speedup(pipe.s)
        if errors[name]:
            row.latent_error_mean = statistics.fmean(errors[name])
            row.latent_error_max = max(errors[name])
            row.psnr_mean = _psnr(statistics.fmean(mses[name]))
            row.psnr_min = _psnr(max(mses[name]))
        keys = ("unet_calls", "unet_full_passes", "unet_reuse_passes", "encodes", "encodes_predicted")
        row.work = {k: b - a for k, a, b in zip(keys, at_warmup[name], _work(pipe), strict=True)}
        rows.append(row)
    full_fps = rows[0].fps
    for row in rows:
        row.speedup = row.fps / full_fps if full_fps else 0.0
    return {
        "model": model,
        "random_weights": random_weights,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev)
        if dev.type == "cuda"
        else platform.processor() or "cpu",
        "dtype": str(model_dtype(dev, cfg.fp16)).replace("torch.", ""),
        "threads": torch.get_num_threads(),
        "model_size": [mw, mh],
        "steps": steps,
        "strength": strength,
        "scene": scene,
        "frames": frames,
        "warmup": warmup,
        "unet_parameters": params,
        "flops_per_frame_full": flops.frame,
        "rows": [asdict(r) for r in rows],
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _fmt(value: float | None, spec: str) -> str:
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "exact"
    return format(value, spec)


def compare_table(result: dict[str, Any]) -> str:
    lines = [
        "| technique | FPS | × full | × FLOPs | total p50 / p99 ms | UNet p50 ms | encode p50 ms "
        "| latent error mean / max | PSNR mean / min dB | UNet full / reuse passes, encodes / predicted |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        s, w = r["stages"], r["work"]
        lines.append(
            f"| {r['name']} | {r['fps']:.3g} | {r['speedup']:.2f} | {_fmt(r['flop_speedup'], '.2f')} "
            f"| {s['total']['p50_ms']:.0f} / {s['total']['p99_ms']:.0f} | {s['unet']['p50_ms']:.0f} "
            f"| {s['encode']['p50_ms']:.0f} "
            f"| {_fmt(r['latent_error_mean'], '.4f')} / {_fmt(r['latent_error_max'], '.4f')} "
            f"| {_fmt(r['psnr_mean'], '.1f')} / {_fmt(r['psnr_min'], '.1f')} "
            f"| {w['unet_full_passes']} / {w['unet_reuse_passes']}, "
            f"{w['encodes']} / {w['encodes_predicted']} |"
        )
    return "\n".join(lines)


def append_compare_markdown(path: Path, result: dict[str, Any], command: str) -> None:
    """Append the table to ``path`` (BENCHMARKS.md) with the command, machine, date and settings."""
    mw, mh = result["model_size"]
    block = (
        f"\n{result['time'][:10]}, `{command}` — {platform.platform()}, {result['device_name']}, "
        f"torch {torch.__version__}, {result['threads']} threads, {result['dtype']}; {result['model']}"
        f"{' (random weights)' if result['random_weights'] else ''}, UNet {result['unet_parameters']:,} "
        f"parameters, {mw}×{mh}, {result['steps']} step(s), strength {result['strength']}, scene "
        f"{result['scene']}, {result['frames']} timed frames after {result['warmup']}, interleaved "
        f"(passes and encodes counted over the timed frames):\n\n"
        f"{compare_table(result)}\n"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(text + block, encoding="utf-8")


def flops_report(
    model: str, width: int, height: int, techniques: str = DEFAULT_TECHNIQUES, steps: int = 1
) -> str:
    """FLOPs per frame of ``model``'s full-size architecture (``arch_configs``) with each technique,
    counted on the meta device: nothing is computed, so this runs anywhere in seconds."""
    from .flops import meta_frame_flops

    flops = meta_frame_flops(model, (height // 16 * 16, width // 16 * 16), rows=steps)
    lines = [
        f"{model} at {width}×{height}, {steps} UNet row(s): UNet {flops.unet_full / 1e9:.1f} GFLOPs, "
        f"encode {flops.encode / 1e9:.1f}, decode {flops.decode / 1e9:.1f}; a DeepCache reuse pass "
        + ", ".join(f"{n} layer(s) {v / 1e9:.1f}" for n, v in flops.unet_reuse.items()),
        "",
        "| technique | GFLOPs per frame | × full |",
        "|---|---|---|",
    ]
    for name, settings in parse_techniques(techniques):
        if "arch" in settings:
            other = meta_frame_flops(settings["arch"], (height // 16 * 16, width // 16 * 16), rows=steps)
            per_frame = float(other.frame)
        else:
            ratio = flops.speedup(DiffusionConfig().with_params(**settings))
            if ratio is None:
                continue
            per_frame = flops.frame / ratio
        lines.append(f"| {name} | {per_frame / 1e9:.1f} | {flops.frame / per_frame:.2f} |")
    return "\n".join(lines)
