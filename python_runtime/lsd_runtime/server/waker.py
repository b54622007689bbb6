"""A wake-up signal any thread can raise and one thread can poll, with no ZeroMQ socket shared.

Worker threads (session workers, API callers of the Python client) must wake the I/O thread
that owns the ZeroMQ sockets, but ZeroMQ sockets are not thread-safe. A connected pair of
plain OS sockets is: ``wake()`` writes one byte to one end (from any thread, never blocking),
and the I/O thread registers the other end's file descriptor in its ``zmq.Poller`` (ZeroMQ
polls raw descriptors on every platform, Windows included, where ``os.pipe`` would not do).
``close()`` is safe against wakers racing it: a wake after close does nothing.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Waker:
    def __init__(self) -> None:
        self._rx, self._tx = socket.socketpair()
        self._rx.setblocking(False)
        self._tx.setblocking(False)
        # orders wake() against close(); reentrant, so a signal handler that wakes cannot deadlock
        self._lock = threading.RLock()
        self._closed = False

    def fileno(self) -> int:
        """The descriptor the I/O thread polls for reading."""
        return self._rx.fileno()

    def wake(self) -> None:
        """Wake the poller. Thread-safe, never blocks; a no-op once closed."""
        with self._lock:
            if self._closed:
                return
            # full buffer: a wake-up is already pending, which is all that is needed
            with contextlib.suppress(BlockingIOError, InterruptedError):
                self._tx.send(b"\0")

    def drain(self) -> None:
        """Swallow pending wake-ups (the polling thread, after it woke)."""
        with contextlib.suppress(BlockingIOError, InterruptedError, OSError):
            while self._rx.recv(1024):
                pass

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._tx.close()
            self._rx.close()

    @property
    def closed(self) -> bool:
        return self._closed
