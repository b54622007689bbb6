"""End to end: a real ``lsd-runtime serve`` process restyles frames with the diffusion backend."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from diffusion_fixtures import build_tiny_model, smooth_images  # noqa: E402
from lsd_runtime.backends import available_backends  # noqa: E402
from lsd_runtime.client import RuntimeClient, RuntimeReplyError  # noqa: E402
from lsd_runtime.testing import RuntimeProcess  # noqa: E402

pytestmark = pytest.mark.skipif("diffusion" not in available_backends(),
                                reason="the diffusion backend is not registered in lsd_runtime.backends")
SIZE = 32


def rgba(image) -> np.ndarray:
    rgb = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=-1)


def test_runtime_restyles_frames_with_a_local_tiny_model(tmp_path) -> None:
    model = str(build_tiny_model(tmp_path / "tiny-sd"))
    frames = [rgba(smooth_images(1, SIZE, seed=i)) for i in range(4)]
    with RuntimeProcess(env={"HF_HUB_OFFLINE": "1"}) as rt, RuntimeClient(rt.endpoint, rt.token) as client:
        with pytest.raises(RuntimeReplyError) as err:  # a missing model is a clear error, not a crash
            client.set_style(backend="diffusion", style=str(tmp_path / "no-such-model"), timeout=120)
        assert err.value.code == "unknown_style" and "no-such-model" in err.value.message
        reply = client.set_style(backend="diffusion", style=model, prompt="a cat", strength=0.6, seed=3,
                                 params={"steps": 2, "long_side": SIZE}, timeout=120)
        assert reply["backend"] == "diffusion" and reply["style"] == model
        client.bind(SIZE, SIZE, fmt="rgba8")
        outs = [client.process(f, timeout=120) for f in frames]
        for frame, out in zip(frames, outs, strict=True):
            assert out.shape == (SIZE, SIZE, 4) and out.dtype == np.uint8
            assert np.abs(out[..., :3].astype(int) - frame[..., :3]).mean() > 2  # restyled
            assert out[..., :3].std() > 5  # not blank
        # strength 0 hands the frame back unchanged
        client.set_style(backend="diffusion", strength=0.0, timeout=60)
        assert np.array_equal(client.process(frames[0], timeout=60)[..., :3], frames[0][..., :3])
        assert rt.alive(), rt.log()
