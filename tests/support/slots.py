"""Where a runtime's slot memory is, for tests that check it is freed.

On Linux slots are sealed memfds that clients open as ``/proc/<pid>/fd/<n>``; a slot is
identified by the memfd's name (``/memfd:lsd-<pid>-<session>-g<n>-in-<k> (deleted)``), which an
fd number reused later cannot fake. Elsewhere they are named segments under ``/dev/shm``.
"""

from __future__ import annotations

import os

from lsd_runtime.transport.shm import MEMFD_PATH, list_segments, segment_exists, slot_memfds


def slot_ids(names: list[str]) -> list[str]:
    """A stable identity for each slot ``bound`` named, taken while the slots exist."""
    return [os.readlink(n) if MEMFD_PATH.fullmatch(n) else n for n in names]


def held_slots(pid: int) -> list[str]:
    """The slot memory process ``pid`` (a runtime) holds: its slot memfds and named segments."""
    return slot_memfds(pid) + list_segments(f"lsd-{pid}-")


def slots_alive(pid: int, ids: list[str]) -> list[str]:
    """Those of ``ids`` that the runtime ``pid`` still holds."""
    held = set(slot_memfds(pid))
    return [i for i in ids if i in held or (i.startswith("/lsd-") and segment_exists(i))]
