"""``lsd-runtime run``: a video file restyled into a video file, and the errors a user meets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from test_sdk import H, W, read_video, reference, scene_rgb, write_video


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lsd_runtime", "run", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_run_restyles_a_file_into_a_file(tmp_path: Path):
    src, dst = tmp_path / "in.avi", tmp_path / "out.mkv"
    write_video(src, scene_rgb(16), fps=25.0)
    proc = run_cli(
        "--input", str(src), "--output", str(dst), "--prompt", "an infrared heat camera", "--frames", "12"
    )
    assert proc.returncode == 0, proc.stderr
    assert "restyled 12 of 12 frames" in proc.stdout and "style thermal" in proc.stdout
    assert "FPS restyled" in proc.stdout and "capture to display" in proc.stdout
    assert "12/12" in proc.stderr  # the progress bar
    decoded, _ = read_video(src)
    out, fps = read_video(dst)
    assert len(out) == 12 and fps == 25.0 and out[0].shape == (H, W, 3)
    for got, image in zip(out, decoded[:12], strict=True):
        assert np.array_equal(got, reference(image, "thermal"))


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("lsd-runtime run: ")
    return lines[0]


def test_run_errors_are_one_line_with_exit_code_2(tmp_path: Path):
    line = _one_line_error(run_cli("--input", "7", "--output", str(tmp_path / "o.avi")))
    assert "no camera at index 7" in line
    line = _one_line_error(run_cli("--input", str(tmp_path / "missing.mp4"), "--output", "o.avi"))
    assert "missing.mp4': no such file" in line
    write_video(tmp_path / "in.avi", scene_rgb(4))
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    line = _one_line_error(run_cli("--input", str(tmp_path / "in.avi"), "--preview", env=env))
    assert "cannot open a preview window: no display" in line and "--output out.avi" in line
    line = _one_line_error(run_cli("--input", str(tmp_path / "in.avi"), "--output", "x.avi", "--size", "9"))
    assert "size '9' must look like WIDTHxHEIGHT" in line
