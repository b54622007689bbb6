"""The contract has one source: every generated copy is fresh, the check notices a stale one,
and no limit is typed by hand elsewhere."""

from __future__ import annotations

import copy
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lsd_runtime import protocol
from lsd_runtime.pipeline.pixel_formats import RingSpec

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "shared_protocol" / "schema"
VECTORS = ROOT / "shared_protocol" / "vectors"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lsd_contract_generate", SCHEMA_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_file_is_fresh() -> None:
    gen = _generator()
    schema = gen.Schema(json.loads(gen.SCHEMA.read_text(encoding="utf-8")))
    stale = [
        str(p.relative_to(ROOT))
        for p, text in gen.outputs(schema).items()
        if p.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"stale (run python shared_protocol/schema/generate.py): {stale}"


def test_check_mode_exits_zero_when_fresh() -> None:
    result = subprocess.run(
        [sys.executable, str(SCHEMA_DIR / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_a_changed_limit_makes_every_generated_file_stale() -> None:
    """The freshness test can fail: one edited limit changes all five outputs."""
    gen = _generator()
    data = json.loads(gen.SCHEMA.read_text(encoding="utf-8"))
    changed = copy.deepcopy(data)
    next(x for x in changed["limits"] if x["name"] == "max_dimension")["value"] += 1
    fresh = gen.outputs(gen.Schema(data))
    edited = gen.outputs(gen.Schema(changed))
    assert set(fresh) == set(edited) and len(fresh) == 5
    assert all(fresh[p] != edited[p] for p in fresh), [p.name for p in fresh if fresh[p] == edited[p]]


def test_python_contract_matches_the_schema() -> None:
    data = json.loads((SCHEMA_DIR / "protocol.json").read_text(encoding="utf-8"))
    for limit in data["limits"]:
        assert getattr(protocol, limit["name"].upper()) == limit["value"], limit["name"]
    for default in data["defaults"]:
        assert getattr(protocol, "DEFAULT_" + default["name"].upper()) == default["value"], default["name"]
    assert [m["name"] for m in data["messages"]] == list(protocol.MESSAGES)
    assert [v["name"] for v in data["enums"]["error_code"]["values"]] == [c.value for c in protocol.ErrorCode]


def _bind_rings() -> list[dict]:
    rings = []
    for path in sorted(VECTORS.glob("*.json")):
        message = json.loads(path.read_text())["message"]
        if message["t"] == "bind":
            rings += [message["input"], message["output"]]
    assert len(rings) >= 4
    return rings


@pytest.mark.parametrize("ring", _bind_rings(), ids=lambda r: f"{r['width']}x{r['height']}-{r['format']}")
def test_frame_size_formulas_agree_on_golden_binds(ring: dict) -> None:
    spec = RingSpec.from_message(ring)
    pitch = ring.get("pitch", 0)
    assert protocol.slot_bytes(spec.width, spec.height, spec.format, pitch) == spec.size
    assert (
        protocol.frame_bytes(spec.width, spec.height, spec.format, pitch)
        == spec.pitch * (spec.height - 1) + spec.width * spec.bytes_per_pixel
    )


def test_no_protocol_limit_literal_outside_the_contract() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_contract_literals.py")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_the_literal_check_finds_a_limit_typed_by_hand(tmp_path: Path) -> None:
    """The check can fail: in a scratch repository, a hand-typed limit is reported (each
    spelling), one marked as meaning something else is not, and neither is the schema."""
    spec = importlib.util.spec_from_file_location(
        "check_literals", ROOT / "scripts" / "check_contract_literals.py"
    )
    assert spec is not None and spec.loader is not None
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    schema = "MAX = 8192\n"  # not a protocol limit: the check's own input
    cpp = "size_t cap = 1 << 31;\nint other = 4097;\n"  # not a protocol limit: input
    cs = "const int Max = 64 * 1024;\n"  # not a protocol limit: input
    (tmp_path / "shared_protocol" / "schema").mkdir(parents=True)
    (tmp_path / "shared_protocol" / "schema" / "gen.py").write_text(schema)
    (tmp_path / "a.py").write_text("MAX_DIMENSION = 8192\nhidden = 2048  # not a protocol limit\n")
    (tmp_path / "b.cpp").write_text(cpp)
    (tmp_path / "c.cs").write_text(cs)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    found = sorted(line.split(":")[0] + ":" + line.split(":")[1] for line in check.offending_lines(tmp_path))
    assert found == ["a.py:1", "b.cpp:1", "c.cs:1"]
