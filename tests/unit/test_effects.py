"""The effects backend: styles, prompt words, parameters, stability."""

from __future__ import annotations

import pytest
import torch

from lsd_runtime.backends import StyleError, StyleRequest, create_backend
from lsd_runtime.backends.effects import EFFECTS, apply_effect, style_from_prompt
from lsd_runtime.pipeline.frame_pipeline import FramePipeline
from lsd_runtime.pipeline.pixel_formats import RingSpec
from lsd_runtime.tools.scene import render


def frame(i: int = 0, w: int = 96, h: int = 64) -> torch.Tensor:
    rgba = torch.from_numpy(render(i, w, h))
    return (rgba[..., :3].float() / 255).permute(2, 0, 1).unsqueeze(0)


def test_at_least_six_real_styles():
    assert len([s for s in EFFECTS if s != "identity"]) >= 6


@pytest.mark.parametrize("style", list(EFFECTS))
def test_style_output_shape_range_and_difference(style):
    x = frame(5)
    y = apply_effect(x, style)
    assert y.shape == x.shape and y.dtype == torch.float32
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    if style == "identity":
        assert torch.equal(y, x)
    else:
        assert float((y - x).abs().mean()) > 0.02, f"{style} barely changes the frame"


@pytest.mark.parametrize("style", list(EFFECTS))
def test_styles_are_temporally_stable(style):
    """The same frame twice gives the same output: no per-frame randomness."""
    x = frame(3)
    assert torch.equal(apply_effect(x, style), apply_effect(x.clone(), style))


def test_styles_differ_from_each_other():
    x = frame(7)
    outs = {s: apply_effect(x, s) for s in EFFECTS}
    names = list(outs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not torch.equal(outs[a], outs[b]), (a, b)


@pytest.mark.parametrize(
    "prompt,style,word",
    [
        ("underwater Roman empire, in a cartoon style", "toon", "cartoon"),
        ("pencil sketch of a castle", "sketch", "pencil"),
        ("retro 8-bit dungeon", "pixel_art", "retro"),
        ("predator heat vision", "thermal", "predator"),
        ("night raid through goggles", "night_vision", "night"),
        ("a neon cyberpunk city", "neon_edges", "neon"),
        ("soft watercolor landscape", "watercolour", "watercolor"),
        ("vintage western town", "sepia", "vintage"),
    ],
)
def test_prompt_words_pick_styles(prompt, style, word):
    assert style_from_prompt(prompt) == (style, word)
    backend = create_backend("effects")
    result = backend.set_style(StyleRequest(prompt=prompt))
    assert (result.style, result.matched) == (style, word)


def test_unmatched_prompt_falls_back_to_default_and_says_so():
    backend = create_backend("effects")
    result = backend.set_style(StyleRequest(prompt="underwater Roman empire, gold"))
    assert result.style == "toon" and result.matched == ""


def test_strength_blends_with_input():
    backend = create_backend("effects")
    x = frame(2)
    backend.set_style(StyleRequest(style="thermal", strength=0.0))
    assert torch.equal(backend.process(x), x)
    assert backend.is_identity
    backend.set_style(StyleRequest(style="thermal", strength=0.5))
    half = backend.process(x)
    full = apply_effect(x, "thermal")
    assert torch.allclose(half, (x + full) / 2, atol=1e-6)


def test_bad_style_and_params_are_refused_without_change():
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style="toon", params={"levels": 4}))
    with pytest.raises(StyleError) as info:
        backend.set_style(StyleRequest(style="oil_on_canvas"))
    assert info.value.code == "unknown_style" and "toon" in info.value.message
    with pytest.raises(StyleError, match="no parameter 'banana'"):
        backend.set_style(StyleRequest(style="toon", params={"banana": 1}))
    with pytest.raises(StyleError, match="allowed 2..16"):
        backend.set_style(StyleRequest(style="toon", params={"levels": 99}))
    assert backend.style == "toon" and backend.params == {"levels": 4.0}


def test_unknown_backend_is_named():
    with pytest.raises(StyleError) as info:
        create_backend("warp-drive")
    assert info.value.code == "unknown_backend" and "warp-drive" in info.value.message


def test_pipeline_resizes_to_model_and_back():
    spec_in = RingSpec(96, 64, "rgba8")
    spec_out = RingSpec(48, 32, "bgra8")
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style="sepia"))
    out = FramePipeline(spec_in, spec_out, 40, 24).run_array(backend, render(1, 96, 64))
    assert out.shape == (32, 48, 4) and (out[..., 3] == 255).all()
