"""The diffusion backend holds its memory flat over thousands of frames."""

from __future__ import annotations

import gc

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")
psutil = pytest.importorskip("psutil")

from lsd_runtime.backends.base import StyleRequest  # noqa: E402
from lsd_runtime.backends.diffusion import DiffusionConfig  # noqa: E402
from lsd_runtime.backends.diffusion.backend import DiffusionBackend  # noqa: E402
from lsd_runtime.backends.diffusion.tiny_model import build_tiny_model, smooth_images  # noqa: E402

FRAMES = 5000
PROMPTS = ["a cat", "red dog", "a dog", "red cat"]


@pytest.mark.soak
def test_memory_flat_over_5000_frames(tmp_path) -> None:
    model = str(build_tiny_model(tmp_path / "tiny-sd"))
    backend = DiffusionBackend("cpu", DiffusionConfig(progress=False))
    backend.set_style(
        StyleRequest(
            backend="diffusion",
            style=model,
            prompt="a cat",
            strength=0.5,
            seed=1,
            params={"steps": 1, "feedback": 0.3, "interp_frames": 4, "similarity_threshold": 0.9},
        )
    )
    frames = [smooth_images(1, 16, seed=i) for i in range(8)]  # 16x16: latents of 2x2

    def play(n: int, start: int) -> None:
        for i in range(start, start + n):
            if i % 250 == 0:  # prompt switches and seed changes along the way
                backend.set_style(
                    StyleRequest(backend="diffusion", prompt=PROMPTS[i // 250 % 4], seed=i // 250)
                )
            backend.process(frames[i % len(frames)], reset=i % 1000 == 999)

    process = psutil.Process()
    play(300, 0)  # warm-up: allocator pools, prompt cache, lazy imports
    gc.collect()
    before = process.memory_info().rss
    play(FRAMES, 300)
    gc.collect()
    growth = process.memory_info().rss - before
    print(f"RSS growth over {FRAMES} frames: {growth / 2**20:.2f} MiB")
    # Bound: 8 MiB, far below what a leak of one 16x16 frame (3 KiB as float32) or one
    # latent per frame would add over 5000 frames (15 MiB), and well above allocator noise.
    assert growth < 8 * 2**20
    assert torch.isfinite(backend.process(frames[0])).all()
