"""Loaded models shared by the sessions of one runtime process (weights load once)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import torch

from .loader import Components, load_components
from .lora import LoraRequest
from .resolve import ResolvedModel
from .safety import SafetyChecker

_lock = threading.Lock()
_cache: OrderedDict[tuple, Components] = OrderedDict()
CAPACITY = 2


def get_components(
    resolved: ResolvedModel,
    device: torch.device,
    dtype: torch.dtype,
    progress: bool = True,
    lora: LoraRequest | None = None,
) -> Components:
    """The loaded parts, shared by every session asking for the same model, VAE and LoRA (a LoRA
    changes the weights, fused or as layers, so it is part of the key)."""
    key = (str(resolved.path), str(resolved.vae_path), str(resolved.lora_path), str(device), dtype, lora)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
        components = load_components(resolved, device, dtype, progress=progress, lora=lora)
        _cache[key] = components
        while len(_cache) > CAPACITY:
            _cache.popitem(last=False)
        return components


def clear() -> None:
    with _lock:
        _cache.clear()
        _safety.clear()


_safety: dict[tuple, SafetyChecker] = {}


def get_safety_checker(
    folder: Path, processor: Path | None, device: torch.device, dtype: torch.dtype
) -> SafetyChecker:
    """A loaded safety checker, shared like the models (it holds no per-session state)."""
    key = (str(folder), str(processor), str(device), dtype)
    with _lock:
        hit = _safety.get(key)
        if hit is None:
            hit = _safety[key] = SafetyChecker.load(folder, device, dtype, processor)
        return hit
