"""End to end: a real ``lsd-runtime serve`` process restyles frames with the diffusion backend."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from lsd_runtime.backends import available_backends  # noqa: E402
from lsd_runtime.backends.diffusion.tiny_model import build_tiny_model, smooth_images  # noqa: E402
from lsd_runtime.client import RuntimeClient, RuntimeReplyError  # noqa: E402
from lsd_runtime.tools.runtime_process import RuntimeProcess  # noqa: E402

pytestmark = pytest.mark.skipif(
    "diffusion" not in available_backends(),
    reason="the diffusion backend is not registered in lsd_runtime.backends",
)
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
        reply = client.set_style(
            backend="diffusion",
            style=model,
            prompt="a cat",
            strength=0.6,
            seed=3,
            params={"steps": 2, "long_side": SIZE},
            timeout=120,
        )
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


def _session_outputs(rt: RuntimeProcess, model: str, frames: list[np.ndarray], **style) -> list[np.ndarray]:
    """A fresh session on ``rt``: set_style, bind, stream ``frames``; its outputs."""
    style.setdefault("prompt", "a cat")
    style.setdefault("strength", 0.6)
    style.setdefault("seed", 3)
    params = {"long_side": SIZE, "interp_frames": 0, **style.pop("params", {})}
    with RuntimeClient(rt.endpoint, rt.token) as client:
        client.set_style(backend="diffusion", style=model, params=params, timeout=120, **style)
        client.bind(SIZE, SIZE, fmt="rgba8")
        return [client.process(f, timeout=120) for f in frames]


def test_streamdiffusion_knobs_end_to_end_through_the_runtime(tmp_path) -> None:
    pytest.importorskip("peft")
    from lsd_runtime.backends.diffusion.tiny_model import build_tiny_lora

    model = build_tiny_model(tmp_path / "tiny-sd")
    lora = str(build_tiny_lora(model, tmp_path / "lora" / "style.safetensors"))
    frames = [rgba(smooth_images(1, SIZE, seed=i)) for i in range(4)]
    knobs = {"cfg_type": "self", "guidance": 1.5, "delta": 0.8, "t_index_list": [20, 35], "steps": 2}
    with RuntimeProcess(env={"HF_HUB_OFFLINE": "1"}) as rt:
        with RuntimeClient(rt.endpoint, rt.token) as client:  # bad knobs are bad_field, nothing changes
            for bad in ({"t_index_list": [35, 20]}, {"cfg_type": "half"}, {"lora_scale": "1"}):
                with pytest.raises(RuntimeReplyError) as err:
                    client.set_style(backend="diffusion", style=str(model), params=bad, timeout=120)
                assert err.value.code == "bad_field"
        plain = _session_outputs(rt, str(model), frames, params=knobs)
        zero = _session_outputs(rt, str(model), frames, params={**knobs, "lora": lora, "lora_scale": 0.0})
        styled = _session_outputs(rt, str(model), frames, params={**knobs, "lora": lora, "lora_scale": 1.0})
        again = _session_outputs(rt, str(model), frames, params=knobs)  # after a LoRA session
        txt = _session_outputs(rt, str(model), frames, strength=1.0, params={"steps": 1, "mode": "txt2img"})
        assert rt.alive(), rt.log()
    for p, z, s, a, f in zip(plain, zero, styled, again, frames, strict=True):
        assert np.abs(p[..., :3].astype(int) - f[..., :3]).mean() > 2  # restyled
        assert np.array_equal(p, z)  # LoRA at scale 0 is no LoRA, through the whole runtime
        assert np.array_equal(p, a)  # and one session's LoRA never touched another's weights
        assert np.abs(s[..., :3].astype(int) - p[..., :3]).mean() > 0.5
    assert all(np.array_equal(txt[0], t) for t in txt)  # txt2img: the input does not matter


def test_safety_checker_flag_end_to_end(tmp_path) -> None:
    from lsd_runtime.backends.diffusion.tiny_model import build_tiny_safety_checker

    model = str(build_tiny_model(tmp_path / "tiny-sd"))
    checker = str(build_tiny_safety_checker(tmp_path / "checker", flag_all=True))
    frames = [rgba(smooth_images(1, SIZE, seed=i)) for i in range(3)]
    args = ["--safety-checker", "--safety-checker-model", checker]
    with RuntimeProcess(args=args, env={"HF_HUB_OFFLINE": "1"}) as rt:
        outs = _session_outputs(rt, model, frames, params={"steps": 1})
        assert rt.alive(), rt.log()
    for frame, out in zip(frames, outs, strict=True):  # every frame flagged: the input comes back
        assert np.array_equal(out, frame)
