"""Owner-only named shared-memory slots (the ``shm`` transport).

One segment per slot. On POSIX the runtime creates ``/dev/shm``-style segments with
``shm_open(O_CREAT | O_EXCL, 0600)`` and unlinks them when the session ends; a client
opens them by name. On Windows a named file mapping (``Local\\name``) is used, which the
OS frees when the last handle closes.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sys
from typing import Any

try:  # POSIX: the primitives multiprocessing.shared_memory uses, without its resource tracker
    import _posixshmem  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Windows
    _posixshmem = None

SHM_DIR = "/dev/shm"


class ShmSlot:
    """One mapped shared-memory segment."""

    def __init__(self, name: str, size: int, create: bool):
        if not name.startswith("/") or "/" in name[1:] or len(name) > 200:
            raise ValueError(f"bad shared-memory name '{name[:64]}'")
        self.name = name
        self.size = size
        self.owner = create
        self._map: mmap.mmap | None = None
        self._unlinked = False
        if _posixshmem is not None:
            flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
            fd = _posixshmem.shm_open(name, flags, mode=0o600)
            try:
                if create:
                    os.ftruncate(fd, size)
                elif os.fstat(fd).st_size < size:
                    raise ValueError(f"shared memory '{name}' is {os.fstat(fd).st_size} bytes, "
                                     f"expected {size}")
                self._map = mmap.mmap(fd, size)
            except BaseException:
                if create:
                    _posixshmem.shm_unlink(name)
                raise
            finally:
                os.close(fd)
        else:  # pragma: no cover - Windows
            self._map = mmap.mmap(-1, size, tagname="Local\\" + name.lstrip("/"))
        self.buffer = memoryview(self._map)

    def unlink(self) -> None:
        """Remove the name (owner only); mappings stay valid until closed."""
        if self.owner and not self._unlinked and _posixshmem is not None:
            self._unlinked = True
            with contextlib.suppress(FileNotFoundError):
                _posixshmem.shm_unlink(self.name)

    @staticmethod
    def unlink_name(name: str) -> None:
        """Remove a segment by name without mapping it (POSIX)."""
        if _posixshmem is not None:
            _posixshmem.shm_unlink(name)

    def close(self) -> None:
        """Unmap; the owner also unlinks the name."""
        self.unlink()
        if self._map is None:
            return
        self.buffer.release()
        # a numpy view still alive keeps the mapping; it goes when the view does
        with contextlib.suppress(BufferError):
            self._map.close()
        self._map = None

    def __enter__(self) -> ShmSlot:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def segment_exists(name: str) -> bool:
    """Whether a POSIX segment of this name exists (checked on the filesystem)."""
    return os.path.exists(os.path.join(SHM_DIR, name.lstrip("/")))


def list_segments(prefix: str) -> list[str]:
    """Names of the POSIX segments whose name starts with ``prefix`` (without the slash)."""
    if not sys.platform.startswith("linux") or not os.path.isdir(SHM_DIR):
        return []
    return sorted("/" + n for n in os.listdir(SHM_DIR) if n.startswith(prefix))
