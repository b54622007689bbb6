"""A session's protocol logic in-process: no runtime process, no socket, a backend the test holds.

These pin down what the integration tests can only sample on a machine whose load varies:
which frame is superseded, the order of style changes and frames, what a failing backend
sends the client (a documented code, none of its internals) and what it logs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from lsd_runtime import backends, protocol
from lsd_runtime.pipeline.pixel_formats import RingSpec, image_view
from lsd_runtime.protocol import ProtocolError
from lsd_runtime.server.session import Session
from support.fake_sender import HeldBackend, Recorder, frame_bytes

W, H = 16, 8
IDENT = b"peer-1"


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(backends._REGISTRY, "held", HeldBackend)
    monkeypatch.setitem(backends._REQUIRES, "held", ())
    HeldBackend.instances.clear()
    yield


@pytest.fixture
def session(held: None) -> Iterator[tuple[Session, Recorder]]:
    rec = Recorder()
    s = Session(
        "s1-test", IDENT, rec, device=torch.device("cpu"), name_prefix="/lsd-unit", transport="inline"
    )
    yield s, rec
    s.close(protocol.DropReason.CLOSING)
    s.join(5)
    assert not s.worker_alive()


def bind(s: Session, rec: Recorder, slots: int = 3) -> dict:
    ring = {"width": W, "height": H, "format": "rgba8", "slots": slots}
    s.on_bind(protocol.make("bind", 1, transport="inline", input=ring, output=ring))
    return rec.wait_for(1)[-1]


def style(s: Session, rec: Recorder, rid: int, count: int, **fields) -> dict:
    s.on_set_style(protocol.make("set_style", rid, **fields))
    return rec.wait_for(count)[-1]


def frame(s: Session, fid: int, slot: int, value: int, release: list[int] | None = None) -> None:
    s.on_frame(
        protocol.make("frame", fid, slot=slot, time=float(fid), release=release), frame_bytes(W, H, value)
    )


def backend() -> HeldBackend:
    return HeldBackend.instances[-1]


def test_latest_frame_wins_exactly(session) -> None:
    s, rec = session
    bind(s, rec)
    assert style(s, rec, 2, 2, backend="held")["t"] == "style_set"
    frame(s, 10, 0, 10)
    assert backend().started.acquire(timeout=10)  # frame 10 is in flight, the backend holds it
    frame(s, 11, 1, 11)  # queued
    frame(s, 12, 2, 12)  # replaces 11 in the queue: 11 is answered at once
    replies = rec.wait_for(3)
    assert replies[2] == protocol.make("dropped", 11, in_slot=1, reason="superseded")
    backend().release(2)
    done = rec.wait_for(5)[3:]
    assert [(m["t"], m["id"], m["in_slot"]) for m in done] == [("frame_done", 10, 0), ("frame_done", 12, 2)]
    stats = s.stats()
    assert (stats["frames_in"], stats["frames_done"], stats["frames_dropped"]) == (3, 2, 1)


def test_a_style_change_applies_from_the_next_frame(session) -> None:
    s, rec = session
    bind(s, rec)
    style(s, rec, 2, 2, backend="held", params={"offset": 0.0})
    frame(s, 10, 0, 100)
    assert backend().started.acquire(timeout=10)
    frame(s, 11, 1, 100)  # queued before the style change: keeps offset 0
    s.on_set_style(protocol.make("set_style", 3, backend="held", params={"offset": 0.2}))
    frame(s, 12, 2, 100)  # after it: offset 0.2... but it replaces 11 in the queue
    assert rec.wait_for(3)[2] == protocol.make("dropped", 11, in_slot=1, reason="superseded")
    backend().release(2)
    replies = rec.wait_for(6)[3:]
    assert [(m["t"], m["id"]) for m in replies] == [("frame_done", 10), ("style_set", 3), ("frame_done", 12)]
    spec = RingSpec(W, H, "rgba8")
    images = {m["id"]: image_view(m["data"], spec) for m in replies if m["t"] == "frame_done"}
    assert int(images[10][0, 0, 0]) == 100 and int(images[12][0, 0, 0]) == 100 + 51  # 0.2 * 255


def test_slot_ownership_errors_change_nothing(session) -> None:
    s, rec = session
    with pytest.raises(ProtocolError) as info:
        frame(s, 1, 0, 0)
    assert info.value.code == protocol.ErrorCode.NOT_BOUND
    bind(s, rec, slots=2)
    style(s, rec, 2, 2, backend="held")
    with pytest.raises(ProtocolError) as info:
        frame(s, 5, 2, 0)
    assert info.value.code == protocol.ErrorCode.BAD_SLOT and "outside the ring of 2" in info.value.message
    frame(s, 6, 0, 0)
    with pytest.raises(ProtocolError) as info:
        frame(s, 7, 0, 0)  # slot 0 is the runtime's until frame 6 is answered
    assert info.value.code == protocol.ErrorCode.BAD_SLOT
    with pytest.raises(ProtocolError) as info:
        s.on_release(protocol.make("release", 8, slots=[1]))
    assert info.value.code == protocol.ErrorCode.BAD_SLOT and "not held" in info.value.message
    backend().release()
    assert rec.wait_for(3)[2]["t"] == "frame_done"  # the session still works


def test_a_failing_backend_sends_a_documented_code_and_logs_the_details(session, caplog) -> None:
    s, rec = session
    bind(s, rec)
    style(s, rec, 2, 2, backend="held", style="boom")
    with caplog.at_level(logging.ERROR, logger="lsd_runtime.server.session"):
        frame(s, 10, 0, 0)
        backend().release()
        dropped, error = rec.wait_for(4)[2:]
    assert dropped == protocol.make("dropped", 10, in_slot=0, reason="backend_error")
    assert (error["t"], error["code"], error["ref"], error["id"]) == ("error", "internal", "frame", 10)
    assert "secret" not in error["message"] and "log" in error["message"]
    assert "secret internal detail of process" in caplog.text
    style(s, rec, 3, 5, backend="held", style="ok")
    frame(s, 11, 0, 0)  # the input slot came back with the drop; the session goes on
    backend().release()
    assert rec.wait_for(6)[5]["t"] == "frame_done"


def test_style_errors_name_the_problem_or_hide_internals(session, caplog) -> None:
    s, rec = session
    reply = style(s, rec, 2, 1, model="no-such-model")
    assert (reply["code"], reply["ref"]) == ("unknown_style", "set_style")
    assert "unknown model 'no-such-model'" in reply["message"]
    reply = style(s, rec, 3, 2, backend="no-such-backend")
    assert reply["code"] == "unknown_backend"
    with caplog.at_level(logging.ERROR, logger="lsd_runtime.server.session"):
        reply = style(s, rec, 4, 3, backend="held", style="boom_on_set")
    assert reply["code"] == "internal" and "secret" not in reply["message"]
    assert "secret internal detail of set_style" in caplog.text
    assert style(s, rec, 5, 4, model="Watercolor")["model"] == "watercolour"


def test_closing_with_a_frame_in_flight_answers_it_and_frees_the_rings(session) -> None:
    s, rec = session
    bind(s, rec)
    style(s, rec, 2, 2, backend="held")
    frame(s, 10, 0, 0)
    assert backend().started.acquire(timeout=10)
    frame(s, 11, 1, 0)
    b = s.binding
    s.close(protocol.DropReason.CLOSING)
    assert rec.wait_for(3)[2] == protocol.make("dropped", 11, in_slot=1, reason="closing")
    backend().release()
    assert rec.wait_for(4)[3] == protocol.make("dropped", 10, in_slot=0, reason="closing")
    s.join(5)
    assert not s.worker_alive() and b is not None and b.inputs.buffers == []


def test_inline_frames_come_back_exact_under_identity(session) -> None:
    s, rec = session
    bind(s, rec)
    style(s, rec, 2, 2, model="identity")
    payload = np.random.default_rng(1).integers(0, 256, (H, W, 4), np.uint8)
    payload[..., 3] = 255
    s.on_frame(protocol.make("frame", 9, slot=0, time=1.0), payload.tobytes())
    done = rec.wait_for(3)[2]
    assert done["t"] == "frame_done" and done["data"] == payload.tobytes()


def bind_with(s: Session, rec: Recorder, codecs: list[str] | None, w: int = W, h: int = H) -> dict:
    ring = {"width": w, "height": h, "format": "rgba8"}
    s.on_bind(protocol.make("bind", 1, transport="inline", input=ring, output=ring, codecs=codecs))
    return rec.wait_for(1)[-1]


def test_inline_codec_is_chosen_from_what_the_client_offers(session) -> None:
    s, rec = session
    bound = bind_with(s, rec, ["zstd-future", "lz4"])  # an unknown name is skipped
    assert bound["t"] == "bound" and bound["codec"] == "lz4"
    r = Recorder()
    s2 = Session("s2", b"p2", r, device=torch.device("cpu"), name_prefix="/lsd-unit2", transport="inline")
    try:
        assert "codec" not in bind_with(s2, r, None)  # offered nothing: raw frames, no codec answered
    finally:
        s2.close(protocol.DropReason.CLOSING)
        s2.join(5)


def test_compressed_frames_come_back_exact_and_compressed_when_it_pays(session) -> None:
    import lz4.block

    s, rec = session
    w, h = 64, 32
    assert bind_with(s, rec, ["lz4"], w, h)["codec"] == "lz4"
    style(s, rec, 2, 2, model="identity")
    flat = np.zeros((h, w, 4), np.uint8)
    flat[..., 0] = np.arange(w, dtype=np.uint8)[None, :]  # a gradient: compresses well
    flat[..., 3] = 255
    raw = flat.tobytes()
    s.on_frame(
        protocol.make("frame", 9, slot=0, time=1.0, codec="lz4"), lz4.block.compress(raw, store_size=False)
    )
    done = rec.wait_for(3)[2]
    assert done["t"] == "frame_done" and done["codec"] == "lz4"
    assert len(done["data"]) < len(raw) // 4
    assert lz4.block.decompress(done["data"], uncompressed_size=len(raw)) == raw
    # noise does not compress: sent raw, without a codec
    noise = np.random.default_rng(3).integers(0, 256, (h, w, 4), np.uint8)
    s.on_frame(protocol.make("frame", 10, slot=1, time=2.0, release=[done["slot"]]), noise.tobytes())
    done2 = rec.wait_for(4)[3]
    assert done2["t"] == "frame_done" and "codec" not in done2 and done2["data"] == noise.tobytes()


def test_bad_compressed_frames_are_refused_with_the_reason(session) -> None:
    import lz4.block

    s, rec = session
    bind_with(s, rec, ["lz4"])
    raw = frame_bytes(W, H, 7)
    with pytest.raises(ProtocolError) as e:
        s.on_frame(protocol.make("frame", 9, slot=0, time=1.0, codec="lz4"), b"\x00not lz4")
    assert e.value.code == protocol.ErrorCode.BAD_FIELD and "LZ4 block" in str(e.value)
    short = lz4.block.compress(raw[:-4], store_size=False)
    with pytest.raises(ProtocolError) as e:
        s.on_frame(protocol.make("frame", 9, slot=0, time=1.0, codec="lz4"), short)
    assert "decompresses to" in str(e.value) or "LZ4 block" in str(e.value)
    # a codec the session did not agree on
    s2_rec = Recorder()
    s2 = Session(
        "s3", b"p3", s2_rec, device=torch.device("cpu"), name_prefix="/lsd-unit3", transport="inline"
    )
    try:
        bind_with(s2, s2_rec, None)
        with pytest.raises(ProtocolError) as e:
            s2.on_frame(protocol.make("frame", 9, slot=0, time=1.0, codec="lz4"), raw)
        assert "this session's codec is none" in str(e.value)
    finally:
        s2.close(protocol.DropReason.CLOSING)
        s2.join(5)
