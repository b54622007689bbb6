"""The runtime's discovery file: endpoint and session token, readable by the user only.

Whoever can write the state directory can point clients at another endpoint, and whoever can
read ``runtime.json`` has the token. So the runtime and its clients only use a state directory
that belongs to the user and that nobody else may write to (a directory someone else made
first, such as a shared ``/tmp/lsd``, is refused with a message saying why), write the file
without following links (a fresh random temporary name, ``O_EXCL | O_NOFOLLOW``, then an atomic
rename), and read it only when it is a regular file of the user's, mode 0600.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import protocol

STATE_FILE = protocol.DEFAULT_STATE_FILE


def default_state_dir() -> Path:
    env = os.environ.get(protocol.DEFAULT_STATE_DIR_ENV)
    return Path(env) if env else Path.home() / protocol.DEFAULT_STATE_DIR


class StateDirError(PermissionError):
    """A state directory (or state file) that others could tamper with; the message says why."""


def check_state_dir(state_dir: Path, create: bool = False) -> Path:
    """Make sure ``state_dir`` is the user's own and writable by nobody else (POSIX); with
    ``create``, make it (mode 0700) when it does not exist. Returns it."""
    if create and not os.path.lexists(state_dir):
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not hasattr(os, "geteuid"):  # Windows: the user profile's ACLs protect it
        return state_dir
    uid = os.geteuid()
    try:
        link = os.lstat(state_dir)
        st = os.stat(state_dir)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no runtime state at {state_dir / STATE_FILE} (no such directory): "
            "is `lsd-runtime serve` running?"
        ) from None
    if stat.S_ISLNK(link.st_mode) and link.st_uid != uid:
        raise StateDirError(
            f"state directory {state_dir} is a link made by uid {link.st_uid}, not this user; refusing it"
        )
    if not stat.S_ISDIR(st.st_mode):
        raise StateDirError(f"state directory {state_dir} is not a directory")
    if st.st_uid != uid:
        raise StateDirError(
            f"state directory {state_dir} belongs to uid {st.st_uid}, not this user ({uid}): another user "
            "could replace runtime.json; use a directory of your own (--state-dir, $LSD_BRIDGE_HOME)"
        )
    if st.st_mode & 0o022:
        raise StateDirError(
            f"state directory {state_dir} is writable by others (mode {stat.S_IMODE(st.st_mode):o}): "
            f"they could replace runtime.json; chmod 700 {state_dir} or use another directory"
        )
    return state_dir


def new_token() -> str:
    return secrets.token_hex(32)


@dataclass(frozen=True)
class RuntimeInfo:
    endpoint: str
    token: str
    pid: int
    version: str
    server_key: str = ""  # Z85 CURVE public key when the runtime encrypts its endpoint
    console: str = ""  # the web console's current one-time login URL (serve --web)


def write_state(state_dir: Path, info: RuntimeInfo) -> Path:
    """Write ``runtime.json`` atomically with mode 0600 into a checked state directory (made
    0700 when missing). The temporary file has a fresh random name and is created exclusively
    without following links; the rename replaces a link at ``runtime.json``, never its target."""
    check_state_dir(state_dir, create=True)
    path = state_dir / STATE_FILE
    tmp = state_dir / f".{STATE_FILE}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(info.__dict__, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def read_state(state_dir: Path | None = None) -> RuntimeInfo:
    """The runtime's state, after checking that nobody else could have written it."""
    directory = state_dir or default_state_dir()
    path = directory / STATE_FILE
    try:
        check_state_dir(directory)
        data = json.loads(_read_own_file(path))
        return RuntimeInfo(
            endpoint=data["endpoint"],
            token=data["token"],
            pid=int(data["pid"]),
            version=str(data.get("version", "")),
            server_key=str(data.get("server_key", "")),
            console=str(data.get("console", "")),
        )
    except FileNotFoundError:
        raise FileNotFoundError(f"no runtime state at {path}: is `lsd-runtime serve` running?") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a runtime state file ({exc})") from None


def _read_own_file(path: Path) -> str:
    """The text of ``path`` if it is a regular file of this user's that only the user may read
    or write (POSIX; not a link)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StateDirError(f"{path} is a link; the runtime writes a plain file: refusing it") from None
        raise
    with os.fdopen(fd, "r") as f:
        if hasattr(os, "geteuid"):
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                raise StateDirError(f"{path} is not a file of this user's; refusing it")
            if st.st_mode & 0o077:
                raise StateDirError(
                    f"{path} is open to others (mode {stat.S_IMODE(st.st_mode):o}; the runtime writes 0600); "
                    "refusing it"
                )
        return f.read()


class StateDirLock:
    """Held by a runtime for as long as it lives (the kernel lets go when it dies): a second
    runtime started in the same state directory is refused instead of taking over its socket
    and ``runtime.json``, however close together the two start."""

    NAME = "runtime.lock"

    def __init__(self, state_dir: Path):
        path = state_dir / self.NAME
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            if sys.platform == "win32":  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(self._fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            try:
                other = read_state(state_dir)
                who = f"a runtime (pid {other.pid}, {other.endpoint})"
            except (OSError, ValueError):
                who = "another runtime"
            raise StateDirError(
                f"{who} already serves {state_dir}; stop it, or give this one another --state-dir"
            ) from None

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def remove_state(state_dir: Path, pid: int) -> None:
    """Remove ``runtime.json`` if it still belongs to process ``pid``."""
    try:
        if read_state(state_dir).pid == pid:
            (state_dir / STATE_FILE).unlink()
    except (OSError, ValueError):  # gone, replaced or not ours: leave it
        pass
