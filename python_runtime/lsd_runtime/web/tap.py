"""A session's frames, for whoever watches them in the web console.

The session worker hands each frame's pictures to the session's ``SessionTap`` only while
someone watches (references the pipeline made anyway: no copy, no encoding on the frame
path). One ``Encoder`` thread turns the newest pair of each watched session into JPEGs and
hands them to the web server's loop; a newer frame replaces one not yet encoded (latest frame
wins), so a slow browser never slows the runtime.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 640  # pictures wider than this are scaled down for the browser
MAX_FPS = 60.0  # frames a second encoded per watched session at most (newer ones replace older)
JPEG_QUALITY = 85
HEADER = struct.Struct("<cdIf")  # kind (b"I"/b"O"), wall time the frame was done, frame id (low 32 bits), ms


def rgb8(picture: Any) -> np.ndarray:
    """A picture the pipeline made (``[H, W, 3]`` uint8 RGB, or a ``[1, 3, H, W]`` float tensor
    in [0, 1]) as a contiguous ``[H, W, 3]`` uint8 RGB array."""
    if isinstance(picture, torch.Tensor):
        t = picture.detach()[0].clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
        return np.ascontiguousarray(t.permute(1, 2, 0).cpu().numpy())
    return np.ascontiguousarray(picture[..., :3])


def jpeg(picture: np.ndarray, width: int = PREVIEW_WIDTH, quality: int = JPEG_QUALITY) -> bytes:
    import cv2

    h, w = picture.shape[:2]
    if w > width:
        picture = cv2.resize(picture, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    bgr = np.ascontiguousarray(picture[..., ::-1])
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


@dataclass
class Pair:
    frame_id: int
    model_input: Any
    model_output: Any
    done_at: float  # time.time() when the runtime answered the frame
    total_ms: float


class SessionTap:
    """What the console knows of one session's frames; the session worker calls ``wants``,
    ``capture`` and ``frame_done`` (the ``FrameTap`` protocol)."""

    def __init__(self, encoder: Encoder, key: str):
        self.key = key
        self._encoder = encoder
        self.watchers = 0  # changed on the web server's loop; read by the session worker
        self.outputs_only = 0  # watchers that want the restyled frame alone (an OBS view)
        self._captured: tuple[Any, Any] | None = None
        self.latest: Pair | None = None  # handed to the encoder, replaced by newer ones
        self.next_at = 0.0  # monotonic time the encoder may take this session's next frame

    def wants(self) -> bool:
        return self.watchers > 0

    def capture(self, model_input: Any, model_output: Any) -> None:
        self._captured = (model_input, model_output)

    def frame_done(self, frame_id: int, timings: dict[str, float]) -> None:
        captured, self._captured = self._captured, None
        if captured is None:
            return
        self.latest = Pair(frame_id, captured[0], captured[1], time.time(), timings.get("total_ms", 0.0))
        self._encoder.poke()


Deliver = Callable[[str, list[bytes]], None]


class Encoder:
    """One thread: the newest frame pair of every watched session, as JPEG messages."""

    def __init__(self, deliver: Deliver):
        self._deliver = deliver  # (tap key, messages): called on this thread; schedules the send
        self._taps: dict[str, SessionTap] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lsd-web-encoder", daemon=True)
        self.encoded = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5)

    def tap(self, key: str) -> SessionTap:
        tap = self._taps.get(key)
        if tap is None:
            tap = self._taps[key] = SessionTap(self, key)
        return tap

    def forget(self, key: str) -> None:
        self._taps.pop(key, None)

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        wait = 0.5
        while not self._stop.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            wait = 0.5
            for tap in list(self._taps.values()):
                now = time.monotonic()
                if tap.latest is not None and now < tap.next_at:  # at most MAX_FPS: come back for it
                    wait = min(wait, tap.next_at - now)
                    continue
                pair, tap.latest = tap.latest, None
                if pair is None or not tap.wants():
                    continue
                tap.next_at = now + 1.0 / MAX_FPS
                try:
                    messages = self.encode(pair, tap.outputs_only >= tap.watchers)
                except Exception:  # a picture the encoder cannot handle must not stop the console
                    log.exception("the web console could not encode a frame of %s", tap.key)
                    continue
                self.encoded += 1
                self._deliver(tap.key, messages)

    @staticmethod
    def encode(pair: Pair, outputs_only: bool) -> list[bytes]:
        fid = pair.frame_id & 0xFFFFFFFF
        out = HEADER.pack(b"O", pair.done_at, fid, pair.total_ms) + jpeg(rgb8(pair.model_output))
        if outputs_only:
            return [out]
        return [HEADER.pack(b"I", pair.done_at, fid, pair.total_ms) + jpeg(rgb8(pair.model_input)), out]
