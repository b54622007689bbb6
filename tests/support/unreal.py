"""Builds the Unreal plugin's engine-independent C++ test with g++ (no engine needed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "unreal_plugin" / "LSDBridge" / "Source" / "LSDBridge"
NATIVE_INCLUDE = ROOT / "shared_protocol" / "native" / "include"
NATIVE_BUILD = ROOT / "shared_protocol" / "native" / "build"
LOGIC_TEST = ROOT / "unreal_plugin" / "Tests" / "plugin_logic_test.cpp"


def compile_logic_test(extra: list[str], out: Path, std: str = "c++17") -> None:
    gxx = shutil.which("g++")
    cmd = [
        gxx,
        f"-std={std}",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-I",
        str(MODULE / "Private"),
        "-I",
        str(NATIVE_INCLUDE),
        str(LOGIC_TEST),
        "-o",
        str(out),
        *extra,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
