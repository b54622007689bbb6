"""Texture layouts ⇄ tensors: pitch, row order, BGRA, half floats, sRGB."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lsd_runtime.pipeline.pixel_formats import (
    RingSpec,
    from_tensor,
    image_view,
    linear_to_srgb,
    pixel_view,
    srgb_to_linear,
    to_tensor,
)


def test_pitch_and_bottom_up_layout():
    spec = RingSpec(3, 2, "rgba8", pitch=16, bottom_up=True)
    buf = bytearray(spec.size)
    image = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    image_view(buf, spec)[...] = image
    raw = np.frombuffer(bytes(buf), dtype=np.uint8).reshape(2, 16)
    assert raw[0, :12].tolist() == image[1].ravel().tolist()  # bottom row first in memory
    assert raw[1, :12].tolist() == image[0].ravel().tolist()
    assert raw[:, 12:].tolist() == [[0] * 4, [0] * 4]  # padding untouched
    assert pixel_view(buf, spec)[0].tolist() == image[1].tolist()


def test_pitch_rules():
    with pytest.raises(ValueError, match="smaller than a row"):
        RingSpec(10, 10, "rgba8", pitch=39)
    with pytest.raises(ValueError, match="not a multiple"):
        RingSpec(10, 10, "rgba16f", pitch=84)
    assert RingSpec(10, 10, "rgba16f").pitch == 80
    assert RingSpec(10, 10, "rgba16f").color == "linear"
    assert RingSpec(10, 10, "bgra8").color == "srgb"


def test_bgra_is_swizzled():
    spec = RingSpec(8, 8, "bgra8")
    px = np.zeros((8, 8, 4), np.uint8)
    px[..., 0] = 255  # blue in BGRA
    t = to_tensor(px, spec)
    assert t.shape == (1, 3, 8, 8)
    assert t[0, 2].min() == 1.0 and t[0, 0].max() == 0.0
    assert np.array_equal(from_tensor(t, spec)[..., :3], px[..., :3])


def test_uint8_round_trip_is_exact():
    spec = RingSpec(16, 16, "rgba8")
    px = np.random.default_rng(1).integers(0, 256, (16, 16, 4), dtype=np.uint8)
    back = from_tensor(to_tensor(px, spec), spec)
    assert np.array_equal(back[..., :3], px[..., :3])
    assert (back[..., 3] == 255).all()


def test_half_float_linear_round_trip_within_half_precision():
    spec = RingSpec(16, 16, "rgba16f")
    lin = np.random.default_rng(2).random((16, 16, 4)).astype(np.float16)
    back = from_tensor(to_tensor(lin, spec), spec).astype(np.float32)
    assert np.abs(back[..., :3] - lin[..., :3].astype(np.float32)).max() < 2e-3
    assert (back[..., 3] == 1.0).all()


def test_srgb_transfer_matches_float64_reference():
    x = torch.linspace(0, 1, 1001, dtype=torch.float32)
    x64 = x.double()
    ref = torch.where(x64 <= 0.04045, x64 / 12.92, ((x64 + 0.055) / 1.055) ** 2.4)
    assert (srgb_to_linear(x).double() - ref).abs().max() < 1e-6
    assert (linear_to_srgb(srgb_to_linear(x)) - x).abs().max() < 1e-5
