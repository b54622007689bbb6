"""The wheel carries every package, the kernels and the typing marker."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else pytest.importorskip("tomli")


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed() -> None:
    found = {
        ".".join(p.parent.relative_to(ROOT / "python_runtime").parts)
        for p in (ROOT / "python_runtime").rglob("__init__.py")
    }
    listed = set(_setuptools()["packages"])
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    assert listed - found == {"lsd_runtime.kernels"}


def test_kernels_ship_as_a_package() -> None:
    tool = _setuptools()
    assert tool["package-dir"]["lsd_runtime.kernels"] == "kernels"
    assert "*.cu" in tool["package-data"]["lsd_runtime.kernels"]
    from lsd_runtime.pipeline.gpu_kernels import packaged_source

    assert b"lsd_texture_to_tensor" in packaged_source("texture_kernels.cu").read_bytes()


def test_the_kernels_folder_does_not_shadow_a_kernels_package() -> None:
    """transformers imports Hugging Face's ``kernels`` package when it is installed; run from a
    checkout (the repository root on sys.path), a regular package at ``kernels/`` shadowed it and
    every diffusers model failed to load."""
    assert not (ROOT / "kernels" / "__init__.py").exists()


def test_typed_marker_ships() -> None:
    assert (ROOT / "python_runtime" / "lsd_runtime" / "py.typed").is_file()
    assert "py.typed" in _setuptools()["package-data"]["lsd_runtime"]
