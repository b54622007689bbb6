"""Liveness: whether a client's process still runs, and clean-up after runtimes that died."""

from __future__ import annotations

import contextlib
import os

import psutil

from ..transport.shm import ShmSlot, list_segments


class ProcessWatch:
    """Tells whether the process a client named in ``hello`` is still alive."""

    def __init__(self, pid: int):
        self.pid = pid
        try:
            self._proc: psutil.Process | None = psutil.Process(pid)
        except (psutil.Error, ValueError):
            self._proc = None  # not visible from here (another namespace): rely on heartbeats

    def alive(self) -> bool:
        if self._proc is None:
            return True
        try:
            return self._proc.is_running() and self._proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
        except psutil.Error:
            return True


def sweep_stale_segments() -> list[str]:
    """Unlink slot segments left by runtimes that died without cleaning up (SIGKILL, crash).

    Segment names start with ``lsd-<pid>-``; only those of processes that no longer exist
    are removed (and only ours can be: they are owner-only).
    """
    removed = []
    for name in list_segments("lsd-"):
        pid_text = name[len("/lsd-") :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or psutil.pid_exists(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            ShmSlot.unlink_name(name)
            removed.append(name)
    return removed
