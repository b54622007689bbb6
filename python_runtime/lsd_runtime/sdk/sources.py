"""Where frames come from: a webcam, a video file, a screen region, or any iterator of arrays.

Every source yields image-order uint8 frames (RGB, RGBA or grey) from ``read`` until it
returns None. ``open`` checks everything it can up front and raises ``SourceError`` with a
message that says what to do, so a wrong camera index or file fails in ``start``, not later.
"""

from __future__ import annotations

import os
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import SourceError
from .opencv import import_cv2, quiet


@dataclass(frozen=True)
class SourceInfo:
    description: str
    live: bool  # a camera or the screen: frames keep coming and stale ones should be skipped
    fps: float | None = None  # frames per second the source was made at (a file's rate)
    frame_count: int | None = None  # known for files


class FrameSource(ABC):
    """A stream of frames; ``read`` is called from one background thread."""

    info: SourceInfo

    @abstractmethod
    def open(self) -> SourceInfo:
        """Open the source and check it can deliver; raise ``SourceError`` if not."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame, or None at the end."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free what the source holds."""


class CameraSource(FrameSource):
    """A webcam by OpenCV index (0 is usually the first camera)."""

    def __init__(self, index: int):
        self.index = index
        self._cap: Any = None
        self._first: np.ndarray | None = None

    def open(self) -> SourceInfo:
        cv2 = import_cv2("reading a camera")
        where = f" (/dev/video{self.index})" if sys.platform.startswith("linux") else ""
        with quiet(cv2):
            cap = cv2.VideoCapture(self.index)
            if not cap.isOpened():
                cap.release()
                raise SourceError(
                    f"no camera at index {self.index}{where}: check the index (0 is usually "
                    "the first camera), that no other program is using it, and that you may "
                    "access it; or give a video file instead"
                )
            ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise SourceError(
                f"camera {self.index}{where} opened but delivered no frame (is another program using it?)"
            )
        self._cap, self._first = cap, frame
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.info = SourceInfo(f"camera {self.index}", live=True, fps=fps if fps > 0 else None)
        return self.info

    def read(self) -> np.ndarray | None:
        if self._first is not None:
            frame, self._first = self._first, None
        else:
            ok, frame = self._cap.read()
            if not ok:
                return None
        return frame[..., ::-1]  # BGR → RGB

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource(FrameSource):
    """A video file decoded by OpenCV (FFmpeg), frame by frame."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._cap: Any = None
        self._cv2: Any = None
        self._first: np.ndarray | None = None

    def open(self) -> SourceInfo:
        if not self.path.exists():
            raise SourceError(f"cannot open video '{self.path}': no such file")
        if self.path.is_dir():
            raise SourceError(f"cannot open video '{self.path}': it is a folder, not a video file")
        if not os.access(self.path, os.R_OK):
            raise SourceError(f"cannot open video '{self.path}': permission denied")
        cv2 = import_cv2("reading a video file")
        with quiet(cv2):
            cap = cv2.VideoCapture(str(self.path))
            ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok or frame is None:
            cap.release()
            raise SourceError(
                f"cannot read video '{self.path}': OpenCV could not decode a frame (not a "
                "video, damaged, or in a codec this OpenCV build lacks)"
            )
        self._cap, self._first, self._cv2 = cap, frame, cv2
        fps = cap.get(cv2.CAP_PROP_FPS)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.info = SourceInfo(
            f"video {self.path.name}",
            live=False,
            fps=fps if fps > 0 else None,
            frame_count=count if count > 0 else None,
        )
        return self.info

    def read(self) -> np.ndarray | None:
        if self._first is not None:
            frame, self._first = self._first, None
        else:
            with quiet(self._cv2):  # FFmpeg complains on stderr about damaged frames
                ok, frame = self._cap.read()
            if not ok:
                return None
        return frame[..., ::-1]

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ScreenSource(FrameSource):
    """A region of the screen grabbed with ``mss`` (``region`` = left, top, width, height;
    None = the whole of ``monitor``), at most ``fps`` times a second."""

    def __init__(self, region: tuple[int, int, int, int] | None = None, monitor: int = 1, fps: float = 30.0):
        self.region = region
        self.monitor = monitor
        self.fps = fps
        self._grabber: Any = None
        self._box: dict[str, int] = {}
        self._next = 0.0

    def open(self) -> SourceInfo:
        try:
            import mss
        except ImportError as exc:
            raise SourceError(
                "screen capture needs the mss package: pip install 'lsd-bridge[sdk]' (or: pip install mss)"
            ) from exc
        if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
            raise SourceError(
                "screen capture needs an X11 display and DISPLAY is not set (on Wayland, "
                "run under XWayland); give a camera index or a video file instead"
            )
        try:
            grabber = mss.mss()
            monitors = grabber.monitors
            if self.region is not None:
                left, top, width, height = (int(v) for v in self.region)
                box = {"left": left, "top": top, "width": width, "height": height}
            else:
                if not 0 <= self.monitor < len(monitors):
                    raise SourceError(
                        f"no monitor {self.monitor}: this screen has monitors "
                        f"1..{len(monitors) - 1} (0 = all of them)"
                    )
                box = dict(monitors[self.monitor])
            grabber.grab(box)
        except SourceError:
            raise
        except Exception as exc:  # mss raises its own ScreenShotError, and OSError
            raise SourceError(f"cannot capture the screen: {exc}") from exc
        self._grabber, self._box = grabber, box
        self.info = SourceInfo(
            f"screen {box['width']}x{box['height']}+{box['left']}+{box['top']}", live=True, fps=self.fps
        )
        return self.info

    def read(self) -> np.ndarray | None:
        wait = self._next - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._next = time.monotonic() + 1.0 / self.fps
        shot = np.asarray(self._grabber.grab(self._box))  # BGRA
        return shot[..., 2::-1]

    def close(self) -> None:
        if self._grabber is not None:
            self._grabber.close()
            self._grabber = None


class IteratorSource(FrameSource):
    """Any iterable of uint8 numpy frames (RGB ``[H, W, 3]``, RGBA ``[H, W, 4]`` or grey)."""

    def __init__(self, frames: Iterable[np.ndarray], fps: float | None = None, live: bool = False):
        self._frames = frames
        self._it: Iterator[np.ndarray] | None = None
        self.fps = fps
        self.live = live

    def open(self) -> SourceInfo:
        self._it = iter(self._frames)
        count = len(self._frames) if hasattr(self._frames, "__len__") else None  # type: ignore[arg-type]
        self.info = SourceInfo("frames from an iterator", live=self.live, fps=self.fps, frame_count=count)
        return self.info

    def read(self) -> np.ndarray | None:
        assert self._it is not None
        return next(self._it, None)

    def close(self) -> None:
        close = getattr(self._it, "close", None)  # a generator: run its finally blocks
        if callable(close):
            close()


def open_source(spec: Any, fps: float | None = None) -> FrameSource:
    """A ``FrameSource`` for what a user passes as ``input_source``:

    - an int, or a string of digits: a camera index;
    - ``"screen"`` or ``"screen:LEFT,TOP,WIDTH,HEIGHT"``: the screen, or a region of it;
    - any other string or path: a video file;
    - a ``FrameSource``: itself; any other iterable of numpy frames: those frames.
    """
    if isinstance(spec, FrameSource):
        return spec
    if isinstance(spec, bool):
        raise SourceError(
            f"input_source={spec!r} is not a source: give a camera index, a video file, "
            "'screen' or an iterator of frames"
        )
    if isinstance(spec, int | np.integer):
        return CameraSource(int(spec))
    if isinstance(spec, str):
        text = spec.strip()
        if text.isdigit():
            return CameraSource(int(text))
        if text == "screen" or text.startswith("screen:"):
            return ScreenSource(_region(text[len("screen:") :]) if ":" in text else None, fps=fps or 30.0)
        return VideoFileSource(text)
    if isinstance(spec, os.PathLike):
        return VideoFileSource(spec)
    if isinstance(spec, np.ndarray):
        if spec.ndim != 4:
            raise SourceError(
                f"an array source must be a stack of frames [N, H, W, C]; got shape {spec.shape}"
            )
        return IteratorSource(spec, fps=fps)
    if isinstance(spec, Iterable):
        return IteratorSource(spec, fps=fps)
    raise SourceError(
        f"input_source of type {type(spec).__name__} is not a source: give a camera index, "
        "a video file, 'screen' or an iterator of frames"
    )


def _region(text: str) -> tuple[int, int, int, int]:
    try:
        left, top, width, height = (int(v) for v in text.split(","))
    except ValueError:
        raise SourceError(
            f"screen region '{text}' must be LEFT,TOP,WIDTH,HEIGHT, e.g. screen:0,0,1280,720"
        ) from None
    return left, top, width, height
