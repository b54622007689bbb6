"""What the runtime does with each client message, independent of the socket it came on.

``Dispatcher`` owns the sessions: it validates a message, opens sessions on ``hello``
(token, transports, session limit), routes the rest to the session, answers ``ping`` and
``get_stats``, and closes silent or dead sessions. Replies leave through the ``send``
callable it is given, so the whole protocol logic runs in-process in the unit tests with a
fake sender; ``router.RuntimeServer`` gives it the ZeroMQ ROUTER. It is called from one
thread only (the I/O thread); sessions' workers reply through the same ``send``, which the
caller makes thread-safe.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

import torch

from .. import __version__, protocol
from ..backends import available_backends
from ..backends.effects import EFFECTS
from ..backends.model_names import DEFAULT_MODEL, known_models
from ..pipeline.pixel_formats import RingSpec
from ..protocol import DropReason, ErrorCode, ProtocolError
from ..transport.shm import USE_MEMFD
from .config import ServerConfig, supported_transports
from .cuda_offer import CudaOffer, choose, probe
from .liveness import ProcessWatch
from .session import DeviceRingFactory, Session
from .slot_budget import SlotBudget

log = logging.getLogger(__name__)

Sender = Callable[[bytes, dict[str, Any]], None]


class Dispatcher:
    def __init__(
        self,
        config: ServerConfig,
        token: str,
        send: Sender,
        device: torch.device | None = None,
        segment_prefix: str | None = None,
        cuda_offer: CudaOffer | None = None,
        device_rings: DeviceRingFactory | None = None,
    ):
        """``cuda_offer``: what this runtime serves for ``cuda_ipc`` (default: ``probe`` of
        ``config.device`` now); ``device_rings`` makes a session's device slot rings (default:
        ``CudaIpcRing``; the tests give stand-ins)."""
        self.config = config
        self.token = token
        self.device = device if device is not None else torch.device(config.device)
        self._send = send
        self._segment_prefix = segment_prefix or f"/lsd-{os.getpid()}"
        self.cuda_offer = cuda_offer if cuda_offer is not None else probe(config.device)
        self._device_rings = device_rings
        if self.cuda_offer.available:
            log.info("cuda_ipc served on %s (cuda:%d)", self.cuda_offer.gpu, self.cuda_offer.device_index)
        self.sessions: dict[bytes, Session] = {}
        self.slot_budget = SlotBudget(config.max_slot_bytes)
        self._watches: dict[bytes, ProcessWatch] = {}
        self._counter = 0
        self._handlers: dict[str, Callable[[bytes, Session, dict[str, Any], bytes | None], None]] = {
            "ping": self._on_ping,
            "pong": lambda *_: None,  # liveness only: any message counts
            "frame": lambda _i, s, m, data: s.on_frame(m, data),
            "release": lambda _i, s, m, _d: s.on_release(m),
            "bind": self._on_bind,
            "set_style": lambda _i, s, m, _d: s.on_set_style(m),
            "get_stats": lambda i, s, m, _d: self._send(i, protocol.make("stats", m["id"], **s.stats())),
            "bye": self._on_bye,
        }

    # --- messages ------------------------------------------------------------------------

    def on_message(self, identity: bytes, payload: bytes, conn: int | None = None) -> None:
        """Handle one message from the peer ``identity``, which arrived on connection ``conn``
        (the ROUTER's descriptor for it; None where unknown). Never raises: every failure becomes
        an ``error`` reply to that peer alone.

        A session belongs to the connection that said hello, not to the routing id alone: a peer
        may choose its routing id, so another process connecting with the id of a client that
        just dropped would otherwise inherit that client's session, no token asked."""
        session = self.sessions.get(identity)
        if session is not None and conn is not None and session.conn is not None and conn != session.conn:
            session = None  # the routing id of a session, on another connection: a stranger
        if session is not None:
            session.last_seen = time.monotonic()
        limit = protocol.MAX_MESSAGE_BYTES
        b = session.binding if session is not None else None
        if b is not None and session is not None and session.transport == "inline":
            limit += b.inputs.spec.size
        obj: Any = None
        try:
            obj = protocol.unpack_raw(payload, limit)
            msg = protocol.validate(obj, "client")
            data = msg.get("data") if msg["t"] == "frame" else None
            if data is None and len(payload) > protocol.MAX_MESSAGE_BYTES:
                raise ProtocolError(
                    ErrorCode.TOO_LARGE,
                    f"message is {len(payload)} bytes; the limit is {protocol.MAX_MESSAGE_BYTES}",
                    msg["t"],
                    msg["id"],
                )
            self._dispatch(identity, session, msg, data, conn)
        except ProtocolError as err:
            if session is not None:
                session.count_error()
            self._send(identity, protocol.error_message(err))
        except Exception:  # a bug must not take the runtime down, nor show the peer our internals
            rid = obj.get("id", 0) if isinstance(obj, dict) else 0
            if not (isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= protocol.MAX_ID):
                rid = 0
            log.exception("internal error handling a message (id %s) from peer %s", rid, identity.hex())
            self._send(
                identity,
                protocol.error_reply(
                    ErrorCode.INTERNAL, "the runtime failed on this message; its log has the details", "", rid
                ),
            )

    def reject_multipart(self, identity: bytes, parts: int) -> None:
        """A DEALER sent one message in several frames: refuse it (the protocol is one frame each)."""
        session = self.sessions.get(identity)
        if session is not None:
            session.count_error()
        self._send(
            identity,
            protocol.error_message(
                ProtocolError(ErrorCode.MALFORMED, f"expected one frame per message, got {parts}")
            ),
        )

    def _dispatch(
        self,
        identity: bytes,
        session: Session | None,
        msg: dict[str, Any],
        data: bytes | None,
        conn: int | None = None,
    ) -> None:
        t, rid = msg["t"], msg["id"]
        if t == "hello":
            self._on_hello(identity, session, msg, conn)
            return
        if session is None:
            # a ping too: after a runtime restart on the same port ZeroMQ reconnects the old
            # socket silently, and this is how its client learns the session is gone
            raise ProtocolError(
                ErrorCode.NO_SESSION,
                f"'{t}' without a session: say hello with the token first (the runtime may have restarted)",
                t,
                rid,
            )
        self._handlers[t](identity, session, msg, data)

    def _on_ping(self, identity: bytes, _session: Session, msg: dict[str, Any], _data: bytes | None) -> None:
        self._send(identity, protocol.make("pong", msg["id"], time=float(msg["time"])))

    def _on_bind(self, _identity: bytes, session: Session, msg: dict[str, Any], _data: bytes | None) -> None:
        fallback_bind = session.transport == "cuda_ipc" and msg["transport"] == "shm"
        if msg["transport"] != session.transport and not fallback_bind:
            raise ProtocolError(
                ErrorCode.TRANSPORT_UNAVAILABLE,
                f"this session negotiated '{session.transport}', not '{msg['transport'][:32]}'",
                "bind",
                msg["id"],
            )
        if session.transport == "inline":
            limit = self.config.max_inline_frame_bytes
            for ring in ("input", "output"):
                try:
                    size = RingSpec.from_message(msg[ring]).size
                except ValueError:
                    continue  # the session names what is wrong with the ring
                if size > limit:
                    raise ProtocolError(
                        ErrorCode.TOO_LARGE,
                        f"'bind' {ring} frames of {size} bytes are over this runtime's {limit} bytes for "
                        "an inline frame (serve --max-inline-mb; or use shm on one machine)",
                        "bind",
                        msg["id"],
                    )
        session.on_bind(msg, transport=msg["transport"])

    def _on_bye(self, identity: bytes, _session: Session, msg: dict[str, Any], _data: bytes | None) -> None:
        self._send(identity, protocol.make("bye", msg["id"], reason="goodbye"))
        self.close_session(identity, DropReason.CLOSING)

    def _on_hello(
        self, identity: bytes, session: Session | None, msg: dict[str, Any], conn: int | None = None
    ) -> None:
        rid = msg["id"]
        if session is None and identity in self.sessions:
            # the routing id of a live session, from another connection: its owner is still
            # being served (libzmq refuses a second live peer with the same id)
            raise ProtocolError(
                ErrorCode.ALREADY_OPEN,
                "another connection holds a session under this routing id; connect with another id",
                "hello",
                rid,
            )
        if session is not None:
            raise ProtocolError(
                ErrorCode.ALREADY_OPEN, f"this socket already has session {session.id}", "hello", rid
            )
        if not hmac.compare_digest(msg["token"].encode("utf-8", "surrogatepass"), self.token.encode()):
            raise ProtocolError(
                ErrorCode.AUTH_FAILED,
                f"wrong session token (read it from the runtime's {protocol.DEFAULT_STATE_FILE})",
                "hello",
                rid,
            )
        offered = supported_transports(self.config)
        if self.cuda_offer.available:
            offered.append("cuda_ipc")
        usable = [t for t in offered if t != "cuda_ipc"]  # cuda_ipc: also the client's GPU (choose)
        why = ""
        if "shm" in usable and USE_MEMFD and "memfd" not in msg.get("shm", ["named"]):
            # this runtime's slots are sealed memfds; a client that cannot open them would fail at bind
            usable.remove("shm")
            why = (
                "its shm slots are sealed memfds, and the client did not list 'memfd' in hello.shm "
                "(an older client: update it)"
            )
        chosen, fallback = choose(msg["transports"], usable, self.cuda_offer, msg.get("gpu"), why)
        if chosen is None:
            raise ProtocolError(
                ErrorCode.TRANSPORT_UNAVAILABLE,
                f"none of the client's transports ({', '.join(msg['transports'])[:100]}) "
                f"is available; the runtime offers {', '.join(offered)}" + (f"; {why}" if why else ""),
                "hello",
                rid,
            )
        if len(self.sessions) >= self.config.max_sessions:
            raise ProtocolError(
                ErrorCode.BUSY,
                f"the runtime already serves {len(self.sessions)} sessions (--max-sessions)",
                "hello",
                rid,
            )
        self._counter += 1
        sid = f"s{self._counter}-{secrets.token_hex(2)}"
        session = Session(
            sid,
            identity,
            self._send,
            device=self.device,
            name_prefix=f"{self._segment_prefix}-{sid}",
            transport=chosen,
            budget=self.slot_budget,
            device_rings=self._device_rings,
            cuda_device=self.cuda_offer.device_index,
        )
        session.conn = conn
        session.client_name = msg["client"][:64]
        self.sessions[identity] = session
        if msg.get("pid"):
            self._watches[identity] = ProcessWatch(msg["pid"])
        backends = available_backends()
        log.info(
            "session %s opened for %s (transport %s%s)",
            sid,
            msg["client"][:64],
            chosen,
            f"; {fallback}" * bool(fallback),
        )
        self._send(
            identity,
            protocol.make(
                "welcome",
                rid,
                session=sid,
                server=f"lsd-runtime/{__version__}",
                transport=chosen,
                transports=offered,
                backends=backends,
                styles=list(EFFECTS),
                heartbeat_ms=self.config.heartbeat_ms,
                timeout_ms=self.config.timeout_ms,
                max_message=protocol.MAX_MESSAGE_BYTES,
                default_model=DEFAULT_MODEL,
                models=known_models(backends),
                gpu=self.cuda_offer.gpu,
                fallback=protocol.fit(fallback) if fallback else None,
            ),
        )

    # --- housekeeping ----------------------------------------------------------------

    def close_session(self, identity: bytes, reason: DropReason) -> None:
        session = self.sessions.pop(identity, None)
        self._watches.pop(identity, None)
        if session is not None:
            log.info("session %s closed (%s)", session.id, reason.value)
            session.close(reason)

    def on_disconnect(self, conn: int) -> None:
        """Connection ``conn`` closed: its sessions end now (their slots are freed), so that
        nobody connecting later, whatever routing id it picks, can reach them."""
        for identity, session in list(self.sessions.items()):
            if session.conn == conn:
                self.close_session(identity, DropReason.CLOSING)

    def reap(self, now: float) -> None:
        """Close sessions whose client process died or that have been silent too long."""
        timeout = self.config.timeout_ms / 1000.0
        for identity, session in list(self.sessions.items()):
            watch = self._watches.get(identity)
            if watch is not None and not watch.alive():
                self.close_session(identity, DropReason.CLOSING)
            elif now - session.last_seen > timeout:
                self._send(identity, protocol.make("bye", 0, reason="heartbeat timeout"))
                self.close_session(identity, DropReason.CLOSING)

    def close_all(self, reason: str = "runtime shutting down") -> list[Session]:
        """Say bye to every session and close it; returns them (their workers may still be
        finishing the frame in hand)."""
        closing = list(self.sessions.values())
        for session in closing:
            self._send(session.identity, protocol.make("bye", 0, reason=reason))
            self.close_session(session.identity, DropReason.CLOSING)
        return closing
