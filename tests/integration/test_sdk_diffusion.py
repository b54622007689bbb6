"""StreamEngine on the diffusion backend: a local model folder, and a model that is not there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from lsd_runtime import StreamEngine  # noqa: E402
from lsd_runtime.backends import available_backends  # noqa: E402
from lsd_runtime.backends.diffusion.tiny_model import build_tiny_model, smooth_images  # noqa: E402
from lsd_runtime.sdk import FrameInfo, ModelUnavailableError  # noqa: E402

pytestmark = pytest.mark.skipif(
    "diffusion" not in available_backends(),
    reason="the diffusion backend is not registered in lsd_runtime.backends",
)
SIZE = 32


def rgb(i: int) -> np.ndarray:
    return (smooth_images(1, SIZE, seed=i)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def test_a_local_model_folder_restyles_and_strength_zero_hands_frames_back(tmp_path: Path):
    model = build_tiny_model(tmp_path / "tiny-sd")
    frames = [rgb(i) for i in range(6)]
    got: list[tuple[np.ndarray, FrameInfo]] = []

    def on_frame(frame: np.ndarray, info: FrameInfo) -> None:
        got.append((frame.copy(), info))
        if info.index == 2:
            engine.set_strength(0.0)

    with StreamEngine(
        model=model, prompt="a cat", strength=0.6, seed=3, max_steps=2, device="cpu", size=(SIZE, SIZE)
    ) as engine:
        engine.run(frames, on_frame)
    assert [i.index for _, i in got] == list(range(6))
    assert all(i.backend == "diffusion" and i.style == str(model) for _, i in got)
    for frame, info in got[:3]:
        assert frame.shape == (SIZE, SIZE, 3) and np.abs(frame.astype(int) - frames[info.index]).mean() > 2
    for frame, info in got[3:]:
        assert info.strength == 0.0 and np.array_equal(frame, frames[info.index])


def test_a_model_not_available_offline_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if (tmp := Path.home() / ".cache" / "huggingface" / "hub" / "models--stabilityai--sdxl-turbo").exists():
        pytest.skip(f"sdxl-turbo is in this machine's cache ({tmp})")
    with pytest.raises(ModelUnavailableError, match=r"sdxl-turbo' is not available offline.*models pull"):
        StreamEngine(model="sdxl-turbo", device="cpu").start([rgb(0)], lambda f, i: None)
