"""How a runtime is set up: its endpoint, timers, limits and device (``lsd-runtime serve``'s flags)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .. import protocol
from .slot_budget import default_slot_budget
from .state_file import default_state_dir

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


@dataclass
class ServerConfig:
    endpoint: str = protocol.DEFAULT_ENDPOINT
    state_dir: Path = field(default_factory=default_state_dir)
    heartbeat_ms: int = protocol.DEFAULT_HEARTBEAT_MS
    timeout_ms: int = protocol.DEFAULT_TIMEOUT_MS
    max_sessions: int = protocol.DEFAULT_MAX_SESSIONS
    device: str = "cpu"
    allow_remote: bool = False
    threads: int = 1  # torch CPU threads; 0 keeps torch's default
    curve: bool = False  # encrypt with CURVE (always on for non-loopback endpoints)
    max_slot_bytes: int = field(default_factory=default_slot_budget)  # all sessions' rings together
    # largest inline frame (one slot's bytes); with the 64 KiB control limit it is the most a
    # peer can make the runtime buffer for one message: 32 MiB holds a raw 4K RGBA8 frame
    max_inline_frame_bytes: int = 32 << 20
    inline: bool = False  # serve the inline transport (always with allow_remote)
    web: bool = False  # serve the web console (lsd_runtime.web)
    web_host: str = "127.0.0.1"
    web_port: int = 0  # 0: any free port
    web_cert: Path | None = None  # TLS for a console on a non-loopback address
    web_key: Path | None = None


IPC_SOCKET = "runtime.sock"
IPC_PATH_MAX = 100  # sockaddr_un holds 108 bytes on Linux (104 on macOS)


def default_endpoint(state_dir: Path) -> str:
    """Where ``serve`` listens when not told: a Unix socket in the (private) state directory on
    POSIX, which no other local user can connect to; loopback TCP on Windows, or when the path
    is too long for a Unix socket."""
    if os.name != "nt":
        path = str(Path(state_dir).absolute() / IPC_SOCKET)
        if len(path) <= IPC_PATH_MAX:
            return "ipc://" + path
    return protocol.DEFAULT_ENDPOINT


def supported_transports(config: ServerConfig) -> list[str]:
    """What this runtime serves: ``shm`` always; ``inline`` (pixels inside messages, so a peer may
    send messages as large as a frame) only when asked for, or for a remote endpoint."""
    return ["shm", "inline"] if config.inline or config.allow_remote else ["shm"]


def max_message_bytes(config: ServerConfig) -> int:
    """The largest message this runtime accepts from anyone (libzmq refuses larger ones unread)."""
    inline = "inline" in supported_transports(config)
    return protocol.MAX_MESSAGE_BYTES + (config.max_inline_frame_bytes if inline else 0)


def check_config(config: ServerConfig) -> None:
    """Refuse settings that clients would refuse (``welcome`` values outside the contract)."""
    if not protocol.MIN_HEARTBEAT_MS <= config.heartbeat_ms <= protocol.MAX_HEARTBEAT_MS:
        raise ValueError(
            f"--heartbeat-ms {config.heartbeat_ms} is outside "
            f"{protocol.MIN_HEARTBEAT_MS}..{protocol.MAX_HEARTBEAT_MS}"
        )
    if not protocol.MIN_TIMEOUT_MS <= config.timeout_ms <= protocol.MAX_TIMEOUT_MS:
        raise ValueError(
            f"--timeout-ms {config.timeout_ms} is outside "
            f"{protocol.MIN_TIMEOUT_MS}..{protocol.MAX_TIMEOUT_MS}"
        )
    if config.max_inline_frame_bytes < 1:
        raise ValueError("--max-inline-mb must be at least 1")
    if config.max_slot_bytes < 1:
        raise ValueError("--max-slot-memory must be at least 1")
    if config.web and config.web_host not in LOOPBACK_HOSTS:
        if not config.allow_remote:
            raise ValueError(
                f"refusing a web console on '{config.web_host}': only loopback unless --allow-remote "
                "is given (and then only over TLS: --web-cert)"
            )
        if config.web_cert is None:
            raise ValueError(
                "a web console on a non-loopback address needs TLS: give --web-cert (and --web-key)"
            )


def check_endpoint(endpoint: str, allow_remote: bool) -> bool:
    """Validate an endpoint; returns True when it is reachable from other machines."""
    if endpoint.startswith("ipc://"):
        if os.name == "nt":
            raise ValueError("ipc:// endpoints are not available on Windows; use tcp://127.0.0.1:PORT")
        return False
    if not endpoint.startswith("tcp://"):
        raise ValueError(f"endpoint '{endpoint}' must start with tcp:// or ipc://")
    host = endpoint[len("tcp://") :].rsplit(":", 1)[0]
    if host in LOOPBACK_HOSTS:
        return False
    if not allow_remote:
        raise ValueError(
            f"refusing to listen on '{host}': only loopback addresses are allowed "
            "unless --allow-remote is given (the link is then encrypted with CURVE)"
        )
    return True
