"""``lsd-runtime bench --backend diffusion``: per-stage latency and FPS of the stream pipeline."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from tqdm.auto import tqdm

from .accel import model_dtype, prepare_denoise
from .codec import LatentCodec
from .config import DiffusionConfig
from .sizing import model_size
from .stream import StreamPipeline, StreamSettings

STAGES = ("encode", "unet", "decode", "total")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


def _pipeline(model: str, random_weights: bool, device: torch.device, config: DiffusionConfig,
              settings: StreamSettings) -> tuple[StreamPipeline, int]:
    dtype = model_dtype(device, config.fp16)
    if random_weights:
        from .random_model import TokenFreeEncoder, build_random_components

        components = build_random_components(model, device, dtype, progress=config.progress)
        encoder: Any = TokenFreeEncoder(components)
    else:
        from .model_cache import get_components
        from .prompts import PromptEncoder
        from .resolve import resolve_model

        resolved = resolve_model(model, tiny_vae=config.tiny_vae, vae=config.vae, cache_dir=config.cache_dir)
        components = get_components(resolved, device, dtype, progress=config.progress)
        encoder = PromptEncoder(components)
    denoise = prepare_denoise(components.unet, device, channels_last=config.channels_last,
                              compile=config.compile, cuda_graph=config.cuda_graph)
    pipe = StreamPipeline(LatentCodec(components.vae, dtype), denoise, encoder, components.schedule,
                          components.family, dtype, device, settings, profile=True)
    return pipe, sum(p.numel() for p in components.unet.parameters())


def run_diffusion_bench(model: str = "sd-turbo", random_weights: bool = False, width: int = 512,
                        height: int = 512, frames: int = 100, device: str = "cuda", compile: bool = False,
                        *, steps: int = 1, strength: float = 0.5, warmup: int | None = None,
                        config: DiffusionConfig | None = None) -> dict[str, Any]:
    """Stream ``frames`` frames of ``width`` × ``height`` (resized to the model size as the
    runtime does) through the pipeline; report p50/p99 ms per stage and FPS.

    ``random_weights`` builds the full-size architecture from ``arch_configs`` (nothing to
    download); otherwise ``model`` is resolved offline like the backend does.
    """
    dev = torch.device(device)
    cfg = (config or DiffusionConfig()).with_params(compile=compile, cuda_graph=False)
    settings = StreamSettings(prompt="a watercolour painting of a city street", strength=strength,
                              steps=steps, seed=cfg.seed)
    pipe, unet_params = _pipeline(model, random_weights, dev, cfg, settings)
    mw, mh = model_size(width, height, cfg.long_side)
    warm = warmup if warmup is not None else max(1, min(5, frames // 5))
    gen = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, mh, mw, generator=gen).to(dev)
    rows: list[dict[str, float]] = []
    for i in tqdm(range(warm + frames), desc=f"bench {model} {mw}x{mh}", unit="frame",
                  disable=not cfg.progress):
        frame = torch.roll(base, shifts=i, dims=-1)  # a panning camera: every frame differs
        pipe(frame)
        if i >= warm:
            t = pipe.times
            rows.append({"encode": t.encode, "unet": t.unet, "decode": t.decode, "total": t.total})
    stages = {s: {"p50_ms": 1000 * _percentile([r[s] for r in rows], 50),
                  "p99_ms": 1000 * _percentile([r[s] for r in rows], 99)} for s in STAGES}
    mean_total = statistics.fmean(r["total"] for r in rows)
    return {
        "model": model, "random_weights": random_weights, "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "dtype": str(pipe.dtype).replace("torch.", ""), "input": [width, height], "model_size": [mw, mh],
        "steps": steps, "strength": strength, "frames": frames, "warmup": warm, "compile": compile,
        "unet_parameters": unet_params, "stages": stages, "fps": 1.0 / mean_total if mean_total else 0.0,
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
