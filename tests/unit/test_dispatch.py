"""The runtime's message handling in-process (``Dispatcher`` with a recording sender): hello,
authentication, limits, routing, liveness and what a bug inside the runtime shows a peer."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
import torch

from lsd_runtime import protocol
from lsd_runtime.server.config import ServerConfig
from lsd_runtime.server.dispatch import Dispatcher
from lsd_runtime.transport.shm import USE_MEMFD
from support.fake_sender import Recorder

TOKEN = "t0k3n"


@pytest.fixture
def dispatcher(tmp_path) -> Iterator[tuple[Dispatcher, Recorder]]:
    rec = Recorder()
    d = Dispatcher(
        ServerConfig(state_dir=tmp_path, max_sessions=2, timeout_ms=1000, inline=True),
        TOKEN,
        rec,
        torch.device("cpu"),
        segment_prefix="/lsd-unit-dispatch",
    )
    yield d, rec
    for session in d.close_all():
        session.join(5)


def send(d: Dispatcher, rec: Recorder, peer: bytes, t: str, rid: int, **fields) -> dict:
    before = len(rec.messages)
    d.on_message(peer, protocol.pack(t, rid, **fields))
    return rec.wait_for(before + 1)[-1]


def hello(d: Dispatcher, rec: Recorder, peer: bytes, token: str = TOKEN) -> dict:
    return send(d, rec, peer, "hello", 1, token=token, client="unit/1", transports=["cuda_ipc", "inline"])


def test_hello_opens_a_session_with_the_first_common_transport(dispatcher) -> None:
    d, rec = dispatcher
    welcome = hello(d, rec, b"a")
    assert welcome["t"] == "welcome" and welcome["transport"] == "inline"
    assert welcome["default_model"] == protocol.DEFAULT_MODEL and "toon" in welcome["models"]
    assert (welcome["heartbeat_ms"], welcome["timeout_ms"]) == (protocol.DEFAULT_HEARTBEAT_MS, 1000)
    assert list(d.sessions) == [b"a"]
    again = hello(d, rec, b"a")
    assert (again["t"], again["code"]) == ("error", "already_open")


def test_wrong_token_no_session_and_the_session_limit(dispatcher) -> None:
    d, rec = dispatcher
    assert hello(d, rec, b"x", token="wrong")["code"] == "auth_failed"
    assert not d.sessions
    reply = send(d, rec, b"x", "ping", 5, time=1.0)
    assert (reply["code"], reply["ref"], reply["id"]) == ("no_session", "ping", 5)
    hello(d, rec, b"a")
    hello(d, rec, b"b")
    busy = hello(d, rec, b"c")
    assert busy["code"] == "busy" and "2 sessions" in busy["message"]


def test_routing_ping_stats_and_bye(dispatcher) -> None:
    d, rec = dispatcher
    hello(d, rec, b"a")
    assert send(d, rec, b"a", "ping", 7, time=2.5) == protocol.make("pong", 7, time=2.5)
    stats = send(d, rec, b"a", "get_stats", 8)
    assert stats["t"] == "stats" and stats["frames_in"] == 0
    bye = send(d, rec, b"a", "bye", 9)
    assert bye == protocol.make("bye", 9, reason="goodbye") and not d.sessions


def test_bad_input_gets_its_code_and_nothing_else_changes(dispatcher) -> None:
    d, rec = dispatcher
    hello(d, rec, b"a")
    d.on_message(b"a", b"\xc1\xc1")
    assert rec.wait_for(2)[-1]["code"] == "malformed"
    d.reject_multipart(b"a", 3)
    assert "3" in rec.wait_for(3)[-1]["message"]
    reply = send(
        d,
        rec,
        b"a",
        "bind",
        4,
        transport="shm",
        input={"width": 8, "height": 8, "format": "rgba8"},
        output={"width": 8, "height": 8, "format": "rgba8"},
    )
    assert reply["code"] == "transport_unavailable"  # the session negotiated inline
    assert send(d, rec, b"a", "ping", 5, time=0.0)["t"] == "pong"
    assert d.sessions[b"a"].errors == 3


def test_a_bug_in_the_runtime_is_logged_and_hidden_from_the_peer(dispatcher, monkeypatch, caplog) -> None:
    d, rec = dispatcher
    hello(d, rec, b"a")

    def broken(msg):
        raise RuntimeError("secret internal state")

    monkeypatch.setattr(d.sessions[b"a"], "on_release", broken)
    with caplog.at_level(logging.ERROR, logger="lsd_runtime.server.dispatch"):
        reply = send(d, rec, b"a", "release", 6, slots=[0])
    assert (reply["code"], reply["id"]) == ("internal", 6)
    assert "secret" not in reply["message"] and "log" in reply["message"]
    assert "secret internal state" in caplog.text
    assert send(d, rec, b"a", "ping", 7, time=0.0)["t"] == "pong"  # the runtime goes on


def test_a_silent_session_is_closed_with_bye(dispatcher) -> None:
    d, rec = dispatcher
    hello(d, rec, b"a")
    d.reap(time.monotonic())
    assert b"a" in d.sessions
    d.reap(time.monotonic() + 1.5)
    assert not d.sessions
    assert rec.wait_for(2)[-1] == protocol.make("bye", 0, reason="heartbeat timeout")


def test_a_session_belongs_to_the_connection_that_opened_it(dispatcher) -> None:
    """The routing id alone is not enough: a peer may choose it. The same id on another
    connection is a stranger, and when the session's connection closes the session ends."""
    d, rec = dispatcher

    def on(conn: int, t: str, rid: int, **fields) -> dict:
        before = len(rec.messages)
        d.on_message(b"id-1", protocol.pack(t, rid, **fields), conn)
        return rec.wait_for(before + 1)[-1]

    assert on(5, "hello", 1, token=TOKEN, client="owner/1", transports=["inline"])["t"] == "welcome"
    assert on(5, "get_stats", 2)["t"] == "stats"
    stranger = on(6, "get_stats", 3)
    assert (stranger["t"], stranger["code"]) == ("error", "no_session")
    taken = on(6, "hello", 4, token=TOKEN, client="stranger/1", transports=["inline"])
    assert (taken["t"], taken["code"]) == ("error", "already_open")
    assert d.sessions[b"id-1"].conn == 5
    d.on_disconnect(6)  # someone else's connection: nothing happens
    assert b"id-1" in d.sessions
    d.on_disconnect(5)
    assert not d.sessions
    assert on(5, "get_stats", 5)["code"] == "no_session"  # a new connection reusing descriptor 5


def test_binds_share_one_slot_budget(tmp_path) -> None:
    rec = Recorder()
    config = ServerConfig(state_dir=tmp_path, max_slot_bytes=3 * 64 * 48 * 4 * 2, inline=True)  # one 3+3 ring
    d = Dispatcher(config, TOKEN, rec, torch.device("cpu"), segment_prefix="/lsd-unit-budget")
    try:
        ring = {"width": 64, "height": 48, "format": "rgba8"}
        for peer in (b"a", b"b"):
            hello(d, rec, peer)
        assert send(d, rec, b"a", "bind", 2, transport="inline", input=ring, output=ring)["t"] == "bound"
        refused = send(d, rec, b"b", "bind", 2, transport="inline", input=ring, output=ring)
        assert refused["code"] == "no_memory"
        assert refused["message"].startswith("'bind' rings need 0.1 MiB; 0.0 MiB of the 0.1 MiB")
        assert d.slot_budget.used == 3 * 64 * 48 * 4 * 2
        send(d, rec, b"a", "bye", 3)
        deadline = time.monotonic() + 5
        while d.slot_budget.used and time.monotonic() < deadline:
            time.sleep(0.01)
        assert d.slot_budget.used == 0
        assert send(d, rec, b"b", "bind", 3, transport="inline", input=ring, output=ring)["t"] == "bound"
    finally:
        for session in d.close_all():
            session.join(5)


def test_inline_frames_over_the_runtime_limit_are_refused_at_bind(tmp_path) -> None:
    rec = Recorder()
    d = Dispatcher(
        ServerConfig(state_dir=tmp_path, max_inline_frame_bytes=64 * 48 * 4, inline=True),
        TOKEN,
        rec,
        torch.device("cpu"),
        segment_prefix="/lsd-unit-inline",
    )
    try:
        hello(d, rec, b"a")
        ok = {"width": 64, "height": 48, "format": "rgba8"}
        big = {"width": 65, "height": 48, "format": "rgba8"}
        refused = send(d, rec, b"a", "bind", 2, transport="inline", input=big, output=ok)
        assert refused["code"] == "too_large" and "--max-inline-mb" in refused["message"]
        assert send(d, rec, b"a", "bind", 3, transport="inline", input=ok, output=ok)["t"] == "bound"
    finally:
        for session in d.close_all():
            session.join(5)


def test_numbers_a_runtime_sends_are_held_to_the_contract() -> None:
    """A welcome whose timeout wraps a 32-bit counter (2^32) is refused by the client's decoder."""
    fields = dict(session="s", server="x", transport="shm", transports=["shm"], backends=["effects"])
    fields.update(styles=["toon"], heartbeat_ms=100, max_message=protocol.MAX_MESSAGE_BYTES)
    ok = protocol.make("welcome", 1, timeout_ms=protocol.MAX_TIMEOUT_MS, **fields)
    assert protocol.decode(protocol.encode(ok), "runtime")["timeout_ms"] == protocol.MAX_TIMEOUT_MS
    for bad in ({"timeout_ms": 2**32}, {"timeout_ms": 0}):
        msg = protocol.make("welcome", 1, **{**fields, **bad})
        with pytest.raises(protocol.ProtocolError, match="'welcome' field 'timeout_ms'"):
            protocol.decode(protocol.encode(msg), "runtime")


@pytest.mark.skipif(not USE_MEMFD, reason="a Linux runtime's shm slots are sealed memfds")
def test_shm_is_offered_only_to_clients_that_can_open_sealed_memfds(dispatcher) -> None:
    d, rec = dispatcher
    old = send(d, rec, b"old", "hello", 1, token=TOKEN, client="old/0.1", transports=["shm"])
    assert old["code"] == "transport_unavailable" and "did not list 'memfd'" in old["message"]
    both = send(d, rec, b"old2", "hello", 1, token=TOKEN, client="old/0.1", transports=["shm", "inline"])
    assert both["transport"] == "inline"  # it still gets what it can use
    new = send(d, rec, b"new", "hello", 1, token=TOKEN, client="new/0.2", transports=["shm"], shm=["memfd"])
    assert new["transport"] == "shm"


def test_a_bind_the_system_has_no_memory_for_is_refused_naming_both(dispatcher, monkeypatch) -> None:
    from lsd_runtime.server import session as session_module

    d, rec = dispatcher
    hello(d, rec, b"a")
    monkeypatch.setattr(session_module, "memory_available", lambda: 270 << 20)
    ring = {"width": 1024, "height": 1024, "format": "rgba8"}  # 4 MiB a slot, 24 MiB a bind
    refused = send(d, rec, b"a", "bind", 2, transport="inline", input=ring, output=ring)
    assert refused["code"] == "no_memory"
    assert "need 24.0 MiB; the system has 270.0 MiB available, and at least 256 MiB" in refused["message"]
    assert d.slot_budget.used == 0
    monkeypatch.setattr(session_module, "memory_available", lambda: 1 << 30)
    assert send(d, rec, b"a", "bind", 3, transport="inline", input=ring, output=ring)["t"] == "bound"
