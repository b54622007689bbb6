"""Decoding frames on a background thread.

With ``drop_stale`` (live sources) only the newest frame waits: a consumer that falls behind
gets the latest frame and a list of the ones it skipped, never a growing backlog. Without it
(files, iterators) the reader stays at most ``depth`` frames ahead and every frame is handed
over, in order.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from .frames import EngineFrame, to_rgba
from .sources import FrameSource


@dataclass
class SourceFrame:
    index: int  # 0-based position in the source
    rgba: np.ndarray  # image-order [H, W, 4] uint8
    capture_time: float  # time.time() when it was read
    captured_at: float  # time.perf_counter() when it was read
    motion: np.ndarray | None = None  # an EngineFrame's planes (pixels, +y down; linear depth)
    depth: np.ndarray | None = None
    camera_cut: bool = False


class EndOfStream:
    """Returned by ``FrameReader.get`` once the source is exhausted (or stopped)."""


END = EndOfStream()


class FrameReader:
    def __init__(
        self, source: FrameSource, *, drop_stale: bool, max_frames: int | None = None, depth: int = 2
    ):
        self.source = source
        self.drop_stale = drop_stale
        self.max_frames = max_frames
        self.depth = depth
        self._cond = threading.Condition()
        self._ready: deque[SourceFrame] = deque()
        self._stale: list[int] = []
        self._ended = False
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.frames_read = 0
        self._thread = threading.Thread(target=self._run, name="lsd-sdk-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def get(self, timeout: float) -> SourceFrame | EndOfStream | None:
        """The next frame; ``END`` at the end; None if none arrived within ``timeout`` seconds.
        A reading error is raised here, on the consumer's thread."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._ready:
                if self.error is not None:
                    raise self.error
                if self._ended:
                    return END
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            frame = self._ready.popleft()
            self._cond.notify_all()
            return frame

    def take_stale(self) -> list[int]:
        """Indices of frames skipped because a newer one arrived first (live sources)."""
        with self._cond:
            stale, self._stale = self._stale, []
            return stale

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            index = 0
            while not self._stop.is_set() and (self.max_frames is None or index < self.max_frames):
                image = self.source.read()
                if image is None:
                    break
                if isinstance(image, EngineFrame):
                    e = image.checked()
                    frame = SourceFrame(
                        index, e.image, time.time(), time.perf_counter(), e.motion, e.depth, e.camera_cut
                    )
                else:
                    frame = SourceFrame(index, to_rgba(image), time.time(), time.perf_counter())
                index += 1
                with self._cond:
                    if self.drop_stale:
                        while self._ready:
                            skipped = self._ready.popleft()
                            self._stale.append(skipped.index)
                            # motion says how far from the frame before: it skipped one, so it
                            # no longer holds; a camera cut must still reach the backend
                            frame.motion = None
                            frame.camera_cut = frame.camera_cut or skipped.camera_cut
                    else:
                        while len(self._ready) >= self.depth and not self._stop.is_set():
                            self._cond.wait(0.1)
                    self._ready.append(frame)
                    self.frames_read = index
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the consumer by get()
            self.error = exc
        finally:
            try:
                self.source.close()
            finally:
                with self._cond:
                    self._ended = True
                    self._cond.notify_all()
