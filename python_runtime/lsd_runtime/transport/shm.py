"""Shared-memory slots (the ``shm`` transport) that no peer can pull out from under a mapping.

A process that maps shared memory dies with SIGBUS when the memory behind the mapping goes
away, and on Linux any process of the same user can shrink a named ``/dev/shm`` segment with
``ftruncate``. So the runtime never maps memory a peer can shrink:

- **Linux**: each slot is an anonymous ``memfd``, sized, its pages reserved up front
  (``fallocate``: a full ``/dev/shm`` or a memory limit is a ``bind`` error, never a SIGBUS
  later), and sealed against shrinking and growing (``F_SEAL_SHRINK | F_SEAL_GROW |
  F_SEAL_SEAL``): nobody, the runtime included, can change its size again. It has no name a
  peer could squat or leave behind: clients open it as ``/proc/<runtime pid>/fd/<fd>`` (the
  kernel lets only the runtime's own user do that) and check the seals before mapping it, so a
  client cannot be made to fault either. It is freed when the runtime and its clients let go.
- **macOS and other POSIX**: a named segment (``shm_open(O_CREAT | O_EXCL, 0600)``) under an
  unpredictable name, retried with fresh names if one is taken. A segment there cannot be
  resized once sized.
- **Windows**: a named file mapping (``Local\\name``); a mapping's size is fixed for its life.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import re
import secrets
import sys
from typing import Any

try:  # POSIX: the primitives multiprocessing.shared_memory uses, without its resource tracker
    import _posixshmem  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Windows
    _posixshmem = None

if sys.platform.startswith("linux"):
    import fcntl
else:  # Windows has no fcntl; other POSIX systems have no seals
    fcntl = None  # type: ignore[assignment]

SHM_DIR = "/dev/shm"
USE_MEMFD = fcntl is not None and hasattr(os, "memfd_create")
# the kernel's values (Python names them from 3.8 on; older C libraries may not)
F_ADD_SEALS = getattr(fcntl, "F_ADD_SEALS", 1033)
F_GET_SEALS = getattr(fcntl, "F_GET_SEALS", 1034)
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW = 0x0001, 0x0002, 0x0004
SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL
# what this side can open, for hello.shm: a Linux client maps only sealed memfds
SHM_KINDS = ["memfd"] if USE_MEMFD else ["named"]
MEMFD_PATH = re.compile(r"/proc/[0-9]{1,10}/fd/[0-9]{1,10}")
NAME_ATTEMPTS = 8  # fresh random names tried when one is taken (named segments)


class SlotMemoryError(OSError):
    """The memory for a slot could not be had (reserved, created or opened); the message says
    how much was asked and why it failed."""


def free_shared_memory() -> int | None:
    """Bytes free in ``/dev/shm`` (None where there is none to ask)."""
    try:
        st = os.statvfs(SHM_DIR)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


class ShmSlot:
    """One slot's shared memory, mapped. ``create=True`` (the runtime) makes it; ``create=False``
    (a client) opens the ``name`` the runtime's ``bound`` reply gave."""

    def __init__(self, name: str, size: int, create: bool, session: str | None = None):
        if size <= 0:
            raise ValueError(f"shared-memory size {size}")
        self.size = size
        self.owner = create
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._unlinked = False
        if create:
            self.name = self._create(name, size)
        else:
            self.name = name
            self._open(name, size, session)
        self.buffer = memoryview(self._map)  # type: ignore[arg-type]

    # --- the runtime's side ----------------------------------------------------------------

    def _create(self, prefix: str, size: int) -> str:
        if USE_MEMFD:
            fd = os.memfd_create(prefix.strip("/")[:200] or "lsd-slot", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            try:
                os.ftruncate(fd, size)
                _reserve(fd, size)
                assert fcntl is not None
                fcntl.fcntl(fd, F_ADD_SEALS, SEALS)
                self._map = mmap.mmap(fd, size)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            self._unlinked = True  # nothing to unlink: it has no name
            return f"/proc/{os.getpid()}/fd/{fd}"
        if _posixshmem is None:  # pragma: no cover - Windows
            name = f"{prefix}-{secrets.token_hex(8)}"
            self._map = mmap.mmap(-1, size, tagname="Local\\" + name.lstrip("/"))  # type: ignore[call-arg]
            return name
        free = free_shared_memory()
        if free is not None and free < size:
            raise SlotMemoryError(
                errno.ENOSPC,
                f"a {size / 2**20:.1f} MiB slot does not fit: {SHM_DIR} has {free / 2**20:.1f} MiB free",
            )
        for _ in range(NAME_ATTEMPTS):
            name = f"{prefix}-{secrets.token_hex(8)}"  # unpredictable: nobody can take it first
            try:
                fd = _posixshmem.shm_open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode=0o600)
            except FileExistsError:
                continue
            try:
                os.ftruncate(fd, size)
                _reserve(fd, size)
                self._map = mmap.mmap(fd, size)
            except BaseException:
                _posixshmem.shm_unlink(name)
                raise
            finally:
                os.close(fd)
            return name
        raise SlotMemoryError(errno.EEXIST, f"{NAME_ATTEMPTS} fresh shared-memory names were all taken")

    # --- a client's side -------------------------------------------------------------------

    def _open(self, name: str, size: int, session: str | None) -> None:
        if MEMFD_PATH.fullmatch(name):
            if not sys.platform.startswith("linux"):
                raise ValueError(f"'{name}' is a Linux memfd path; this is {sys.platform}")
            try:
                fd = os.open(name, os.O_RDWR | os.O_CLOEXEC)  # a /proc magic link: no O_NOFOLLOW
            except OSError as exc:
                raise SlotMemoryError(exc.errno, f"cannot open slot memory {name}: {exc.strerror}") from None
            try:
                _check_session(name, session)
                _check_sealed(fd, name)
                _check_size(fd, name, size)
                self._map = mmap.mmap(fd, size)
            finally:
                os.close(fd)
            return
        if not name.startswith("/") or "/" in name[1:] or len(name) > 200:
            raise ValueError(f"bad shared-memory name '{name[:64]}'")
        if USE_MEMFD:
            # a named segment on Linux can be shrunk by any process of this user while mapped,
            # and touching it then kills this process: only sealed memfds are mapped here
            raise SlotMemoryError(
                errno.EPERM,
                f"the runtime offered a named segment ('{name[:64]}'), which another process could "
                "shrink under this one; update the runtime (it uses sealed memfds on Linux)",
            )
        if _posixshmem is None:  # pragma: no cover - Windows
            self._map = mmap.mmap(-1, size, tagname="Local\\" + name.lstrip("/"))  # type: ignore[call-arg]
            return
        fd = _posixshmem.shm_open(name, os.O_RDWR, mode=0o600)
        try:
            _check_size(fd, name, size)
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)

    # --- both ------------------------------------------------------------------------------

    def unlink(self) -> None:
        """Remove the name of a named segment (owner only); mappings stay valid until closed."""
        if self.owner and not self._unlinked and _posixshmem is not None:
            self._unlinked = True
            with contextlib.suppress(FileNotFoundError):
                _posixshmem.shm_unlink(self.name)

    @staticmethod
    def unlink_name(name: str) -> None:
        """Remove a named segment without mapping it (POSIX)."""
        if _posixshmem is not None:
            _posixshmem.shm_unlink(name)

    def close(self) -> None:
        """Unmap; the owner also unlinks the name (or closes the memfd)."""
        self.unlink()
        if self._map is not None:
            self.buffer.release()
            # a numpy view still alive keeps the mapping; it goes when the view does
            with contextlib.suppress(BufferError):
                self._map.close()
            self._map = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> ShmSlot:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _reserve(fd: int, size: int) -> None:
    """Allocate every page now, so that writing later cannot fail (or fault) for lack of memory
    (where the system can: macOS has no posix_fallocate, and its segments cannot grow anyway)."""
    if not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):  # a filesystem without fallocate
            return
        free = free_shared_memory()
        where = f"; {SHM_DIR} has {free / 2**20:.1f} MiB free" if free is not None and not USE_MEMFD else ""
        raise SlotMemoryError(
            exc.errno, f"cannot reserve a {size / 2**20:.1f} MiB slot: {exc.strerror}{where}"
        ) from None


def _check_session(name: str, session: str | None) -> None:
    """The memfd at ``name`` belongs to ``session``: its name carries the session id (a slot
    descriptor the runtime closed and reused for another session's memory is refused)."""
    if session is None:
        return
    target = os.readlink(name)
    if f"-{session}-" not in target:
        raise SlotMemoryError(errno.ESTALE, f"slot memory {name} is '{target}', not session {session}'s")


def _check_sealed(fd: int, name: str) -> None:
    assert fcntl is not None
    try:
        seals = fcntl.fcntl(fd, F_GET_SEALS)
    except OSError:
        seals = 0
    if not seals & F_SEAL_SHRINK:
        raise SlotMemoryError(
            errno.EPERM, f"slot memory {name} is not sealed against shrinking; refusing to map it"
        )


def _check_size(fd: int, name: str, size: int) -> None:
    actual = os.fstat(fd).st_size
    if actual < size:
        raise SlotMemoryError(errno.EINVAL, f"slot memory {name} is {actual} bytes, expected {size}")


def segment_exists(name: str) -> bool:
    """Whether a named POSIX segment exists (checked on the filesystem)."""
    return os.path.exists(os.path.join(SHM_DIR, name.lstrip("/")))


def list_segments(prefix: str) -> list[str]:
    """Names of the named POSIX segments whose name starts with ``prefix`` (without the slash)."""
    if not sys.platform.startswith("linux") or not os.path.isdir(SHM_DIR):
        return []
    return sorted("/" + n for n in os.listdir(SHM_DIR) if n.startswith(prefix))


def slot_memfds(pid: int) -> list[str]:
    """The slot memfds process ``pid`` holds open (Linux), ``/memfd:NAME (deleted)`` once each
    (Python's mmap keeps a descriptor of its own beside the slot's)."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("/memfd:lsd-"):
                    found.add(target)
    return sorted(found)
