"""The diffusion backend on tiny random-weight models built here, saved, and loaded from disk."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from lsd_runtime.backends.base import StyleError, StyleRequest  # noqa: E402
from lsd_runtime.backends.diffusion import DiffusionConfig, model_size  # noqa: E402
from lsd_runtime.backends.diffusion.backend import DiffusionBackend  # noqa: E402
from lsd_runtime.backends.diffusion.temporal import LatentPlanes, warp, warp_noise  # noqa: E402
from lsd_runtime.backends.diffusion.tiny_model import build_tiny_model, smooth_images  # noqa: E402

SIZE = 32


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd"))


def make_backend(model_dir: str, config: DiffusionConfig | None = None, **style) -> DiffusionBackend:
    backend = DiffusionBackend("cpu", config or DiffusionConfig(progress=False))
    style.setdefault("prompt", "a cat")
    style.setdefault("strength", 0.5)
    style.setdefault("seed", 1)
    params = style.pop("params", {"steps": 2})
    backend.set_style(StyleRequest(backend="diffusion", style=model_dir, params=params, **style))
    return backend


def run(backend: DiffusionBackend, frames: list[torch.Tensor]) -> list[torch.Tensor]:
    return [backend.process(f) for f in frames]


def panning(n: int, seed: int = 3) -> list[torch.Tensor]:
    """A slow camera pan: a wide smooth image, one pixel further right each frame."""
    wide = torch.nn.functional.interpolate(smooth_images(1, 64, seed), size=(SIZE, 64 + n), mode="bilinear")
    return [wide[..., i : i + SIZE].contiguous() for i in range(n)]


def pairs(items: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return list(zip(items, items[1:], strict=False))


def histogram(x: torch.Tensor, bins: int = 16) -> torch.Tensor:
    return torch.cat([torch.histc(x[0, c], bins=bins, min=0.0, max=1.0) for c in range(3)]) / x[0, 0].numel()


# ---- loading and errors ----------------------------------------------------------------------
def test_loads_tiny_model_from_a_folder_through_the_real_loader(model_dir: str) -> None:
    backend = make_backend(model_dir)
    assert backend.style_name == model_dir
    pipe = backend.pipeline
    assert pipe is not None and pipe.codec.tiny
    out = backend.process(smooth_images(2))
    assert out.shape == (2, 3, SIZE, SIZE) and out.dtype == torch.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_missing_model_names_the_pull_command(model_dir: str, tmp_path: Path) -> None:
    backend = DiffusionBackend("cpu", DiffusionConfig(progress=False, cache_dir=tmp_path))
    with pytest.raises(StyleError) as err:
        backend.set_style(StyleRequest(backend="diffusion", style="sd-turbo"))
    assert err.value.code == "unknown_style"
    assert "lsd-runtime models pull sd-turbo" in err.value.message
    with pytest.raises(StyleError) as err:
        backend.set_style(StyleRequest(backend="diffusion", style=str(tmp_path / "nowhere")))
    assert err.value.code == "unknown_style" and "nowhere" in err.value.message
    # a failed switch leaves a working session as it was
    backend = make_backend(model_dir)
    with pytest.raises(StyleError):
        backend.set_style(StyleRequest(backend="diffusion", style="sdxl-turbo"))
    assert backend.style_name == model_dir
    backend.process(smooth_images(1))


@pytest.mark.parametrize(
    "params,strength",
    [
        ({"stepz": 2}, None),
        ({"steps": 0}, None),
        ({"feedback": 1.5}, None),
        ({"steps": "2"}, None),
        ({}, 1.5),
        ({"guidance": math.nan}, None),
    ],
)
def test_bad_knobs_are_bad_field(model_dir: str, params: dict, strength: float | None) -> None:
    backend = make_backend(model_dir)
    with pytest.raises(StyleError) as err:
        backend.set_style(StyleRequest(backend="diffusion", strength=strength, params=params))
    assert err.value.code == "bad_field"


# ---- determinism and strength -------------------------------------------------------------------
def test_same_seed_same_output_and_seeds_differ(model_dir: str) -> None:
    frames = panning(4)
    a = run(make_backend(model_dir, seed=7), frames)
    b = run(make_backend(model_dir, seed=7), frames)
    c = run(make_backend(model_dir, seed=8), frames)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert all((x - y).abs().mean() > 1e-3 for x, y in zip(a, c, strict=True))


def test_strength_zero_returns_the_input_exactly(model_dir: str) -> None:
    # Exact, not approximate: strength 0 bypasses the VAE (whose round trip is lossy even with
    # trained weights), so the tolerance is zero and the runtime may copy bytes (is_identity).
    backend = make_backend(model_dir, strength=0.0)
    assert backend.is_identity
    for frame in panning(3):
        assert torch.equal(backend.process(frame), frame)


def test_strength_one_ignores_the_input(model_dir: str) -> None:
    x, y = smooth_images(1, seed=11), smooth_images(1, seed=12)
    for steps in (1, 3):
        a = run(make_backend(model_dir, strength=1.0, params={"steps": steps}), [x, x, y])
        b = run(make_backend(model_dir, strength=1.0, params={"steps": steps}), [y, y, x])
        assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(a, b, strict=True))
    # while a middle strength does follow the input
    a = make_backend(model_dir, strength=0.5).process(x)
    b = make_backend(model_dir, strength=0.5).process(y)
    assert (a - b).abs().mean() > 0.01


# ---- no grey frames, prompt switches ----------------------------------------------------------
def _grey_reference(backend: DiffusionBackend) -> torch.Tensor:
    """What a zero latent decodes to: the flat frame StreamDiffusion shows at start."""
    pipe = backend.pipeline
    assert pipe is not None
    return pipe.codec.decode(torch.zeros(1, pipe.codec.channels, SIZE // 8, SIZE // 8))


def _spikes(frames: list[torch.Tensor]) -> list[float]:
    """For each inner frame, how far it jumps away from *both* neighbours (histogram L1)."""
    h = [histogram(f) for f in frames]
    return [
        min((h[i] - h[i - 1]).abs().sum().item(), (h[i] - h[i + 1]).abs().sum().item())
        for i in range(1, len(h) - 1)
    ]


def _mean_spikes(frames: list[torch.Tensor]) -> list[float]:
    m = [f.mean().item() for f in frames]
    return [min(abs(m[i] - m[i - 1]), abs(m[i] - m[i + 1])) for i in range(1, len(m) - 1)]


def test_no_grey_frame_at_start_unlike_zero_initialised_stream(model_dir: str) -> None:
    frames = panning(8)
    ours = make_backend(model_dir, params={"steps": 3})
    out = run(ours, frames)
    grey = _grey_reference(ours)
    steady = torch.stack(out[3:]).std(dim=(1, 2, 3, 4)).median().item()
    for o in out:
        assert o.std().item() > 0.5 * steady  # not blank
        assert (o - grey).abs().mean().item() > 0.1  # not the zero-latent frame
    # negative control: StreamDiffusion's zero-filled batch shows the grey frame first
    zeros = make_backend(model_dir, DiffusionConfig(progress=False, warm_start=False), params={"steps": 3})
    first = run(zeros, frames)[0]
    assert (first - grey).abs().mean().item() < 0.5 * (out[0] - grey).abs().mean().item()


def test_prompt_switch_glides_without_spikes(model_dir: str) -> None:
    n, switch_at = 28, 8
    frames = panning(n)

    def stream(interp: int) -> list[torch.Tensor]:
        backend = make_backend(model_dir, prompt="a cat", params={"steps": 2, "interp_frames": interp})
        outs = []
        for i, f in enumerate(frames):
            if i == switch_at:
                backend.set_style(StyleRequest(backend="diffusion", prompt="red dog"))
            outs.append(backend.process(f))
        return outs

    glide, instant, steady = stream(10), stream(0), stream(10)[:switch_at]
    # the switch changes the picture (else this test would prove nothing)
    assert (histogram(glide[-1]) - histogram(glide[0])).abs().sum() > 0.2
    # Bound: a frame may move away from both neighbours no more than the pan itself moves
    # frames with no switch at all (2x its largest step, plus histogram quantisation slack).
    pan_step = max((histogram(a) - histogram(b)).abs().sum().item() for a, b in pairs(steady))
    pan_mean = max(abs(a.mean().item() - b.mean().item()) for a, b in pairs(steady))
    assert max(_spikes(glide)) <= 2 * pan_step + 0.02
    assert max(_mean_spikes(glide)) <= 2 * pan_mean + 1e-3
    grey = _grey_reference(make_backend(model_dir))
    for o in glide:
        assert o.std().item() > 0.1 and (o - grey).abs().mean().item() > 0.1

    # interpolation spreads the change: the largest frame-to-frame step is smaller than instant
    def biggest_step(outs: list[torch.Tensor]) -> float:
        return max((a - b).abs().mean().item() for a, b in pairs(outs))

    assert biggest_step(glide) < 0.6 * biggest_step(instant)


def test_strength_and_steps_change_mid_stream_keep_the_picture(model_dir: str) -> None:
    backend = make_backend(model_dir, params={"steps": 2})
    frames = panning(10)
    out = run(backend, frames[:4])
    backend.set_style(StyleRequest(backend="diffusion", strength=0.7, params={"steps": 3}))
    out += run(backend, frames[4:])
    grey = _grey_reference(backend)
    assert all((o - grey).abs().mean().item() > 0.1 for o in out)


# ---- temporal stability -------------------------------------------------------------------------
def test_latent_feedback_lowers_flicker_on_a_static_scene(model_dir: str) -> None:
    g = torch.Generator().manual_seed(0)
    scene = smooth_images(1, seed=4)
    # a static scene as an engine renders it: sensor-like jitter of 2% per frame (TAA, dithering)
    frames = [(scene + 0.02 * torch.randn(scene.shape, generator=g)).clamp(0, 1) for _ in range(16)]

    def flicker(feedback: float) -> float:
        outs = run(make_backend(model_dir, params={"steps": 2, "feedback": feedback}), frames)[4:]
        return sum((a - b).abs().mean().item() for a, b in pairs(outs)) / (len(outs) - 1)

    plain, fed = flicker(0.0), flicker(0.7)
    print(f"mean frame-to-frame |diff|: feedback 0: {plain:.5f}, feedback 0.7: {fed:.5f}")
    assert fed < 0.6 * plain


def test_similarity_filter_returns_previous_output_for_identical_frames(model_dir: str) -> None:
    backend = make_backend(
        model_dir, params={"steps": 1, "similarity_threshold": 0.95, "similarity_max_skip": 3}
    )
    frame = smooth_images(1, seed=2)
    first = backend.process(frame)
    pipe = backend.pipeline
    assert pipe is not None
    skipped = 0
    for _ in range(8):
        out = backend.process(frame)
        skipped += pipe.times.skipped
        assert torch.equal(out, first)
    assert 0 < skipped <= 8 - 8 // 4  # skips, but processes at least every 4th frame
    backend.process(smooth_images(1, seed=99))
    assert not pipe.times.skipped  # a different frame always runs


def test_reset_and_new_resolution_restart_cleanly(model_dir: str) -> None:
    backend = make_backend(model_dir, params={"steps": 2})
    a = backend.process(smooth_images(1, seed=5))
    backend.process(smooth_images(1, seed=6))
    b = backend.process(smooth_images(1, seed=5), reset=True)
    assert torch.allclose(a, b, atol=1e-6)  # after a cut the stream is as fresh
    odd = torch.rand(1, 3, 28, 44)  # not multiples of 8: resized inside, answered at size
    assert backend.process(odd).shape == odd.shape
    assert backend.process(torch.rand(1, 3, 24, 40)).shape == (1, 3, 24, 40)


def test_model_size_keeps_aspect_near_512() -> None:
    assert model_size(1920, 1080) == (512, 288)
    assert model_size(1080, 1920) == (288, 512)
    assert model_size(640, 480) == (512, 384)
    assert model_size(1000, 3) == (512, 8)
    backend = DiffusionBackend("cpu", DiffusionConfig(long_side=768, progress=False))
    w, h = backend.model_size(1280, 720)
    assert (w, h) == (768, 432) and w % 8 == 0 and h % 8 == 0


def test_latent_planes_move_content_and_know_what_was_uncovered() -> None:
    latent = torch.zeros(1, 4, 8, 8)
    latent[..., 2, 2] = 1.0
    motion = torch.zeros(1, 2, 64, 64)
    still = LatentPlanes.of(motion, None, (8, 8), None)
    assert still.motion is not None and torch.equal(warp(latent, still.motion), latent)
    motion[:, 0] = 16.0  # everything moved 16 px right = 2 latent pixels
    depth = torch.full((1, 1, 64, 64), 10.0)
    before = LatentPlanes.of(None, depth, (8, 8), None)
    depth_now = depth.clone()
    depth_now[..., :, 48:] = 2.0  # something near came in on the right
    planes = LatentPlanes.of(motion, depth_now, (8, 8), before.depth)
    assert planes.motion is not None and planes.visible is not None
    moved = warp(latent, planes.motion)
    assert moved[0, 0, 2, 4] > 0.99 and moved[0, 0, 2, 2] < 0.01
    seen = planes.visible[0, 0]
    assert torch.all(seen[:, :2] == 0)  # came from off screen
    assert torch.all(seen[:, 6:] == 0)  # the near thing was not there a frame ago
    assert torch.all(seen[:, 2:6] == 1)


def test_warped_noise_keeps_unit_variance_and_whole_pixel_moves_are_copies() -> None:
    g = torch.Generator().manual_seed(3)
    noise = torch.randn(1, 4, 64, 64, generator=g)
    half = torch.zeros(1, 2, 64, 64)
    half[:, 0], half[:, 1] = 0.5, 0.25  # the worst case for bilinear averaging
    moved = warp_noise(noise, half)[..., 2:-2, 2:-2]
    assert abs(float(moved.std()) - 1.0) < 0.05 and abs(float(moved.mean())) < 0.05
    plain = warp(noise, half)[..., 2:-2, 2:-2]
    assert float(plain.std()) < 0.75  # what renormalising fixes
    whole = torch.zeros(1, 2, 64, 64)
    whole[:, 0] = 3.0
    assert torch.allclose(warp_noise(noise, whole)[..., 3:], noise[..., :-3], atol=1e-6)


def test_cuda_only_options_are_skipped_on_cpu(model_dir: str) -> None:
    config = DiffusionConfig(progress=False, compile=True, cuda_graph=True, fp16=True, channels_last=True)
    backend = make_backend(model_dir, config)
    assert backend.pipeline is not None and backend.pipeline.dtype == torch.float32
    assert backend.process(smooth_images(1)).shape == (1, 3, SIZE, SIZE)
