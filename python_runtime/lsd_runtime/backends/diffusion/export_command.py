"""``lsd-runtime models export``: a model's UNet and VAE to ONNX, and optionally its TensorRT engine."""

from __future__ import annotations

import argparse
import json
from typing import Any

import torch

from .accel import model_dtype


def load_for_export(
    name: str, random_weights: bool, device: torch.device, fp16: bool, cache_dir: Any
) -> tuple[Any, str]:
    """The model's components and the key the engine cache knows them by."""
    dtype = model_dtype(device, fp16)
    if random_weights:
        from .random_model import build_random_components

        return build_random_components(name, device, dtype, progress=False), f"random:{name}"
    from .model_cache import get_components
    from .resolve import resolve_model
    from .tensorrt_engine import model_key

    resolved = resolve_model(name, cache_dir=cache_dir)
    return get_components(resolved, device, dtype, progress=False), model_key(
        resolved.path, resolved.lora_path
    )


def run_export(args: argparse.Namespace) -> int:
    from .onnx_export import export_components

    device = torch.device(args.device)
    components, key = load_for_export(
        args.name, args.random_weights, device, fp16=True, cache_dir=args.hf_cache
    )
    if args.width % 16 or args.height % 16:
        raise ValueError("--width and --height must be multiples of 16 (even latent sizes)")
    manifest = export_components(components, args.out, batch=args.batch, image_hw=(args.height, args.width))
    print(json.dumps(manifest, indent=2))
    if args.tensorrt:
        from .tensorrt_engine import build_unet_engine, tensorrt_unavailable

        why = tensorrt_unavailable(device)
        if why is not None:
            raise ValueError(f"cannot build a TensorRT engine: {why}")
        path = build_unet_engine(  # pragma: no cover - needs a GPU
            components,
            args.out / manifest["unet"],
            key,
            args.batch,
            (args.height // 8, args.width // 8),
            args.engine_dir,
        )
        print(f"engine: {path}")  # pragma: no cover
    return 0
