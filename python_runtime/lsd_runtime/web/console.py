"""The runtime's web console: every live session, its frames, its numbers, and controls.

An aiohttp server on its own thread and event loop inside the runtime process (``serve
--web``). It reads the dispatcher's sessions, changes a session's style through the same
path as a client's ``set_style`` (``Session.on_set_style``), and streams a watched session's
frames over a WebSocket (encoded by ``tap.Encoder``, off the session worker, only while
someone watches, newest frame first). ``/out/<view key>`` shows one session's restyled frames
and nothing else, for OBS's Browser Source.

Routes (all but ``/out`` and ``/ws-out`` need the login cookie, see ``access``):

    GET  /                         the console page (``/?key=...``: log in)
    GET  /static/<file>            its script and style
    GET  /api/sessions             every live session, with its numbers
    POST /api/sessions/<key>/style change its style: {model, prompt, strength, seed, steps, glide}
    GET  /ws/<key>                 its frames (binary) and numbers (JSON), pushed
    GET  /out/<view key>           its restyled frames, full window (OBS)
    GET  /ws-out/<view key>        the frames for that page
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from .. import protocol
from ..backends import StyleRequest
from ..protocol import ProtocolError
from ..server.dispatch import Dispatcher
from ..server.session import Session
from .access import COOKIE, ConsoleAccess, new_key
from .tap import Encoder

log = logging.getLogger(__name__)

HISTORY_S = 300  # seconds of FPS and latency history kept per session (one sample a second)
STYLE_TIMEOUT_S = 600.0  # a diffusion model loading the first time can take minutes
STATIC = ("console.js", "console.css")


@dataclass
class Watched:
    """What the console keeps for one session: its keys, history and watchers' sockets."""

    session: Session
    key: str = field(default_factory=new_key)
    view_key: str = field(default_factory=new_key)
    history: deque[dict[str, float]] = field(default_factory=lambda: deque(maxlen=HISTORY_S))
    sockets: set[web.WebSocketResponse] = field(default_factory=set)
    out_sockets: set[web.WebSocketResponse] = field(default_factory=set)
    last_done: int = 0
    last_dropped: int = 0
    last_t: float = field(default_factory=time.monotonic)


class WebConsole:
    def __init__(
        self,
        dispatcher: Dispatcher,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        publish_login: Any = None,
    ):
        self.dispatcher = dispatcher
        self.host = host
        self.port = port
        self._ssl = ssl_context
        self._publish_login = publish_login
        self.access: ConsoleAccess | None = None
        self._watched: dict[str, Watched] = {}  # by session key
        self._by_view: dict[str, Watched] = {}
        self._by_session: dict[str, Watched] = {}  # by protocol session id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._pending: dict[web.WebSocketResponse, list[bytes]] = {}
        self._wakeups: dict[web.WebSocketResponse, asyncio.Event] = {}
        self.encoder = Encoder(self._deliver)

    # --- lifecycle (any thread) -------------------------------------------------------------

    def start(self) -> str:
        """Serve on the console's own thread; returns the first login URL."""
        self.encoder.start()
        self._thread = threading.Thread(target=self._main, name="lsd-web-console", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._failure is not None:
            raise self._failure
        assert self.access is not None
        return self.access.login_url

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._thread is not None and self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
            self._thread.join(10)
        self.encoder.stop()

    @property
    def url(self) -> str:
        assert self.access is not None
        return self.access.base_url

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)  # not a protocol limit
        app.add_routes(
            [
                web.get("/", self._index),
                web.get("/static/{name}", self._static),
                web.get("/api/sessions", self._sessions),
                web.post("/api/sessions/{key}/style", self._style),
                web.get("/ws/{key}", self._ws),
                web.get("/out/{view}", self._out_page),
                web.get("/ws-out/{view}", self._ws_out),
            ]
        )
        # the socket first: its port names the console's own address before any request can come
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(64)
        port = sock.getsockname()[1]
        scheme = "https" if self._ssl else "http"
        shown = self.host if ":" not in self.host else f"[{self.host}]"
        hosts = {f"{shown}:{port}".lower()}
        if self.host in ("127.0.0.1", "localhost", "::1"):
            hosts |= {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
        self.access = ConsoleAccess(f"{scheme}://{shown}:{port}", hosts, self._publish_login)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, ssl_context=self._ssl).start()
        self._sampler = asyncio.ensure_future(self._sample())

    async def _shutdown(self) -> None:
        self._sampler.cancel()
        for w in self._watched.values():
            for ws in list(w.sockets | w.out_sockets):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
        assert self._loop is not None
        self._loop.stop()

    # --- access ---------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        access = self.access
        assert access is not None
        if not access.host_ok(request.headers.get("Host")):
            return web.Response(status=403, text="this console answers only on its own address")
        changes = request.method != "GET" or request.headers.get("Upgrade", "").lower() == "websocket"
        if changes and not access.origin_ok(request.headers.get("Origin")):
            return web.Response(status=403, text="requests from another site are refused")
        path = request.path
        if path.startswith(("/out/", "/ws-out/")):
            return await handler(request)  # the view key in the path is the credential
        if access.signed_in(request.cookies.get(COOKIE)):
            return await handler(request)
        key = request.query.get("key", "")
        if path == "/" and key:
            cookie = access.log_in(key)
            if cookie is None:
                return self._refuse("this login key was used already or is wrong")
            response = web.HTTPSeeOther("/")
            response.set_cookie(
                COOKIE, cookie, httponly=True, samesite="Strict", path="/", secure=self._ssl is not None
            )
            return response
        return self._refuse("not signed in")

    @staticmethod
    def _refuse(why: str) -> web.Response:
        return web.Response(
            status=401,
            content_type="text/html",
            text=(
                "<!doctype html><title>LSD Bridge console</title><h1>Sign in</h1>"
                f"<p>{why}. Open the login URL that <code>lsd-runtime console</code> prints "
                "(each works once).</p>"
            ),
        )

    # --- pages ----------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=_asset("index.html"), content_type="text/html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        kind = "text/javascript" if name.endswith(".js") else "text/css"
        return web.Response(text=_asset(name), content_type=kind)

    async def _out_page(self, request: web.Request) -> web.Response:
        if request.match_info["view"] not in self._by_view:
            return web.Response(status=403, text="no such output")
        return web.Response(text=_asset("output.html"), content_type="text/html")

    # --- sessions -------------------------------------------------------------------------

    def _refresh(self) -> list[Watched]:
        """The console's record of every live session (new ones get keys and a tap)."""
        live = {s.id: s for s in list(self.dispatcher.sessions.values())}
        for sid in list(self._by_session):
            if sid not in live:
                w = self._by_session.pop(sid)
                self._watched.pop(w.key, None)
                self._by_view.pop(w.view_key, None)
                self.encoder.forget(w.key)
        for sid, session in live.items():
            if sid not in self._by_session:
                w = Watched(session, last_done=session.frames_done, last_dropped=session.frames_dropped)
                self._by_session[sid] = self._watched[w.key] = self._by_view[w.view_key] = w
                session.tap = self.encoder.tap(w.key)
        return list(self._by_session.values())

    def _describe(self, w: Watched) -> dict[str, Any]:
        s = w.session
        stats = s.stats()
        b = s.binding
        req = s.style_request or StyleRequest()
        last = w.history[-1] if w.history else {}
        return {
            "key": w.key,
            "session": s.id,
            "client": s.client_name,
            "transport": s.transport,
            "input": f"{b.inputs.spec.width}x{b.inputs.spec.height} {b.inputs.spec.format}" if b else "",
            "model_size": f"{b.pipeline.model_width}x{b.pipeline.model_height}" if b else "",
            "backend": s.backend.name,
            "style": s.backend.style_name,
            "model": req.model or (f"{req.backend}:{req.style}" if req.style else ""),
            "prompt": req.prompt or "",
            "strength": req.strength,
            "seed": req.seed,
            "steps": (req.params or {}).get("steps"),
            "glide": (req.params or {}).get("interp_frames"),
            "frames_done": stats["frames_done"],
            "frames_dropped": stats["frames_dropped"],
            "fps": last.get("fps", 0.0),
            "latency_ms": stats["latency_ms"].get("total", [0.0, 0.0]),
            "watchers": len(w.sockets) + len(w.out_sockets),
            "output_url": f"/out/{w.view_key}",
            "history": list(w.history),
        }

    async def _sessions(self, request: web.Request) -> web.Response:
        rows = [self._describe(w) for w in self._refresh()]
        return web.json_response({"sessions": rows, "models": _models(self.dispatcher), "time": time.time()})

    async def _style(self, request: web.Request) -> web.Response:
        self._refresh()
        w = self._watched.get(request.match_info["key"])
        if w is None:
            raise web.HTTPNotFound(text="no such session")
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except (ValueError, json.JSONDecodeError):
            return web.json_response({"ok": False, "error": "the body must be a JSON object"}, status=400)
        try:
            msg = _style_message(w.session, body)
        except ProtocolError as exc:
            return web.json_response({"ok": False, "code": exc.code.value, "error": exc.message}, status=400)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[dict[str, Any]] = loop.create_future()

        def settle(reply: dict[str, Any]) -> None:
            if not answer.done():
                answer.set_result(reply)

        def on_result(reply: dict[str, Any]) -> None:  # on the session's worker thread
            loop.call_soon_threadsafe(settle, reply)

        w.session.on_set_style(msg, on_result=on_result)
        try:
            reply = await asyncio.wait_for(answer, STYLE_TIMEOUT_S)
        except asyncio.TimeoutError:
            return web.json_response({"ok": False, "error": "the runtime did not answer in time"}, status=504)
        if reply["t"] == "error":
            refused = {"ok": False, "code": reply["code"], "error": reply["message"]}
            return web.json_response(refused, status=400)
        return web.json_response({"ok": True, "style_set": reply})

    # --- frames ---------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        self._refresh()
        w = self._watched.get(request.match_info["key"])
        if w is None:
            raise web.HTTPNotFound(text="no such session")
        return await self._stream(request, w, w.sockets, outputs_only=False)

    async def _ws_out(self, request: web.Request) -> web.WebSocketResponse:
        self._refresh()
        w = self._by_view.get(request.match_info["view"])
        if w is None:
            raise web.HTTPForbidden(text="no such output")
        return await self._stream(request, w, w.out_sockets, outputs_only=True)

    async def _stream(
        self, request: web.Request, w: Watched, group: set[web.WebSocketResponse], outputs_only: bool
    ) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10.0)
        await ws.prepare(request)
        tap = self.encoder.tap(w.key)
        group.add(ws)
        self._wakeups[ws] = asyncio.Event()
        tap.watchers += 1
        tap.outputs_only += int(outputs_only)
        writer = asyncio.ensure_future(self._write(ws, w, outputs_only))
        try:
            async for msg in ws:  # nothing to read: the browser only watches
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            tap.watchers -= 1
            tap.outputs_only -= int(outputs_only)
            group.discard(ws)
            writer.cancel()
            self._pending.pop(ws, None)
            self._wakeups.pop(ws, None)
        return ws

    async def _write(self, ws: web.WebSocketResponse, w: Watched, outputs_only: bool) -> None:
        wake = self._wakeups[ws]
        next_stats = 0.0
        while not ws.closed:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), 1.0)
            wake.clear()
            messages = self._pending.pop(ws, None)
            if messages:
                for m in messages:
                    if not outputs_only or m[:1] == b"O":
                        await ws.send_bytes(m)
            now = time.monotonic()
            if not outputs_only and now >= next_stats:
                next_stats = now + 1.0
                await ws.send_str(json.dumps({"type": "session", "session": self._describe(w)}))

    def _deliver(self, key: str, messages: list[bytes]) -> None:
        """From the encoder thread: the newest frame of session ``key`` for its watchers."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self._fan_out, key, messages)

    def _fan_out(self, key: str, messages: list[bytes]) -> None:
        w = self._watched.get(key)
        if w is None:
            return
        for ws in w.sockets | w.out_sockets:
            self._pending[ws] = messages  # a frame not yet sent is replaced: latest wins
            wake = self._wakeups.get(ws)
            if wake is not None:
                wake.set()

    async def _sample(self) -> None:
        while True:
            for w in self._refresh():
                stats = w.session.stats()
                now = time.monotonic()
                dt = max(now - w.last_t, 1e-6)
                fps = (stats["frames_done"] - w.last_done) / dt
                p50, p99 = stats["latency_ms"].get("total", [0.0, 0.0])
                w.history.append(
                    {
                        "t": round(time.time(), 1),
                        "fps": round(fps, 2),
                        "p50": p50,
                        "p99": p99,
                        "dropped": stats["frames_dropped"] - w.last_dropped,
                    }
                )
                w.last_done, w.last_dropped, w.last_t = stats["frames_done"], stats["frames_dropped"], now
            await asyncio.sleep(1.0)


def _asset(name: str) -> str:
    return resources.files("lsd_runtime.web").joinpath("static").joinpath(name).read_text(encoding="utf-8")


def _models(dispatcher: Dispatcher) -> list[str]:
    from ..backends import available_backends
    from ..backends.model_names import known_models

    return known_models(available_backends())


def _style_message(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    """A ``set_style`` message: the session's current style with the console's changes on top,
    checked like any client's message."""
    current = session.style_request or StyleRequest()
    fields: dict[str, Any] = {}
    if "model" in body:
        if body["model"]:
            fields["model"] = body["model"]  # "" = the style from the prompt's words
    elif current.model:
        fields["model"] = current.model
    elif current.backend:
        fields["backend"] = current.backend
        if current.style:
            fields["style"] = current.style
    prompt = body.get("prompt", current.prompt)
    if prompt:
        fields["prompt"] = prompt
    for name in ("strength", "seed"):
        value = body.get(name, getattr(current, name))
        if value is not None and value != "":
            fields[name] = value
    params = dict(current.params or {})
    if body.get("steps") not in (None, ""):
        params["steps"] = body["steps"]
    if body.get("glide") not in (None, ""):
        params["interp_frames"] = body["glide"]
    if params:
        fields["params"] = params
    msg = protocol.make("set_style", 0, **fields)
    return protocol.validate(msg, "client")


def serve_console(
    dispatcher: Dispatcher, host: str, port: int, cert: Path | None, key: Path | None, publish: Any
) -> WebConsole:
    """Start a console for ``dispatcher``; TLS when a certificate is given."""
    context = None
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key) if key else None)
    console = WebConsole(dispatcher, host, port, context, publish)
    console.start()
    return console
