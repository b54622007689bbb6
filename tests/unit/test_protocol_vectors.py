"""Every golden vector decodes to its meaning and re-encodes byte-exactly; every invalid
vector is refused with its documented error, both by the codec and by a live runtime."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsd_runtime import protocol

VECTORS = Path(__file__).resolve().parents[2] / "shared_protocol" / "vectors"
VALID = sorted(VECTORS.glob("*.msgpack"))
INVALID = json.loads((VECTORS / "invalid" / "cases.json").read_text())


def _meaning(value):
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return bytes.fromhex(value["$bin"])
        return {k: _meaning(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_meaning(v) for v in value]
    return value


def test_every_message_type_has_a_vector():
    covered = {json.loads(p.with_suffix(".json").read_text())["message"]["t"] for p in VALID}
    assert covered == set(protocol.MESSAGES)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_vector_round_trips(path: Path):
    meta = json.loads(path.with_suffix(".json").read_text())
    raw = path.read_bytes()
    msg = protocol.decode(raw, sender="client" if meta["sender"] == "client" else "runtime")
    assert msg == _meaning(meta["message"])
    assert [type(v) for v in msg.values()] == [type(v) for v in _meaning(meta["message"]).values()]
    assert protocol.encode(msg) == raw
    # key order does not matter to the decoder; the encoder restores the canonical order
    shuffled = dict(reversed(list(msg.items())))
    assert protocol.encode(shuffled) == raw


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c["name"])
def test_invalid_vector_gets_its_code(case):
    raw = (VECTORS / "invalid" / case["file"]).read_bytes()
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.decode(raw, sender=case["sender"])
    err = info.value
    assert (err.code.value, err.request_id, err.ref) == (case["code"], case["id"], case["ref"])
    assert err.message


def test_an_error_reply_always_fits_the_string_limit():
    """A long message (a backend's, a path) is cut, never left to make the client refuse the reply."""
    long = "é" * 300 + " the end"
    msg = protocol.error_reply(protocol.ErrorCode.BAD_FIELD, long, "bind", 7)
    decoded = protocol.decode(protocol.encode(msg), sender="runtime")
    assert decoded["message"].startswith("é" * 50) and decoded["message"].endswith("...")
    assert len(decoded["message"].encode()) <= protocol.MAX_STRING_BYTES
    assert protocol.error_reply(protocol.ErrorCode.BUSY, "short")["message"] == "short"
