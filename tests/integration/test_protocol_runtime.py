"""Every invalid golden vector sent raw to a live runtime gets its documented error reply."""

from __future__ import annotations

import json
from pathlib import Path

import zmq

from lsd_runtime import protocol

VECTORS = Path(__file__).resolve().parents[2] / "shared_protocol" / "vectors"
INVALID = json.loads((VECTORS / "invalid" / "cases.json").read_text())


def test_invalid_vectors_against_the_live_runtime(runtime):
    """A raw DEALER sends each invalid vector to the runtime and reads the error reply."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(runtime.endpoint)
    try:
        for case in INVALID:
            sock.send((VECTORS / "invalid" / case["file"]).read_bytes())
            assert sock.poll(5000), f"no reply to {case['name']}"
            reply = protocol.decode(sock.recv(), sender="runtime")
            assert reply["t"] == "error", case["name"]
            assert (reply["code"], reply["id"], reply["ref"]) == (case["code"], case["id"], case["ref"]), (
                case["name"]
            )
    finally:
        sock.close()
        ctx.term()
