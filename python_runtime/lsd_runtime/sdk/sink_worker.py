"""Handing restyled frames to the sinks on a thread of their own.

Encoding a video file or drawing a preview takes as long as a restyle (FFV1 at 800x600: about
as long as the toon effect), so the pump does not wait for it: it queues the frame and goes on
to the next one, and the two overlap. The queue holds ``depth`` frames; when it is full the pump
waits (no delivered frame is ever dropped before its sinks saw it). A sink that raises stops the
stream: the error is raised on the pump's thread at its next frame, then from ``wait``/``stop``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .info import FrameInfo
from .sinks import Sink

log = logging.getLogger("lsd_runtime.sdk")


@dataclass
class _Delivery:
    image: np.ndarray
    info: FrameInfo
    captured_at: float  # perf_counter() when the source frame was read


@dataclass
class _Close:
    finish: Callable[[], None] | None  # run on the sink thread last (closing windows and files)


class SinkWorker:
    def __init__(self, sinks: list[Sink], on_shown: Callable[[float], None], depth: int = 2):
        self.sinks = sinks
        self._on_shown = on_shown  # capture → every sink done, in ms
        self._queue: queue.Queue[_Delivery | _Close] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self._abandon = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lsd-sdk-sinks", daemon=True)
        self._thread.start()

    def put(self, image: np.ndarray, info: FrameInfo, captured_at: float, stop: threading.Event) -> None:
        """Queue one frame for the sinks (waits while the queue is full); raises the error a sink
        raised earlier. Returns without queueing when ``stop`` is set meanwhile."""
        item = _Delivery(image, info, captured_at)
        while True:
            if self.error is not None:
                raise self.error
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                if stop.is_set():
                    return

    def close(self, finish: Callable[[], None] | None = None, timeout: float = 5.0) -> bool:
        """Let the sinks take what is queued, run ``finish`` on the sink thread (a preview window
        is closed on the thread that drew it), and end the thread; False if a sink was still busy
        after ``timeout`` seconds (what is queued is then abandoned, and ``finish`` never runs)."""
        deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self._queue.put(_Close(finish), timeout=0.05)
                break
            except queue.Full:
                if time.monotonic() > deadline:
                    break
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self._abandon.set()
            log.warning("a sink was still busy %.1f s after the stream stopped; frames dropped", timeout)
            return False
        return True

    def _run(self) -> None:
        while not self._abandon.is_set():
            item = self._queue.get()
            if isinstance(item, _Close):
                if item.finish is not None:
                    try:
                        item.finish()
                    except BaseException as exc:
                        self.error = self.error or exc
                return
            if self.error is not None:
                continue  # the stream is stopping: drain without writing
            try:
                for sink in self.sinks:
                    sink.write(item.image, item.info)
            except BaseException as exc:  # raised on the pump's thread
                self.error = exc
                continue
            self._on_shown((time.perf_counter() - item.captured_at) * 1e3)
