"""The command line a newcomer uses: demo, bench, doctor, apply, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from lsd_runtime.backends import StyleRequest, create_backend
from lsd_runtime.frame_pipeline import FramePipeline
from lsd_runtime.pixel_formats import RingSpec
from lsd_runtime.scene import render


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lsd_runtime", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_help_names_every_command():
    out = cli("--help").stdout
    for command in ("serve", "demo", "bench", "doctor", "apply"):
        assert command in out


def test_demo_writes_gif_sheet_and_latency(tmp_path: Path):
    proc = cli("demo", "--out", str(tmp_path), "--frames", "24", "--width", "96", "--height", "64",
               "--styles", "toon,thermal")
    assert proc.returncode == 0, proc.stderr
    gif = Image.open(tmp_path / "result.gif")
    assert gif.n_frames >= 12 and gif.size == (192, 64)  # engine | restyled, side by side
    sheet = Image.open(tmp_path / "contact_sheet.png")
    assert sheet.size[0] == 4 * 96 and sheet.size[1] > 2 * 64
    summary = json.loads((tmp_path / "latency.json").read_text())
    assert summary["restyled"] + summary["dropped"] <= summary["submitted"] == 24
    assert summary["restyled"] >= 12
    p50, p99 = summary["stages_ms"]["total (runtime)"]
    assert 0 < p50 <= p99
    assert "| backend (runtime) |" in (tmp_path / "latency.md").read_text()


def test_bench_reports_shm_beside_inline(tmp_path: Path):
    out = tmp_path / "bench.json"
    proc = cli("bench", "--sizes", "64x64,128x96", "--frames", "20", "--warmup", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [(r["transport"], r["width"]) for r in rows] == [("shm", 64), ("inline", 64), ("shm", 128),
                                                             ("inline", 128)]
    assert all(0 < r["p50_ms"] <= r["p99_ms"] and r["seq_fps"] > 0 for r in rows)
    assert "ratio inline / shm" in proc.stdout


def test_doctor_reports_transports_and_backends():
    proc = cli("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok  transport shm" in proc.stdout and "backend effects" in proc.stdout
    assert "torch" in proc.stdout


def test_apply_matches_the_runtime_pipeline(tmp_path: Path):
    image = render(4, 80, 48)
    (tmp_path / "in.raw").write_bytes(image.tobytes())
    proc = cli("apply", "--style", "neon_edges", "--width", "80", "--height", "48", "--input",
               str(tmp_path / "in.raw"), "--output", str(tmp_path / "out.raw"))
    assert proc.returncode == 0, proc.stderr
    spec = RingSpec(80, 48, "rgba8")
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style="neon_edges"))
    expected = FramePipeline(spec, spec, 80, 48).run_array(backend, image)
    got = np.frombuffer((tmp_path / "out.raw").read_bytes(), np.uint8).reshape(48, 80, 4)
    assert np.array_equal(got, expected)


def test_apply_names_a_wrong_size(tmp_path: Path):
    (tmp_path / "in.raw").write_bytes(b"\0" * 100)
    proc = cli("apply", "--width", "80", "--height", "48", "--input", str(tmp_path / "in.raw"),
               "--output", str(tmp_path / "out.raw"))
    assert proc.returncode == 2 and "is 100 bytes" in proc.stderr and "15360" in proc.stderr
