"""The runtime's discovery file: endpoint and session token, readable by the user only."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "runtime.json"


def default_state_dir() -> Path:
    env = os.environ.get("LSD_BRIDGE_HOME")
    return Path(env) if env else Path.home() / ".lsd-bridge"


def new_token() -> str:
    return secrets.token_hex(32)


@dataclass(frozen=True)
class RuntimeInfo:
    endpoint: str
    token: str
    pid: int
    version: str
    server_key: str = ""  # Z85 CURVE public key when the runtime encrypts its endpoint


def write_state(state_dir: Path, info: RuntimeInfo) -> Path:
    """Write ``runtime.json`` atomically with mode 0600 (directory 0700)."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / STATE_FILE
    tmp = state_dir / f".{STATE_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info.__dict__, f)
    os.replace(tmp, path)
    return path


def read_state(state_dir: Path | None = None) -> RuntimeInfo:
    path = (state_dir or default_state_dir()) / STATE_FILE
    try:
        data = json.loads(path.read_text())
        return RuntimeInfo(endpoint=data["endpoint"], token=data["token"], pid=int(data["pid"]),
                           version=str(data.get("version", "")),
                           server_key=str(data.get("server_key", "")))
    except FileNotFoundError:
        raise FileNotFoundError(f"no runtime state at {path}: is `lsd-runtime serve` running?") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a runtime state file ({exc})") from None


def remove_state(state_dir: Path, pid: int) -> None:
    """Remove ``runtime.json`` if it still belongs to process ``pid``."""
    try:
        if read_state(state_dir).pid == pid:
            (state_dir / STATE_FILE).unlink()
    except (FileNotFoundError, ValueError):
        pass
