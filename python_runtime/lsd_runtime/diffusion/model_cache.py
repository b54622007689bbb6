"""Loaded models shared by the sessions of one runtime process (weights load once)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from .loader import Components, load_components
from .resolve import ResolvedModel

_lock = threading.Lock()
_cache: OrderedDict[tuple, Components] = OrderedDict()
CAPACITY = 2


def get_components(resolved: ResolvedModel, device: torch.device, dtype: torch.dtype,
                   progress: bool = True) -> Components:
    key = (str(resolved.path), str(resolved.vae_path), str(resolved.lora_path), str(device), dtype)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
        components = load_components(resolved, device, dtype, progress=progress)
        _cache[key] = components
        while len(_cache) > CAPACITY:
            _cache.popitem(last=False)
        return components


def clear() -> None:
    with _lock:
        _cache.clear()
