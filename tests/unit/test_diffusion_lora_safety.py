"""LoRA adapters and the safety checker on the tiny random-weight models (a tiny random LoRA and a
tiny random safety checker built here, saved, loaded through the real loader)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from lsd_runtime.backends.base import StyleError, StyleRequest  # noqa: E402
from lsd_runtime.backends.diffusion import DiffusionConfig  # noqa: E402
from lsd_runtime.backends.diffusion.safety import SafetyChecker  # noqa: E402
from lsd_runtime.backends.diffusion.tiny_model import (  # noqa: E402
    build_tiny_lora,
    build_tiny_model,
    build_tiny_safety_checker,
    smooth_images,
)
from support.tiny_diffusion import SIZE, make_backend, panning, pipeline_of, run  # noqa: E402

# switchable (peft layers, W x + s B A x) vs fused (W + s B A) differ only in float rounding
FUSED_TOL = 1e-5


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd"))


@pytest.fixture(scope="module")
def lora_file(model_dir: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_lora(Path(model_dir), tmp_path_factory.mktemp("lora") / "style.safetensors"))


def one_step(model_dir: str, config: DiffusionConfig | None = None, **params: object) -> list[torch.Tensor]:
    """One step, fixed noise, no glide: each output depends on its frame alone."""
    backend = make_backend(model_dir, config, params={"steps": 1, "interp_frames": 0, **params})
    return run(backend, panning(3))


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def differ(a: list[torch.Tensor], b: list[torch.Tensor], by: float = 1e-3) -> bool:
    return all((x - y).abs().mean() > by for x, y in zip(a, b, strict=True))


# ---- LoRA -----------------------------------------------------------------------------------
@pytest.mark.parametrize("fuse", [False, True])
def test_lora_scale_zero_is_no_lora_and_nonzero_changes_the_output(
    model_dir: str, lora_file: str, fuse: bool
) -> None:
    plain = one_step(model_dir)
    assert same(one_step(model_dir, lora=lora_file, lora_scale=0.0, lora_fuse=fuse), plain)
    styled = one_step(model_dir, lora=lora_file, lora_scale=1.0, lora_fuse=fuse)
    assert differ(styled, plain)


def test_fused_and_switchable_lora_agree(model_dir: str, lora_file: str) -> None:
    fused = one_step(model_dir, lora=lora_file, lora_scale=0.8, lora_fuse=True)
    switchable = one_step(model_dir, lora=lora_file, lora_scale=0.8)
    assert all((a - b).abs().max() <= FUSED_TOL for a, b in zip(fused, switchable, strict=True))


def test_switchable_lora_scale_changes_at_run_time_without_reloading(model_dir: str, lora_file: str) -> None:
    backend = make_backend(
        model_dir, params={"steps": 1, "interp_frames": 0, "lora": lora_file, "lora_scale": 1.0}
    )
    pipe = pipeline_of(backend)
    frames = panning(3)
    styled = run(backend, frames)
    backend.set_style(StyleRequest(backend="diffusion", params={"lora_scale": 0.0}))
    assert backend.pipeline is pipe  # the same loaded weights: no reload, no restart
    assert same(run(backend, frames), one_step(model_dir))
    backend.set_style(StyleRequest(backend="diffusion", params={"lora_scale": 1.0}))
    assert same(run(backend, frames), styled)
    backend.set_style(StyleRequest(backend="diffusion", params={"lora": ""}))  # removed: plain weights
    assert backend.pipeline is not pipe and pipeline_of(backend).lora is None
    assert same(run(backend, frames), one_step(model_dir))


def test_a_lora_in_one_session_leaves_another_sessions_weights_alone(model_dir: str, lora_file: str) -> None:
    plain_before = one_step(model_dir)
    styled = make_backend(model_dir, params={"steps": 1, "lora": lora_file, "lora_fuse": True})
    run(styled, panning(1))
    assert same(one_step(model_dir), plain_before)


def test_lora_by_hub_id_from_the_cache_and_a_clear_error_when_missing(
    model_dir: str, lora_file: str, tmp_path: Path
) -> None:
    repo = tmp_path / "hub" / "models--someone--tiny-style"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    shutil.copy(lora_file, snapshot / "pytorch_lora_weights.safetensors")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    config = DiffusionConfig(progress=False, cache_dir=tmp_path / "hub")
    by_id = one_step(model_dir, config, lora="someone/tiny-style", lora_scale=0.8)
    assert same(by_id, one_step(model_dir, lora=lora_file, lora_scale=0.8))
    backend = make_backend(model_dir, config, params={"steps": 1})
    with pytest.raises(StyleError) as err:
        backend.set_style(StyleRequest(backend="diffusion", params={"lora": "someone/not-pulled"}))
    assert err.value.code == "unknown_style" and "models pull --files someone/not-pulled" in err.value.message
    with pytest.raises(StyleError) as err:
        backend.set_style(StyleRequest(backend="diffusion", params={"lora": "no-such-file.safetensors"}))
    assert err.value.code == "unknown_style"
    backend.process(smooth_images(1))  # the session still works


# ---- safety checker --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("safety")
    return {
        "all": str(build_tiny_safety_checker(root / "flags-all", flag_all=True)),
        "none": str(build_tiny_safety_checker(root / "flags-none", flag_all=False)),
    }


def with_checker(path: str) -> DiffusionConfig:
    return DiffusionConfig(progress=False, safety_checker=True, safety_checker_model=path)


def test_safety_checker_is_off_by_default(model_dir: str) -> None:
    assert pipeline_of(make_backend(model_dir)).safety is None


def test_a_flagged_frame_is_replaced_by_the_input_frame(model_dir: str, checkers: dict[str, str]) -> None:
    backend = make_backend(model_dir, with_checker(checkers["all"]), params={"steps": 1})
    frames = panning(3)
    for frame in frames:
        assert torch.equal(backend.process(frame), frame)
    pipe = pipeline_of(backend)
    assert pipe.work.flagged == 3 and "safety" in pipe.times.stages
    # txt2img has no input worth showing: a flagged frame is black
    backend.set_style(StyleRequest(backend="diffusion", strength=1.0, params={"mode": "txt2img"}))
    assert torch.equal(backend.process(frames[0]), torch.zeros(1, 3, SIZE, SIZE))


def test_an_unflagged_frame_passes_unchanged(model_dir: str, checkers: dict[str, str]) -> None:
    checked = one_step(model_dir, with_checker(checkers["none"]))
    assert same(checked, one_step(model_dir))


def test_the_checker_compares_image_embeddings_with_its_concepts(checkers: dict[str, str]) -> None:
    checker = SafetyChecker.load(Path(checkers["none"]), torch.device("cpu"), torch.float32)
    bad, good = smooth_images(1, seed=30), smooth_images(1, seed=31)
    m = checker.model
    with torch.no_grad():  # make concept 0 this one image, with a threshold only it passes
        m.concept_embeds[0] = m.visual_projection(m.vision_model(checker.preprocess(bad))[1])[0]
        emb = torch.nn.functional.normalize(m.concept_embeds[0:1])
        other = torch.nn.functional.normalize(
            m.visual_projection(m.vision_model(checker.preprocess(good))[1])
        )
        m.concept_embeds_weights[0] = (1.0 + float(other @ emb.t())) / 2  # between the two cosines
    assert checker.flags(torch.cat([bad, good])).tolist() == [True, False]


def test_a_missing_safety_checker_is_a_clear_error(model_dir: str, tmp_path: Path) -> None:
    config = DiffusionConfig(progress=False, safety_checker=True, cache_dir=tmp_path)
    with pytest.raises(StyleError) as err:
        make_backend(model_dir, config)
    assert err.value.code == "unknown_style" and "models pull safety-checker" in err.value.message
