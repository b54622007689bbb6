"""The engine's planes: conventions turned into one, resized without blending depth edges, and
the `planes` style that shows what a backend received."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lsd_runtime.backends import effects_cpu
from lsd_runtime.backends.effects import planes_view
from lsd_runtime.pipeline.pixel_formats import RingSpec
from lsd_runtime.pipeline.planes import (
    DepthPlane,
    MotionPlane,
    PlaneSpec,
    depth_to_model,
    linear_depth,
    motion_pixels,
    motion_to_model,
    plane_view,
    planes_of_bind,
    write_plane,
)

CPU = torch.device("cpu")


def test_uv_motion_with_y_up_becomes_pixels_down_the_image():
    raw = np.zeros((4, 8, 2), np.float16)
    raw[..., 0] = 0.25  # a quarter of the width to the right
    raw[..., 1] = 0.5  # half the height up (Unity's UV space)
    mv = motion_pixels(raw, MotionPlane("rg16f", units="uv", y_up=True), width=8, height=4)
    assert mv.dtype == np.float32
    assert np.array_equal(mv[..., 0], np.full((4, 8), 2.0, np.float32))
    assert np.array_equal(mv[..., 1], np.full((4, 8), -2.0, np.float32))


def test_backward_flow_is_negated_and_nan_is_still():
    raw = np.array([[[3.0, -1.0], [np.nan, np.inf]]], np.float32)
    mv = motion_pixels(raw, MotionPlane("rg32f", sign="previous_minus_current"), width=2, height=1)
    assert mv.tolist() == [[[-3.0, 1.0], [0.0, 0.0]]]


@pytest.mark.parametrize("z", [0.3, 1.0, 7.5, 120.0, 999.0])
def test_device_depth_is_linearised_for_both_z_conventions(z):
    near, far = 0.3, 1000.0
    d = far * (z - near) / (z * (far - near))  # what a conventional depth buffer stores
    conv = linear_depth(np.array([[d]], np.float32), DepthPlane("r32f", "device", False, near, far))
    rev = linear_depth(np.array([[1.0 - d]], np.float32), DepthPlane("r32f", "device", True, near, far))
    assert conv[0, 0] == pytest.approx(z, rel=1e-3)
    assert rev[0, 0] == pytest.approx(z, rel=1e-3)


def test_infinite_far_plane_and_sky_stay_finite():
    near = 0.1
    raw = np.array([[near / 4.0, 0.0]], np.float32)  # reversed-Z, infinite far: d = near / z
    z = linear_depth(raw, DepthPlane("r32f", "device", True, near, 0.0))
    assert z[0, 0] == pytest.approx(4.0, rel=1e-5)
    assert np.isfinite(z[0, 1]) and z[0, 1] >= 1e5


def test_bottom_up_planes_are_read_top_row_first():
    ring = RingSpec(3, 2, "bgra8", 12, True, "srgb", 2)
    spec = PlaneSpec.beside(ring, "r32f")
    buf = bytearray(spec.size)
    values = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
    write_plane(buf, spec, values)
    stored = np.frombuffer(bytes(buf), np.float32).reshape(2, 3)
    assert stored.tolist() == [[4.0, 5.0, 6.0], [1.0, 2.0, 3.0]]  # bottom row first in memory
    assert plane_view(buf, spec)[..., 0].tolist() == values.tolist()


def test_padded_plane_rows_keep_the_padding_untouched():
    ring = RingSpec(2, 2, "rgba8", 8, False, "srgb", 1)
    spec = PlaneSpec.beside(ring, "rg16f", pitch=12)
    buf = bytearray(b"\xee" * spec.size)
    write_plane(buf, spec, np.ones((2, 2, 2), np.float32))
    assert bytes(buf[8:12]) == b"\xee" * 4 and bytes(buf[20:24]) == b"\xee" * 4


def test_plane_pitch_must_fit_the_row():
    ring = RingSpec(10, 2, "rgba8", 40, False, "srgb", 1)
    with pytest.raises(ValueError, match="multiple of 4 and at least 40"):
        PlaneSpec.beside(ring, "rg16f", pitch=38)


def test_motion_is_scaled_with_the_image():
    mv = np.zeros((8, 16, 2), np.float32)
    mv[..., 0], mv[..., 1] = 10.0, -4.0
    t = motion_to_model(mv, 8, 4, CPU)
    assert t.shape == (1, 2, 4, 8)
    assert torch.equal(t[0, 0], torch.full((4, 8), 5.0)) and torch.equal(t[0, 1], torch.full((4, 8), -2.0))


def test_shrunk_depth_takes_the_nearest_surface_never_a_blend():
    depth = np.full((4, 4), 100.0, np.float32)
    depth[1, 2] = 2.0  # a thin near object
    t = depth_to_model(depth, 2, 2, CPU)
    assert t[0, 0].tolist() == [[100.0, 2.0], [100.0, 100.0]]
    grown = depth_to_model(np.array([[1.0, 9.0]], np.float32), 4, 2, CPU)
    assert set(grown.flatten().tolist()) == {1.0, 9.0}


def test_plane_fields_without_a_format_are_refused():
    with pytest.raises(ValueError, match="'motion_units' describes a motion plane"):
        planes_of_bind({"motion_units": "uv"})
    with pytest.raises(ValueError, match="'depth_near' > 0"):
        planes_of_bind({"depth_format": "r32f", "depth_kind": "device", "depth_far": 10.0})
    with pytest.raises(ValueError, match="'depth_far' 0.5 must be beyond 'depth_near' 1"):
        planes_of_bind({"depth_format": "r32f", "depth_kind": "device", "depth_near": 1.0, "depth_far": 0.5})


def test_planes_style_shows_exactly_what_arrived():
    image = np.zeros((2, 3, 3), np.uint8)
    motion = np.array([[[1, -2], [0, 0], [200, -300]], [[-5, 5], [0.4, 0.6], [0, 0]]], np.float32)
    depth = np.array([[1, 2, 3], [254.6, 300, -1]], np.float32)
    out = effects_cpu.planes_view(image, motion, depth)
    assert out[..., 0].tolist() == [[129, 128, 255], [123, 128, 128]]
    assert out[..., 1].tolist() == [[126, 128, 0], [133, 129, 128]]
    assert out[..., 2].tolist() == [[1, 2, 3], [255, 255, 0]]
    torch_out = planes_view(
        torch.zeros(1, 3, 2, 3),
        torch.from_numpy(motion).permute(2, 0, 1).unsqueeze(0),
        torch.from_numpy(depth).view(1, 1, 2, 3),
    )
    assert np.array_equal((torch_out[0].permute(1, 2, 0) * 255).round().byte().numpy(), out)
    assert effects_cpu.planes_view(image, None, None).reshape(-1, 3).tolist() == [[128, 128, 0]] * 6
