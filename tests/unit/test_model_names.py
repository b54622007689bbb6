"""Model names are resolved in one place, the runtime (PROTOCOL.md §11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsd_runtime import protocol
from lsd_runtime.backends.base import StyleError, StyleRequest
from lsd_runtime.backends.effects import EFFECTS
from lsd_runtime.backends.model_names import (
    DEFAULT_MODEL,
    ModelChoice,
    known_models,
    resolve_model,
    resolve_request,
)


@pytest.mark.parametrize(
    "name,backend,style",
    [
        ("toon", "effects", "toon"),
        ("Watercolor", "effects", "watercolour"),
        ("neon", "effects", "neon_edges"),
        ("pixel-art", "effects", "pixel_art"),
        ("Night Vision", "effects", "night_vision"),
        ("effects", "effects", None),
        ("EFFECTS", "effects", None),
        ("effects:sketch", "effects", "sketch"),
        ("effects:pixelart", "effects", "pixel_art"),
        ("effects:", "effects", None),
        ("diffusion", "diffusion", None),
        ("diffusion:sd-turbo", "diffusion", "sd-turbo"),
        ("sd-turbo", "diffusion", "sd-turbo"),
        ("sdxl-turbo", "diffusion", "sdxl-turbo"),
        ("stabilityai/sd-turbo", "diffusion", "stabilityai/sd-turbo"),
    ],
)
def test_names_resolve(name: str, backend: str, style: str | None) -> None:
    assert resolve_model(name) == ModelChoice(backend, style)


def test_a_local_folder_is_a_diffusion_model(tmp_path: Path) -> None:
    assert resolve_model(str(tmp_path)) == ModelChoice("diffusion", str(tmp_path))
    assert resolve_model(f"diffusion:{tmp_path}") == ModelChoice("diffusion", str(tmp_path))


def test_the_canonical_name_selects_the_same_again() -> None:
    for name in ("Watercolor", "effects", "effects:neon", "sd-turbo", "diffusion"):
        choice = resolve_model(name)
        assert resolve_model(choice.name) == choice, name


@pytest.mark.parametrize("name", ["no-such-model", "effects:nope", "", "   ", "C:\\models\\absent"])
def test_unknown_names_are_unknown_style_and_the_message_fits(name: str) -> None:
    with pytest.raises(StyleError) as info:
        resolve_model(name)
    assert info.value.code == "unknown_style"
    assert len(info.value.message.encode()) <= protocol.MAX_STRING_BYTES
    if name.strip():
        assert name.strip().rpartition(":")[2][:20] in info.value.message


def test_requests_without_a_model_use_the_default_and_both_is_refused() -> None:
    assert DEFAULT_MODEL == protocol.DEFAULT_MODEL == "effects"
    assert resolve_request(StyleRequest(prompt="pencil")) == StyleRequest(backend="effects", prompt="pencil")
    assert resolve_request(StyleRequest(model="neon")).style == "neon_edges"
    assert resolve_request(StyleRequest(backend="effects", style="toon")) == StyleRequest(
        backend="effects", style="toon"
    )
    for bad in (
        StyleRequest(model="toon", backend="effects"),
        StyleRequest(model="toon", style="toon"),
        StyleRequest(style="toon"),
    ):
        with pytest.raises(StyleError) as info:
            resolve_request(bad)
        assert info.value.code == "bad_field"


def test_known_models_list_every_effect_and_the_diffusion_names_only_when_offered() -> None:
    names = known_models(["effects"])
    assert set(EFFECTS) <= set(names) and "watercolor" in names and "effects" in names
    assert "sd-turbo" not in names
    assert {"diffusion", "sd-turbo"} <= set(known_models(["effects", "diffusion"]))
    assert len(known_models(["effects", "diffusion"])) <= protocol.MAX_LIST
