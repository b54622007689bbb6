"""The Unreal plugin's native-call code, compiled with g++ and linked against the native
library, streams a frame through a real runtime; and frames with motion and depth planes,
converted from Unreal-encoded readbacks by the plugin's logic, arrive exactly (planes style)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lsd_runtime.tools.runtime_process import RuntimeProcess
from support.unreal import NATIVE_BUILD, compile_logic_test

NEEDS_GXX = pytest.mark.skipif(
    shutil.which("g++") is None, reason="g++ is not installed: the plain C++ test cannot be built"
)


@NEEDS_GXX
@pytest.mark.skipif(
    not (NATIVE_BUILD / "liblsd_bridge.so").exists(),
    reason="native client not built (shared_protocol/native/build/liblsd_bridge.so)",
)
def test_native_session_streams_through_real_runtime(tmp_path: Path) -> None:
    exe = tmp_path / "plugin_logic_test_linked"
    link = ["-DLSD_TEST_LINK_NATIVE", f"-L{NATIVE_BUILD}", "-llsd_bridge", f"-Wl,-rpath,{NATIVE_BUILD}"]
    compile_logic_test(link, exe)
    with RuntimeProcess() as rt:
        env = {**os.environ, "LSD_TEST_STATE_DIR": str(rt.state_dir)}
        result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stdout + result.stderr + rt.log()
    assert "ok live session" in result.stdout
    # bind with planes, planes style: exact bytes for a frame with both planes, one with none
    # (a plane readback not ready: colour only) and a camera cut (reset, depth only)
    assert "ok live planes" in result.stdout
