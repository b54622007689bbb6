"""A session's ring of frame slots on one transport (allocated once at bind)."""

from __future__ import annotations

from typing import Any

from .shm import ShmSlot


class SlotRing:
    """``spec.slots`` buffers of ``spec.size`` bytes: named shm segments, or private
    memory for the ``inline`` transport (pixels arrive inside the messages)."""

    def __init__(self, spec: Any, transport: str, name_prefix: str):
        """``spec``: a ``RingSpec`` or a plane's ``PlaneSpec`` (what counts: ``size`` and ``slots``)."""
        self.spec = spec
        self._shm: list[ShmSlot] = []
        self.buffers: list[memoryview | bytearray] = []
        try:
            for k in range(spec.slots):
                if transport == "shm":
                    slot = ShmSlot(f"{name_prefix}-{k}", spec.size, create=True)
                    self._shm.append(slot)
                    self.buffers.append(slot.buffer)
                else:
                    self.buffers.append(bytearray(spec.size))
        except BaseException:
            self.close()
            raise

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._shm]

    def unlink(self) -> None:
        """Remove the names at once; mappings stay usable until ``close``."""
        for s in self._shm:
            s.unlink()

    def close(self) -> None:
        for s in self._shm:
            s.close()
        self._shm.clear()
        self.buffers = []
