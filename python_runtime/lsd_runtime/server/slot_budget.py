"""The memory every session's slot rings may take together.

One ``bind`` is capped by the contract (``max_bind_bytes``); this caps them all, so that many
valid binds cannot together exhaust the machine. A ``bind`` that does not fit is refused with
``no_memory`` naming what it asked and what is left; nothing else changes.
"""

from __future__ import annotations

import threading
from pathlib import Path

import psutil

DEFAULT_CAP_BYTES = 16 << 30  # at most this by default, and at most half the machine's memory
SPARE_BYTES = 256 << 20  # a bind must leave the system at least this much memory available


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def cgroup_memory() -> tuple[int, int] | None:
    """This process's cgroup memory limit and usage in bytes (Linux, v2 or v1), or None when
    there is no limit. Slot memory is charged to it: going over it gets the runtime killed."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2 unified hierarchy
            base = Path("/sys/fs/cgroup") / path.lstrip("/")
            limit, usage = _read_int(base / "memory.max"), _read_int(base / "memory.current")
        elif "memory" in controllers.split(","):
            base = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            limit = _read_int(base / "memory.limit_in_bytes")
            usage = _read_int(base / "memory.usage_in_bytes")
        else:
            continue
        if limit is not None and usage is not None and limit < (1 << 60):  # v1 says "none" with ~2^63
            return limit, usage
    return None


def memory_available() -> int:
    """Bytes the system can still give this process: what the kernel calls available, and
    what its cgroup limit leaves."""
    available = psutil.virtual_memory().available
    cg = cgroup_memory()
    return min(available, cg[0] - cg[1]) if cg is not None else available


def default_slot_budget() -> int:
    """Half of this machine's physical memory (or of the cgroup's limit), at most 16 GiB."""
    total = psutil.virtual_memory().total
    cg = cgroup_memory()
    if cg is not None:
        total = min(total, cg[0])
    return min(DEFAULT_CAP_BYTES, total // 2)


class SlotBudget:
    def __init__(self, limit: int):
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    def take(self, nbytes: int) -> int | None:
        """Reserve ``nbytes``; returns None when they fit, else the bytes that are left."""
        with self._lock:
            left = self.limit - self._used
            if nbytes > left:
                return left
            self._used += nbytes
            return None

    def give(self, nbytes: int) -> None:
        with self._lock:
            self._used = max(0, self._used - nbytes)
