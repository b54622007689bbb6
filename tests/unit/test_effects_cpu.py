"""The 8-bit CPU effects (OpenCV): agreement with the torch effects that CUDA and MPS run, the
frame pipeline's 8-bit path, determinism, and the looks (no banding in smooth gradients)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lsd_runtime.backends import StyleRequest, create_backend
from lsd_runtime.backends import effects_cpu as cpu
from lsd_runtime.backends.effects import EFFECTS, apply_effect
from lsd_runtime.pipeline.frame_pipeline import FramePipeline
from lsd_runtime.pipeline.pixel_formats import RingSpec, image_view
from lsd_runtime.tools.scene import as_format, render

pytestmark = pytest.mark.skipif(not cpu.AVAILABLE, reason="OpenCV (a runtime dependency) is not installed")

# How far the 8-bit CPU effect may be from the torch one (what CUDA/MPS compute), in 8-bit
# levels: the mean absolute difference, and the share of values more than 16 levels apart.
# The paths round between steps differently, so a pixel right at a threshold (an ink line, a
# band edge, a pixel-art block boundary at a size the block does not divide) can land on the
# other side; everywhere else they agree within a few levels.
TOLERANCE: dict[str, tuple[float, float]] = {
    "identity": (0.0, 0.0),
    "toon": (3.0, 0.025),
    "sketch": (4.0, 0.005),
    "pixel_art": (1.0, 0.01),
    "thermal": (0.5, 0.0),
    "night_vision": (0.5, 0.0),
    "neon_edges": (4.0, 0.02),
    "watercolour": (1.5, 0.001),
    "sepia": (0.5, 0.0),
    "planes": (0.0, 0.0),
}
SIZES = [(96, 64, 5), (160, 90, 1), (333, 187, 9), (640, 360, 20)]


def rgb_frame(index: int, w: int, h: int) -> np.ndarray:
    return np.ascontiguousarray(render(index, w, h)[..., :3])


def torch_u8(rgb: np.ndarray, style: str, strength: float = 1.0) -> np.ndarray:
    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    y = apply_effect(x, style, strength=strength)[0].permute(1, 2, 0).numpy()
    return np.round(y.astype(np.float64) * 255.0).astype(np.uint8)


def test_every_style_has_an_8bit_version():
    assert set(cpu.STYLES) == set(EFFECTS)


@pytest.mark.parametrize("style", list(EFFECTS))
def test_cpu_effect_agrees_with_torch_within_stated_tolerance(style):
    mean_bound, far_bound = TOLERANCE[style]
    for w, h, i in SIZES:
        rgb = rgb_frame(i, w, h)
        out = cpu.apply_effect_u8(rgb, style)
        assert out.shape == rgb.shape and out.dtype == np.uint8
        d = np.abs(out.astype(np.int16) - torch_u8(rgb, style).astype(np.int16))
        assert d.mean() <= mean_bound, f"{style} at {w}x{h}: mean difference {d.mean():.2f}"
        assert (d > 16).mean() <= far_bound, f"{style} at {w}x{h}: {(d > 16).mean():.4f} far apart"


@pytest.mark.parametrize("style", [s for s in EFFECTS if s != "identity"])
def test_cpu_effect_changes_the_frame_and_is_stable(style):
    rgb = rgb_frame(3, 160, 90)
    a = cpu.apply_effect_u8(rgb, style)
    assert np.abs(a.astype(np.int16) - rgb).mean() > 5, f"{style} barely changes the frame"
    assert np.array_equal(a, cpu.apply_effect_u8(rgb.copy(), style))


def test_cpu_effects_do_not_depend_on_the_thread_count():
    rgb = rgb_frame(4, 640, 360)
    one = {s: cpu.apply_effect_u8(rgb, s) for s in EFFECTS}
    try:
        cpu.cv2.setNumThreads(2)
        for s in EFFECTS:
            assert np.array_equal(cpu.apply_effect_u8(rgb, s), one[s]), s
    finally:
        cpu.cv2.setNumThreads(1)


def test_strength_blends_the_8bit_frame():
    rgb = rgb_frame(2, 96, 64)
    full = cpu.apply_effect_u8(rgb, "thermal").astype(np.int16)
    half = cpu.apply_effect_u8(rgb, "thermal", strength=0.5).astype(np.int16)
    assert np.abs(half - (full + rgb) / 2.0).max() <= 1.0


def test_params_reach_the_8bit_effect():
    rgb = rgb_frame(6, 160, 90)
    few = cpu.apply_effect_u8(rgb, "toon", {"levels": 2})
    many = cpu.apply_effect_u8(rgb, "toon", {"levels": 12})
    assert np.abs(few.astype(np.int16) - many).mean() > 5


@pytest.mark.parametrize("toon_path", ["cpu", "torch"])
def test_toon_keeps_a_smooth_sky_smooth(toon_path):
    """A slow gradient (a sky) once showed hard seams 1/4 of the range high; the soft levels
    step across a band edge over many pixels instead."""
    w = 1024
    ramp = np.linspace(40, 230, w).astype(np.uint8)
    sky = np.ascontiguousarray(np.stack([ramp, ramp, np.full(w, 240, np.uint8)], -1)[None].repeat(32, 0))
    out = cpu.apply_effect_u8(sky, "toon") if toon_path == "cpu" else torch_u8(sky, "toon")
    row = out[16].astype(np.int16)
    steps = np.abs(np.diff(row, axis=0)).max()
    # one input level is 5 columns here; a hard band edge would be a step of 64 levels
    assert steps <= 10, f"largest step between neighbouring columns: {steps} levels"
    assert len(np.unique(row[:, 0])) > 5  # still posterised: not the ramp passed through


def ring_bytes(rgba: np.ndarray, spec: RingSpec) -> bytearray:
    buf = bytearray(spec.size)
    image_view(buf, spec)[...] = as_format(rgba, spec.format)
    return buf


@pytest.mark.parametrize(
    "spec",
    [
        RingSpec(96, 64, "rgba8"),
        RingSpec(96, 64, "bgra8", bottom_up=True),
        RingSpec(90, 50, "bgra8", pitch=90 * 4 + 64),
    ],
    ids=["rgba8", "bgra8-bottom-up", "bgra8-pitch"],
)
def test_pipeline_8bit_path_equals_the_effect_on_the_image(spec):
    rgba = render(8, spec.width, spec.height)
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style="watercolour"))
    dst = bytearray(spec.size)
    FramePipeline(spec, spec, spec.width, spec.height).run(backend, ring_bytes(rgba, spec), dst)
    got = image_view(dst, spec)
    expected = cpu.apply_effect_u8(np.ascontiguousarray(rgba[..., :3]), "watercolour")
    assert np.array_equal(got[..., :3] if spec.format == "rgba8" else got[..., 2::-1], expected)
    assert (got[..., 3] == 255).all()


def test_pipeline_takes_the_torch_path_when_frames_are_not_8bit_srgb_at_model_size(monkeypatch):
    calls: list[str] = []
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style="sepia"))
    original = type(backend).process_image

    def spy(self, image, **planes):
        calls.append("8bit")
        return original(self, image, **planes)

    monkeypatch.setattr(type(backend), "process_image", spy)
    rgba = render(2, 64, 48)
    FramePipeline(RingSpec(64, 48), RingSpec(64, 48), 64, 48).run_array(backend, rgba)
    assert calls == ["8bit"]
    FramePipeline(RingSpec(64, 48), RingSpec(64, 48), 32, 24).run_array(backend, rgba)  # resized
    FramePipeline(RingSpec(64, 48, "rgba16f"), RingSpec(64, 48), 64, 48).run_array(
        backend, as_format(rgba, "rgba16f")
    )
    assert calls == ["8bit"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: the torch effects on the GPU")
@pytest.mark.parametrize("style", list(EFFECTS))
def test_cuda_effect_agrees_with_the_cpu_one(style):
    mean_bound, far_bound = TOLERANCE[style]
    rgb = rgb_frame(9, 333, 187)
    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float().cuda() / 255.0
    y = apply_effect(x, style)[0].permute(1, 2, 0).cpu().numpy()
    gpu = np.round(y.astype(np.float64) * 255.0)
    d = np.abs(cpu.apply_effect_u8(rgb, style) - gpu)
    assert d.mean() <= mean_bound and (d > 16).mean() <= far_bound
