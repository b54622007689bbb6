"""The GPU check's OpenGL host, run here on Mesa's software OpenGL over shm: an EGL context with
no window renders a moving scene into a texture, the native client sends it through a real runtime
(identity), and the result lands in a second texture, pixel for pixel, every frame. On a GPU the
same program registers both textures with CUDA and uses cuda_ipc (scripts/gpu_check.py); here it
also shows that asking for that path without a driver is refused with the reason."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from lsd_runtime.tools.runtime_process import RuntimeProcess

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "shared_protocol" / "native" / "build" / "tests" / "egl_host"

pytestmark = pytest.mark.skipif(
    not HOST.exists(), reason=f"the native tests are not built ({HOST}: shared_protocol/native/run_tests.sh)"
)


def run_host(runtime: RuntimeProcess, *args: str) -> tuple[int, dict]:
    env = dict(os.environ, LSD_DISABLE_CUDA="1", EGL_PLATFORM="surfaceless")
    proc = subprocess.run(
        [str(HOST), "--state-dir", str(runtime.state_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result line (rc {proc.returncode}): {proc.stdout[-500:]} {proc.stderr[-2000:]}"
    return proc.returncode, json.loads(lines[-1])


def test_a_moving_gl_scene_comes_back_exact_through_the_runtime(runtime: RuntimeProcess) -> None:
    rc, result = run_host(runtime, "--frames", "120", "--width", "160", "--height", "96", "--path", "host")
    assert rc == 0, result
    assert (result["frames"], result["exact"], result["transport"], result["zero_copy"]) == (
        120,
        120,
        "shm",
        0,
    )
    assert result["renderer"]  # the GL implementation that drew it (llvmpipe here)


def test_the_gpu_path_without_a_driver_says_why(runtime: RuntimeProcess) -> None:
    rc, result = run_host(runtime, "--frames", "1", "--width", "64", "--height", "32", "--path", "gpu")
    assert rc == 2
    assert result == {
        "error": "cuda_ipc not in use: cuda_ipc: CUDA is disabled (LSD_DISABLE_CUDA is set); "
        "frames go through host memory"
    }
