"""Doing less work per frame, on the tiny random-weight models through the real loader: DeepCache
across frames, predicting the input latent instead of encoding it, token downsampling. Each
test shows the work is really skipped (UNet blocks that do not run, encodes not made, FLOPs)
and bounds the error against the full computation on a moving scene; the bounds are about
3x what these deterministic computations give, so they hold on any machine."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from lsd_runtime.backends.base import StyleRequest  # noqa: E402
from lsd_runtime.backends.diffusion import arch_configs  # noqa: E402
from lsd_runtime.backends.diffusion.bench import run_diffusion_compare  # noqa: E402
from lsd_runtime.backends.diffusion.flops import frame_flops, meta_frame_flops  # noqa: E402
from lsd_runtime.backends.diffusion.tiny_model import build_tiny_model, smooth_images  # noqa: E402
from lsd_runtime.tools.cli import main  # noqa: E402
from support.tiny_diffusion import ModuleCalls, make_backend, panning, pipeline_of, run  # noqa: E402

# latent error of the output, ||x0 - x0_full|| / ||x0_full||, on the 20-frame pan (measured on
# the tiny model: DeepCache every 3rd frame mean 0.0015 / max 0.004; tokens 2: 0.006)
DEEP_CACHE_BOUND = 0.012
TOKENS_BOUND = 0.02


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd"))


def latent_errors(model_dir: str, frames: list[torch.Tensor], steps: int, **params: object) -> list[float]:
    full = make_backend(model_dir, params={"steps": steps})
    fast = make_backend(model_dir, params={"steps": steps, **params})
    errors = []
    for frame in frames:
        full.process(frame)
        fast.process(frame)
        a, b = pipeline_of(fast)._last_x0, pipeline_of(full)._last_x0
        assert a is not None and b is not None
        errors.append(float((a - b).norm() / b.norm()))
    return errors


# ---- DeepCache ------------------------------------------------------------------------------
def test_deep_cache_on_a_still_input_is_the_full_computation_exactly(model_dir: str) -> None:
    frame = smooth_images(1, seed=4)
    full = run(make_backend(model_dir, params={"steps": 1}), [frame] * 6)
    backend = make_backend(model_dir, params={"steps": 1, "deep_cache_interval": 3})
    cached = run(backend, [frame] * 6)
    assert all(torch.equal(a, b) for a, b in zip(full, cached, strict=True))
    dc = pipeline_of(backend).deep_cache
    assert dc is not None and (dc.full_passes, dc.reuse_passes) == (2, 4)


@pytest.mark.parametrize("layers", [1, 2])
def test_deep_cache_skips_the_deep_blocks(model_dir: str, layers: int) -> None:
    backend = make_backend(
        model_dir, params={"steps": 1, "deep_cache_interval": 3, "deep_cache_layers": layers}
    )
    unet = pipeline_of(backend).unet
    assert unet is not None
    deep = ["down_blocks.1", "mid_block", "up_blocks.0", "down_blocks.0.downsamplers.0"]
    outer = ["conv_in", "conv_out", "up_blocks.1.resnets.1", "up_blocks.1.attentions.1"]
    second = ["up_blocks.1.resnets.0", "down_blocks.0.resnets.0", "down_blocks.0.attentions.0"]
    calls = ModuleCalls(unet, deep + outer + second)
    run(backend, panning(9))
    calls.close()
    assert all(calls.counts[n] == 3 for n in deep)  # full passes only: frames 1, 4, 7
    assert all(calls.counts[n] == 9 for n in outer)  # every frame
    assert all(calls.counts[n] == (9 if layers == 2 else 3) for n in second)


@pytest.mark.parametrize("steps", [1, 2])
def test_deep_cache_error_on_a_moving_scene_is_bounded(model_dir: str, steps: int) -> None:
    errors = latent_errors(model_dir, panning(20), steps, deep_cache_interval=3)
    assert 0.0 < max(errors) <= DEEP_CACHE_BOUND
    closer = latent_errors(model_dir, panning(20), steps, deep_cache_interval=3, deep_cache_layers=2)
    assert sum(closer) < sum(errors)  # recomputing more layers is closer to the full computation


def test_deep_cache_refreshes_when_the_input_or_the_prompt_changes(model_dir: str) -> None:
    # a threshold below any frame-to-frame change refreshes every frame: the full computation
    full = run(make_backend(model_dir, params={"steps": 1}), panning(6))
    backend = make_backend(
        model_dir, params={"steps": 1, "deep_cache_interval": 4, "deep_cache_threshold": 1e-6}
    )
    assert all(torch.equal(a, b) for a, b in zip(full, run(backend, panning(6)), strict=True))
    dc = pipeline_of(backend).deep_cache
    assert dc is not None and dc.reuse_passes == 0
    # a prompt glide changes the conditioning every frame: no reuse until it settles
    backend = make_backend(model_dir, params={"steps": 1, "deep_cache_interval": 100, "interp_frames": 4})
    dc = pipeline_of(backend).deep_cache
    assert dc is not None
    run(backend, [smooth_images(1)] * 3)
    backend.set_style(StyleRequest(backend="diffusion", prompt="red dog"))
    before = dc.full_passes
    run(backend, [smooth_images(1)] * 8)
    assert dc.full_passes - before == 4  # the glide's 4 frames (the last one at the new prompt)


# ---- predicting the input latent ---------------------------------------------------------------
def test_encode_skip_reuses_the_latent_of_an_unchanged_input(model_dir: str) -> None:
    frame = smooth_images(1, seed=6)
    full = run(make_backend(model_dir, params={"steps": 1}), [frame] * 6)
    backend = make_backend(model_dir, params={"steps": 1, "encode_interval": 3, "encode_threshold": 0.0})
    pipe = pipeline_of(backend)
    encodes = []
    original = pipe.codec.encode

    def counting(x: torch.Tensor) -> torch.Tensor:
        encodes.append(1)
        return original(x)

    pipe.codec.encode = counting  # type: ignore[method-assign]
    assert all(torch.equal(a, b) for a, b in zip(full, run(backend, [frame] * 6), strict=True))
    assert len(encodes) == 2 and pipe.work.encodes_predicted == 4  # every 3rd frame encoded


def test_encode_skip_encodes_when_the_input_changes_beyond_the_threshold(model_dir: str) -> None:
    frames = panning(12)  # about 0.004 mean absolute change per frame
    backend = make_backend(model_dir, params={"steps": 1, "encode_interval": 100, "encode_threshold": 0.01})
    run(backend, frames)
    pipe = pipeline_of(backend)
    assert 0 < pipe.work.encodes_predicted < 11 and pipe.work.encodes > 1
    # a cut is always encoded
    before = pipe.work.encodes
    backend.process(smooth_images(1, seed=77))
    assert pipe.work.encodes == before + 1


# ---- token downsampling -----------------------------------------------------------------------
def test_token_downsampling_changes_only_its_own_session(model_dir: str) -> None:
    frames = panning(6)
    plain_before = run(make_backend(model_dir, params={"steps": 1}), frames)
    fast = make_backend(model_dir, params={"steps": 1, "token_downsample": 2})
    errors = latent_errors(model_dir, frames, 1, token_downsample=2)
    assert 0.0 < max(errors) <= TOKENS_BOUND
    run(fast, frames)  # installed its processors on the shared UNet: factor 1 elsewhere is untouched
    plain_after = run(make_backend(model_dir, params={"steps": 1}), frames)
    assert all(torch.equal(a, b) for a, b in zip(plain_before, plain_after, strict=True))


# ---- FLOPs: what the full-size architecture would save ---------------------------------------
def test_flops_of_the_tiny_model_drop_with_each_technique(model_dir: str) -> None:
    pipe = pipeline_of(make_backend(model_dir))
    assert pipe.unet is not None
    flops = frame_flops(pipe.unet, pipe.codec.vae, (64, 64), tokens=16)
    assert flops.unet_reuse[1] < flops.unet_reuse[2] < flops.unet_full
    assert flops.unet_tokens[2] < flops.unet_full
    assert flops.with_settings(deep_cache_interval=3) < flops.frame


def test_full_size_sd_turbo_flops_predict_the_goal() -> None:
    """SD-Turbo's UNet and TAESD at 256², counted on the meta device: a reuse pass is under 8 % of
    the UNet, and DeepCache every 3rd frame cuts a frame's FLOPs by more than 1.5x."""
    flops = meta_frame_flops("sd-turbo", (256, 256))
    assert 1.7e11 < flops.unet_full < 1.9e11  # 181 GFLOPs
    assert flops.unet_reuse[1] < 0.08 * flops.unet_full
    assert flops.frame / flops.with_settings(deep_cache_interval=3) > 1.8
    assert flops.frame / flops.with_settings(deep_cache_interval=2) > 1.5


# ---- the side-by-side benchmark ------------------------------------------------------------
def test_compare_benchmark_runs_every_technique_side_by_side(model_dir: str, tmp_path: Path, capsys) -> None:
    markdown = tmp_path / "BENCHMARKS.md"
    argv = ["bench", "--backend", "diffusion", "--model", model_dir, "--width", "64", "--height", "64"]
    argv += ["--frames", "4", "--techniques", "default,deep_cache_interval=5", "--markdown", str(markdown)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    for name in (
        "full",
        "deepcache-2",
        "deepcache-3",
        "encode-skip-3",
        "tokens-2",
        "combo",
        "deep_cache_interval=5",
    ):
        assert f"| {name} |" in table
    text = markdown.read_text()
    assert "lsd-runtime bench --backend diffusion" in text and "| deepcache-3 |" in text


def test_compare_benchmark_with_a_smaller_architecture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2}
    text.update(vocab_size=49408, max_position_embeddings=77)
    unet = {
        "sample_size": 8,
        "layers_per_block": 1,
        "block_out_channels": [8, 16],
        "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
        "cross_attention_dim": 16,
        "attention_head_dim": 2,
        "norm_num_groups": 4,
    }
    vae = {"encoder_block_out_channels": [8] * 4, "decoder_block_out_channels": [8] * 4}
    vae.update(num_encoder_blocks=[1] * 4, num_decoder_blocks=[1] * 4)
    archs = {
        "tiny-a": {"family": "sd", "unet": unet, "text": [text], "vae": vae},
        "tiny-b": {"family": "sd", "unet": {**unet, "mid_block_type": None}, "text": [text], "vae": vae},
    }
    monkeypatch.setattr(arch_configs, "ARCHITECTURES", archs)
    result = run_diffusion_compare(
        "tiny-a", random_weights=True, width=64, height=64, frames=3, techniques="deepcache-2,arch:tiny-b"
    )
    rows = {r["name"]: r for r in result["rows"]}
    assert set(rows) == {"full", "deepcache-2", "arch:tiny-b"}
    assert rows["arch:tiny-b"]["latent_error_mean"] is None  # other weights: no fidelity to compare
    assert rows["deepcache-2"]["work"]["unet_reuse_passes"] >= 1


def test_flops_command_counts_the_full_size_architecture(capsys) -> None:
    argv = [
        "bench",
        "--backend",
        "diffusion",
        "--random-weights",
        "sd-turbo",
        "--width",
        "256",
        "--height",
        "256",
    ]
    assert main([*argv, "--flops", "--techniques", "deepcache-3,arch:bk-sdm-v2-small"]) == 0
    out = capsys.readouterr().out
    assert "| full | 247.0 | 1.00 |" in out and "| deepcache-3 | 134.2 | 1.84 |" in out
    assert "| arch:bk-sdm-v2-small |" in out
