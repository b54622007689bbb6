"""Slot memory no peer can pull out from under a mapping: sealed memfds on Linux, and named
segments (other POSIX systems) under unpredictable names, retried when one is taken."""

from __future__ import annotations

import errno
import mmap
import os
import sys

import pytest

from lsd_runtime.transport import shm
from lsd_runtime.transport.shm import MEMFD_PATH, ShmSlot, SlotMemoryError

LINUX = sys.platform.startswith("linux")
PAGE = mmap.PAGESIZE  # slot sizes in these tests


@pytest.mark.skipif(not LINUX, reason="memfd slots are the Linux transport")
def test_a_slot_is_a_sealed_memfd_that_nobody_can_resize() -> None:
    with ShmSlot("/lsd-unit-seal-in-0", PAGE, create=True) as slot:
        assert MEMFD_PATH.fullmatch(slot.name) and slot.name.startswith(f"/proc/{os.getpid()}/fd/")
        assert os.readlink(slot.name).startswith("/memfd:lsd-unit-seal-in-0")
        slot.buffer[:5] = b"hello"
        with ShmSlot(slot.name, PAGE, create=False) as client:
            assert bytes(client.buffer[:5]) == b"hello"  # the same memory
        fd = os.open(slot.name, os.O_RDWR)
        try:
            for size in (0, PAGE // 2, PAGE * 2):
                with pytest.raises(PermissionError):
                    os.ftruncate(fd, size)
            assert os.fstat(fd).st_size == PAGE
        finally:
            os.close(fd)


@pytest.mark.skipif(not LINUX, reason="memfd slots are the Linux transport")
def test_a_client_maps_only_sealed_memory_of_the_right_size() -> None:
    fd = os.memfd_create("lsd-unit-unsealed", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, PAGE)
        path = f"/proc/{os.getpid()}/fd/{fd}"
        with pytest.raises(SlotMemoryError, match="not sealed against shrinking"):
            ShmSlot(path, PAGE, create=False)
    finally:
        os.close(fd)
    with (
        ShmSlot("/lsd-unit-small", PAGE, create=True) as slot,
        pytest.raises(SlotMemoryError, match=f"is {PAGE} bytes, expected {2 * PAGE}"),
    ):
        ShmSlot(slot.name, 2 * PAGE, create=False)
    with pytest.raises(SlotMemoryError, match="could shrink"):
        ShmSlot("/lsd-unit-named", PAGE, create=False)  # a named segment: refused on Linux
    with pytest.raises(SlotMemoryError, match="cannot open"):
        ShmSlot(f"/proc/{os.getpid()}/fd/999999", PAGE, create=False)
    with pytest.raises(ValueError, match="bad shared-memory name"):
        ShmSlot("../etc/passwd", PAGE, create=False)


@pytest.mark.skipif(shm._posixshmem is None, reason="named segments are the POSIX fallback")
def test_named_segments_get_fresh_unpredictable_names_when_one_is_taken(monkeypatch) -> None:
    monkeypatch.setattr(shm, "USE_MEMFD", False)
    tokens = iter(["squatted", "squatted", "fresh"])
    monkeypatch.setattr(shm.secrets, "token_hex", lambda n: next(tokens))
    squat = ShmSlot.__new__(ShmSlot)  # a segment someone made first under the next name
    fd = shm._posixshmem.shm_open("/lsd-unit-squat-squatted", os.O_RDWR | os.O_CREAT | os.O_EXCL, mode=0o600)
    os.close(fd)
    try:
        with ShmSlot("/lsd-unit-squat", PAGE, create=True) as slot:
            assert slot.name == "/lsd-unit-squat-fresh"
            assert os.stat("/dev/shm/lsd-unit-squat-fresh").st_size == PAGE
        assert not os.path.exists("/dev/shm/lsd-unit-squat-fresh")
    finally:
        ShmSlot.unlink_name("/lsd-unit-squat-squatted")
    del squat
    monkeypatch.setattr(shm.secrets, "token_hex", lambda n: "squatted")
    fd = shm._posixshmem.shm_open("/lsd-unit-squat-squatted", os.O_RDWR | os.O_CREAT | os.O_EXCL, mode=0o600)
    os.close(fd)
    try:
        with pytest.raises(SlotMemoryError) as info:
            ShmSlot("/lsd-unit-squat", PAGE, create=True)
        assert info.value.errno == errno.EEXIST and "all taken" in str(info.value)
    finally:
        ShmSlot.unlink_name("/lsd-unit-squat-squatted")


def test_memory_that_cannot_be_reserved_is_an_error_naming_the_size(monkeypatch) -> None:
    def no_space(fd: int, offset: int, size: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shm.os, "posix_fallocate", no_space)
    with pytest.raises(SlotMemoryError, match=r"cannot reserve a 1\.0 MiB slot: No space left on device"):
        ShmSlot("/lsd-unit-full", 1 << 20, create=True)


@pytest.mark.skipif(not LINUX, reason="memfd slots are the Linux transport")
def test_a_client_maps_a_memfd_only_if_it_is_its_own_sessions() -> None:
    with ShmSlot("/lsd-unit-s4-abcd-g1-in-0", PAGE, create=True) as slot:
        with ShmSlot(slot.name, PAGE, create=False, session="s4-abcd"):
            pass
        with pytest.raises(SlotMemoryError, match="not session s5-ffff's"):
            ShmSlot(slot.name, PAGE, create=False, session="s5-ffff")
