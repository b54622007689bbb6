"""Where restyled frames go: a callback, a video file, a virtual camera (the preview window is
in ``preview.py``). Sinks receive RGB ``[H, W, 3]`` uint8 frames on the engine's thread."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MissingDependencyError, SinkError
from .info import FrameInfo
from .opencv import import_cv2, quiet

FrameCallback = Callable[[np.ndarray, FrameInfo], Any]

# extension → codecs tried in order; the first that opens wins. FFV1 and PNG are lossless.
CODECS: dict[str, tuple[str, ...]] = {
    ".avi": ("FFV1", "MJPG"),
    ".mkv": ("FFV1", "MJPG"),
    ".mov": ("png ", "mp4v"),
    ".mp4": ("mp4v", "avc1"),
}
DEFAULT_FPS = 30.0


class Sink(ABC):
    @abstractmethod
    def write(self, frame: np.ndarray, info: FrameInfo) -> None:
        """Take one restyled RGB frame."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and free."""


class CallbackSink(Sink):
    def __init__(self, fn: FrameCallback):
        self.fn = fn

    def write(self, frame: np.ndarray, info: FrameInfo) -> None:
        self.fn(frame, info)


class VideoFileSink(Sink):
    """Writes frames with OpenCV's ``VideoWriter``. The file opens on the first frame, at that
    frame's size and at ``fps`` (the source's rate when it has one). ``codec`` is a FourCC;
    by default the extension picks one (``.avi``/``.mkv``: lossless FFV1)."""

    def __init__(self, path: str | os.PathLike[str], fps: float | None = None, codec: str | None = None):
        self.path = Path(path)
        self.fps = fps or DEFAULT_FPS
        ext = self.path.suffix.lower()
        if codec is None and ext not in CODECS:
            raise SinkError(
                f"cannot write '{self.path}': unknown video extension '{ext}'; use one of "
                f"{', '.join(CODECS)} (.avi and .mkv are lossless)"
            )
        self.codecs = (codec,) if codec else CODECS[ext]
        if not self.path.parent.exists():
            raise SinkError(f"cannot write '{self.path}': folder '{self.path.parent}' does not exist")
        self._cv2 = import_cv2("writing a video file")
        self._writer: Any = None
        self.codec = ""
        self.size: tuple[int, int] | None = None
        self.frames_written = 0

    def _open(self, width: int, height: int) -> None:
        cv2 = self._cv2
        with quiet(cv2):
            for codec in self.codecs:
                writer = cv2.VideoWriter(
                    str(self.path), cv2.VideoWriter_fourcc(*codec), self.fps, (width, height)
                )
                if writer.isOpened():
                    self._writer, self.codec, self.size = writer, codec, (width, height)
                    return
                writer.release()
        raise SinkError(
            f"cannot write '{self.path}': this OpenCV build cannot encode "
            f"{' or '.join(c.strip() for c in self.codecs)} here; try another extension "
            "(.avi) or check the folder is writable"
        )

    def write(self, frame: np.ndarray, info: FrameInfo) -> None:
        h, w = frame.shape[:2]
        if self._writer is None:
            self._open(w, h)
        elif (w, h) != self.size:
            raise SinkError(
                f"the stream changed size from {self.size[0]}x{self.size[1]} to {w}x{h}; "  # type: ignore[index]
                "a video file keeps one size"
            )
        self._writer.write(np.ascontiguousarray(frame[..., ::-1]))
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


class VirtualCameraSink(Sink):
    """Sends frames to a virtual camera (OBS Virtual Camera, v4l2loopback, ...) with
    ``pyvirtualcam``; the camera opens on the first frame at that frame's size."""

    def __init__(self, fps: float | None = None, device: str | None = None):
        try:
            import pyvirtualcam
        except ImportError as exc:
            raise MissingDependencyError(
                "a virtual camera needs pyvirtualcam: pip install pyvirtualcam "
                "(and OBS, or v4l2loopback on Linux)"
            ) from exc
        self._module = pyvirtualcam
        self.fps = fps or DEFAULT_FPS
        self.device = device
        self._cam: Any = None

    def write(self, frame: np.ndarray, info: FrameInfo) -> None:
        if self._cam is None:
            h, w = frame.shape[:2]
            try:
                self._cam = self._module.Camera(width=w, height=h, fps=self.fps, device=self.device)
            except Exception as exc:  # pyvirtualcam raises RuntimeError when no backend is installed
                raise SinkError(f"cannot open a virtual camera: {exc}") from exc
        self._cam.send(frame)

    def close(self) -> None:
        if self._cam is not None:
            self._cam.close()
            self._cam = None
