"""Who may use the web console: a one-time login key, then a cookie; per-session keys nobody
can guess; and the checks that keep other sites and other hosts out.

- The runtime prints a login URL at start and keeps the current one in ``runtime.json`` (a
  file only its user can read; ``lsd-runtime console`` prints it). A key works once: using it
  sets a cookie (``HttpOnly``, ``SameSite=Strict``) and a fresh key replaces it.
- Sessions are addressed by random keys, never by their protocol ids; each has a second,
  view-only key for its output page (OBS), which can watch that one session and nothing else.
- Every request must name this console's own host and port (a page on another site that
  points a hostname at 127.0.0.1 gets nothing: DNS rebinding), and a browser request that
  changes something (a POST, a WebSocket) must come from this console's own origin.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable

COOKIE = "lsd_console"


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class ConsoleAccess:
    def __init__(self, base_url: str, hosts: set[str], publish: Callable[[str], None] | None = None):
        self.base_url = base_url.rstrip("/")
        self.hosts = hosts  # "host:port" values a request's Host header may carry
        self.origins = {f"{base_url.split('://')[0]}://{h}" for h in hosts}
        self._publish = publish  # gets each new login URL (runtime.json)
        self._lock = threading.Lock()
        self._login = secrets.token_urlsafe(24)
        self._cookies: set[bytes] = set()

    @property
    def login_url(self) -> str:
        with self._lock:
            return f"{self.base_url}/?key={self._login}"

    def log_in(self, key: str) -> str | None:
        """A fresh cookie value if ``key`` is the current login key (which then changes)."""
        with self._lock:
            if not key or not hmac.compare_digest(key.encode(), self._login.encode()):
                return None
            self._login = secrets.token_urlsafe(24)
            cookie = secrets.token_urlsafe(32)
            self._cookies.add(_digest(cookie))
            url = f"{self.base_url}/?key={self._login}"
        if self._publish is not None:
            self._publish(url)
        return cookie

    def signed_in(self, cookie: str | None) -> bool:
        return bool(cookie) and _digest(cookie or "") in self._cookies

    def host_ok(self, host: str | None) -> bool:
        return host is not None and host.lower() in self.hosts

    def origin_ok(self, origin: str | None) -> bool:
        """No Origin (a tool, not a browser) or this console's own."""
        return origin is None or origin.lower() in self.origins


def new_key() -> str:
    return secrets.token_urlsafe(16)
