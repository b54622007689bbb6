"""The command line a newcomer uses: demo, bench, doctor, apply, help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from lsd_runtime.backends import StyleRequest, create_backend
from lsd_runtime.pipeline.frame_pipeline import FramePipeline
from lsd_runtime.pipeline.pixel_formats import RingSpec
from lsd_runtime.tools.scene import render


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lsd_runtime", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_names_every_command():
    out = cli("--help").stdout
    for command in ("serve", "demo", "bench", "doctor", "apply"):
        assert command in out


def test_demo_writes_gif_sheet_and_latency(tmp_path: Path):
    proc = cli(
        "demo",
        "--out",
        str(tmp_path),
        "--frames",
        "24",
        "--width",
        "96",
        "--height",
        "64",
        "--styles",
        "toon,thermal",
    )
    assert proc.returncode == 0, proc.stderr
    gif = Image.open(tmp_path / "result.gif")
    assert gif.n_frames >= 12 and gif.size == (192, 64)  # engine | restyled, side by side
    sheet = Image.open(tmp_path / "contact_sheet.png")
    assert sheet.size[0] == 4 * 96 and sheet.size[1] > 2 * 64
    summary = json.loads((tmp_path / "latency.json").read_text())
    # every tick's frame is submitted or skipped (no free slot: the game never waits), and every
    # submitted frame is answered, restyled or dropped: what the loop promises on any load
    assert summary["submitted"] + summary["skipped"] == 24
    assert summary["engine_planes"] is True  # the scene's depth and motion went with the frames
    assert summary["restyled"] + summary["dropped"] == summary["submitted"]
    assert summary["restyled"] >= 1
    p50, p99 = summary["stages_ms"]["total (runtime)"]
    assert 0 < p50 <= p99
    assert "| backend (runtime) |" in (tmp_path / "latency.md").read_text()


def test_bench_reports_shm_beside_inline(tmp_path: Path):
    out = tmp_path / "bench.json"
    proc = cli("bench", "--sizes", "64x64,128x96", "--frames", "20", "--warmup", "2", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [(r["transport"], r["width"]) for r in rows] == [
        ("shm", 64),
        ("inline", 64),
        ("shm", 128),
        ("inline", 128),
    ]
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
    proc = cli(
        "apply",
        "--style",
        "neon_edges",
        "--width",
        "80",
        "--height",
        "48",
        "--input",
        str(tmp_path / "in.raw"),
        "--output",
        str(tmp_path / "out.raw"),
    )
    assert proc.returncode == 0, proc.stderr
    spec = RingSpec(80, 48, "rgba8")
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style="neon_edges"))
    expected = FramePipeline(spec, spec, 80, 48).run_array(backend, image)
    got = np.frombuffer((tmp_path / "out.raw").read_bytes(), np.uint8).reshape(48, 80, 4)
    assert np.array_equal(got, expected)


def test_apply_names_a_wrong_size(tmp_path: Path):
    (tmp_path / "in.raw").write_bytes(b"\0" * 100)
    proc = cli(
        "apply",
        "--width",
        "80",
        "--height",
        "48",
        "--input",
        str(tmp_path / "in.raw"),
        "--output",
        str(tmp_path / "out.raw"),
    )
    assert proc.returncode == 2 and "is 100 bytes" in proc.stderr and "15360" in proc.stderr


def test_effects_bench_prints_and_records_a_row_per_style_and_size(tmp_path: Path):
    md = tmp_path / "BENCH.md"
    md.write_text("# B\n\n<!-- effects-bench -->\n\n## after\n")
    proc = cli(
        "bench", "--backend", "effects", "--styles", "toon,watercolor", "--sizes", "64x48,96x64",
        "--frames", "3", "--warmup", "1", "--torch-frames", "3", "--markdown", str(md),
        "--json", str(tmp_path / "e.json"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((tmp_path / "e.json").read_text())["rows"]
    assert [(r["style"], r["width"]) for r in rows] == [
        ("toon", 64), ("watercolour", 64), ("toon", 96), ("watercolour", 96)
    ]  # fmt: skip
    assert all(r["cpu8_p50_ms"] > 0 and r["torch_p50_ms"] > 0 and r["slot_p50_ms"] > 0 for r in rows)
    text = md.read_text()
    assert (
        text.index("| watercolour | 96×64 |") < text.index("<!-- effects-bench -->") < text.index("## after")
    )
    assert "lsd-runtime bench --backend effects --styles toon,watercolor" in text
    bad = cli("bench", "--backend", "effects", "--styles", "oil_paint", "--sizes", "64x48")
    assert bad.returncode != 0 and "no effects style 'oil_paint'" in bad.stderr


def test_styles_lists_every_style_and_draws_the_contact_sheet(tmp_path: Path):
    from lsd_runtime.backends.effects import EFFECTS
    from lsd_runtime.tools.style_sheet import CELL_WIDTH, restyled

    listing = cli("styles").stdout
    assert all(name in listing for name in EFFECTS)
    shot = tmp_path / "game.png"
    Image.fromarray(render(3, 200, 150)[..., :3]).save(shot)
    sheet = tmp_path / "sheet.png"
    proc = cli("styles", "--sheet", str(sheet), "--image", str(shot))
    assert proc.returncode == 0, proc.stderr
    with Image.open(sheet) as im:
        assert im.size[0] == 3 * CELL_WIDTH and im.size[1] > 6 * 200
    # each cell is the runtime's frame pipeline output (the same as the 8-bit effect)
    from lsd_runtime.backends.effects_cpu import apply_effect_u8

    rgb = np.ascontiguousarray(render(3, 64, 48)[..., :3])
    assert np.array_equal(restyled(rgb, "toon"), apply_effect_u8(rgb, "toon"))
    missing = cli("styles", "--sheet", str(sheet), "--image", str(tmp_path / "nope.png"))
    assert missing.returncode != 0 and "nope.png" in missing.stderr


def test_temporal_bench_measures_warping_error_with_and_without_planes(tmp_path: Path):
    out, strip = tmp_path / "temporal.json", tmp_path / "strip.png"
    proc = cli(
        "bench", "--temporal", "--temporal-models", "toon", "--temporal-frames", "6",
        "--temporal-size", "96x64", "--json", str(out), "--strip", str(strip),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    runs = {r["planes"]: r for r in report["runs"]}
    assert set(runs) == {False, True} and report["input_error"] > 0
    # toon's outlines from depth instead of colour edges, and its history moved with the motion
    assert runs[True]["warping_error"] <= 0.5 * runs[False]["warping_error"]
    assert "| toon | engine motion + depth |" in proc.stdout
    with Image.open(strip) as im:
        assert im.size[1] == 64 * 5  # the engine's frames, then each run and its error


def test_warping_error_is_zero_for_the_scene_moved_by_its_own_motion():
    from lsd_runtime.tools.scene import render_frame
    from lsd_runtime.tools.temporal_bench import warp_back, warping_error

    a, b = render_frame(10, 96, 64), render_frame(11, 96, 64)
    # a picture painted on the surfaces (a function of where each surface point was) follows
    # the motion exactly: warped forward it matches, so the measure is ~0; a still copy does not
    moved = warp_back(a.rgba[..., :3].astype(np.float32), b.motion)
    assert warping_error(a.rgba[..., :3], moved.astype(np.uint8), a, b) < 0.6
    assert warping_error(a.rgba[..., :3], a.rgba[..., :3], a, b) > 1.0


def test_soak_bench_samples_memory_descriptors_and_latency(tmp_path: Path):
    out, plot = tmp_path / "soak.json", tmp_path / "soak.png"
    proc = cli(
        "bench", "--soak", "--frames", "400", "--sample-every", "100", "--sizes", "64x48",
        "--model", "sepia", "--json", str(out), "--plot", str(plot),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert [s["frames"] for s in report["samples"]] == [100, 200, 300, 400]
    assert all(
        s["rss_mb"] > 0 and s["fds"] > 0 and s["threads"] > 0 and s["p50_ms"] > 0 for s in report["samples"]
    )
    assert all(s["slots"] == 6 for s in report["samples"])  # one session's 3 + 3 slots, all along
    summary = report["summary"]
    assert summary["frames_done"] >= 400 and summary["runtime_alive"] is True
    assert {"rss_growth_mb", "p50_drift", "fd_growth", "growth_ok", "drift_ok"} <= set(summary)
    assert "runtime RSS growth" in proc.stdout
    with Image.open(plot) as im:
        assert im.size[0] > 500 and im.size[1] > 500
