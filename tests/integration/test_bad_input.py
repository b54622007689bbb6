"""Bad input never crashes the runtime nor disturbs a healthy session beside it."""

from __future__ import annotations

import random
import threading

import msgpack
import numpy as np
import pytest
import zmq

from lsd_runtime import protocol
from lsd_runtime.client import RuntimeClient, RuntimeReplyError
from lsd_runtime.tools.scene import render
from lsd_runtime.transport.shm import SHM_KINDS

FUZZ_MESSAGES = 10_000
CODES = {c.value for c in protocol.ErrorCode}


def valid_templates(token: str) -> list[dict]:
    ring = {"width": 64, "height": 64, "format": "rgba8"}
    return [
        {"t": "hello", "v": 1, "id": 1, "token": token, "client": "fuzz", "transports": ["shm"]},
        {"t": "bind", "v": 1, "id": 2, "transport": "shm", "input": dict(ring), "output": dict(ring)},
        {"t": "set_style", "v": 1, "id": 3, "backend": "effects", "style": "toon", "strength": 0.5},
        {"t": "frame", "v": 1, "id": 4, "slot": 0, "time": 1.0, "flags": 0, "release": []},
        {"t": "release", "v": 1, "id": 5, "slots": [0]},
        {"t": "get_stats", "v": 1, "id": 6},
        {"t": "ping", "v": 1, "id": 7, "time": 1.0},
    ]


# values of the wrong type or out of range for a field currently holding a value of this type
JUNK = {
    int: [None, True, 1.5, float("nan"), "", "x" * 300, b"\x00\xff", [], {}, -1, -(2**63)],
    float: [None, False, float("nan"), float("inf"), "1.0", b"", [], {"a": 1}],
    str: [None, True, -1, 1.5, b"\x00", [], {}, "x" * 300],
    list: [None, 1, "a", {}, [1, "a"], [None], list(range(65))],
    dict: [None, 1, "a", [], {}, {"a": 1}, {1: 2}],
}


def break_message(rng: random.Random, msg: dict) -> bytes:
    """A message that is invalid by construction (each kind has a known error)."""
    kind = rng.randrange(9)
    m = dict(msg)
    if kind == 0:  # random bytes
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if kind == 1:  # truncated encoding
        raw = msgpack.packb(m, use_bin_type=True)
        return raw[: rng.randrange(1, len(raw))]
    if kind == 2:  # a required field removed
        required = ["t", "v", "id"] + [f.name for f in protocol.MESSAGES[m["t"]].fields if f.required]
        del m[rng.choice(required)]
    elif kind == 3:  # a field replaced by junk of the wrong type
        key = rng.choice([k for k in m if k != "t"])
        m[key] = rng.choice(JUNK[type(m[key])])
    elif kind == 4:  # unknown or wrong-direction type
        m["t"] = rng.choice(["teleport", "welcome", "frame_done", "", "FRAME", "error"])
    elif kind == 5:  # wrong version
        m["v"] = rng.choice([0, 2, 99, -1, 2**40])
    elif kind == 6:  # oversize
        m["pad"] = "z" * (protocol.MAX_MESSAGE_BYTES + rng.randrange(1, 5000))
    elif kind == 7:  # not a map
        return msgpack.packb(rng.choice([[1, 2], "frame", 42, None, 1.5]))
    else:  # a nested ring broken
        m = {
            "t": "bind",
            "v": 1,
            "id": 9,
            "transport": "shm",
            "input": {"width": rng.choice([0, 7, 9000, -5]), "height": 64, "format": "rgba8"},
            "output": {"width": 64, "height": 64, "format": rng.choice(["rgba8", "nv12", ""])},
        }
    return msgpack.packb(m, use_bin_type=True)


def test_fuzzed_messages_each_get_an_error_and_a_healthy_session_keeps_streaming(runtime):
    rng = random.Random(1234)
    stop = threading.Event()
    healthy_errors: list[BaseException] = []
    healthy_frames = [0]

    def healthy() -> None:
        try:
            with RuntimeClient(runtime.endpoint, runtime.token) as client:
                client.bind(96, 64, "rgba8")
                client.set_style(style="identity")
                i = 0
                while not stop.is_set():
                    image = render(i % 30, 96, 64)
                    out = client.process(image)
                    assert np.array_equal(out, image), f"healthy frame {i} was corrupted"
                    i += 1
                healthy_frames[0] = i
                assert client.stats()["errors"] == 0
        except BaseException as exc:
            healthy_errors.append(exc)

    worker = threading.Thread(target=healthy)
    worker.start()

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(runtime.endpoint)
    try:
        # half the messages come from a socket with a live, bound session, half from none
        sock.send(
            protocol.pack("hello", 1, token=runtime.token, client="fuzz", transports=["shm"], shm=SHM_KINDS)
        )
        assert protocol.decode(sock.recv(), "runtime")["t"] == "welcome"
        templates = valid_templates(runtime.token)
        codes: dict[str, int] = {}
        for n in range(FUZZ_MESSAGES):
            payload = break_message(rng, rng.choice(templates))
            sock.send(payload)
            assert sock.poll(5000), f"no reply to fuzz message {n}: {payload[:60]!r}"
            reply = protocol.decode(sock.recv(), "runtime")
            assert reply["t"] == "error", f"message {n} {payload[:60]!r} got {reply}"
            assert reply["code"] in CODES and reply["message"]
            codes[reply["code"]] = codes.get(reply["code"], 0) + 1
        assert not sock.poll(200), "an extra reply arrived"
        # the fuzzing session itself is intact
        sock.send(protocol.pack("get_stats", 77))
        stats = protocol.decode(sock.recv(), "runtime")
        assert stats["t"] == "stats" and stats["id"] == 77 and stats["errors"] >= 1
    finally:
        stop.set()
        worker.join(60)
        sock.close()
        ctx.term()
    assert not healthy_errors, healthy_errors[0]
    assert healthy_frames[0] > 10
    assert runtime.alive()
    assert {
        "malformed",
        "too_large",
        "missing_field",
        "bad_field",
        "version_mismatch",
        "unknown_type",
    } <= set(codes), codes


def test_wrong_token_is_refused(runtime):
    client = RuntimeClient(runtime.endpoint, "0" * 64)
    with pytest.raises(RuntimeReplyError) as info:
        client.connect()
    client.close()
    assert info.value.code == "auth_failed" and "token" in info.value.message


def test_version_mismatch_names_both_versions(runtime):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(runtime.endpoint)
    try:
        sock.send(
            msgpack.packb(
                {
                    "t": "hello",
                    "v": 2,
                    "id": 9,
                    "token": runtime.token,
                    "client": "next",
                    "transports": ["shm"],
                }
            )
        )
        assert sock.poll(5000)
        reply = protocol.decode(sock.recv(), "runtime")
        assert (reply["t"], reply["code"], reply["id"]) == ("error", "version_mismatch", 9)
        assert "v2" in reply["message"] and "v1" in reply["message"]
        # the same socket may then say hello in v1
        sock.send(
            protocol.pack("hello", 10, token=runtime.token, client="next", transports=["shm"], shm=SHM_KINDS)
        )
        assert protocol.decode(sock.recv(), "runtime")["t"] == "welcome"
    finally:
        sock.close()
        ctx.term()


def test_session_state_errors(connect, runtime):
    client = connect()
    with pytest.raises(RuntimeReplyError) as info:
        client.request("frame", slot=0, time=0.0)
    assert info.value.code == "not_bound"
    with pytest.raises(RuntimeReplyError) as info:
        client.request("hello", token=runtime.token, client="again", transports=["shm"])
    assert info.value.code == "already_open"
    with pytest.raises(RuntimeReplyError) as info:
        client.set_style(backend="warp-drive")
    assert info.value.code == "unknown_backend" and "warp-drive" in info.value.message
    with pytest.raises(RuntimeReplyError) as info:
        client.set_style(style="oil_on_canvas")
    assert info.value.code == "unknown_style"
    with pytest.raises(RuntimeReplyError) as info:
        client.request(
            "bind",
            transport="cuda_ipc",
            input={"width": 64, "height": 64, "format": "rgba8"},
            output={"width": 64, "height": 64, "format": "rgba8"},
        )
    assert info.value.code == "transport_unavailable"
    with pytest.raises(RuntimeReplyError) as info:
        client.request(
            "bind",
            transport="shm",
            input={"width": 64, "height": 64, "format": "rgba8", "pitch": 100},
            output={"width": 64, "height": 64, "format": "rgba8"},
        )
    assert info.value.code == "bad_field" and "pitch 100" in info.value.message
    with pytest.raises(RuntimeReplyError) as info:
        client.bind(protocol.MAX_DIMENSION, protocol.MAX_DIMENSION, "rgba16f", slots=protocol.MAX_SLOTS)
    assert info.value.code == "bad_field"
    assert f"limit is {protocol.MAX_BIND_BYTES >> 20} MiB" in info.value.message
    client.bind(64, 64)
    with pytest.raises(RuntimeReplyError) as info:
        client.request("frame", slot=0, time=0.0, flags=6)
    assert info.value.code == "bad_field" and "flags" in info.value.message
    assert client.stats()["errors"] == 8


def test_no_session_and_no_common_transport(runtime):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(runtime.endpoint)
    try:
        sock.send(protocol.pack("get_stats", 3))
        reply = protocol.decode(sock.recv(), "runtime")
        assert (reply["code"], reply["id"], reply["ref"]) == ("no_session", 3, "get_stats")
        sock.send(protocol.pack("hello", 4, token=runtime.token, client="x", transports=["carrier_pigeon"]))
        reply = protocol.decode(sock.recv(), "runtime")
        assert reply["code"] == "transport_unavailable" and "shm" in reply["message"]
        sock.send_multipart([b"a", b"b"])
        reply = protocol.decode(sock.recv(), "runtime")
        assert reply["code"] == "malformed" and "one frame per message" in reply["message"]
    finally:
        sock.close()
        ctx.term()
