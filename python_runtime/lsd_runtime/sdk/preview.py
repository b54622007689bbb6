"""The preview window (OpenCV highgui) and the check that one can open at all."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import ModuleType

import numpy as np

from .errors import DisplayUnavailableError
from .info import FrameInfo
from .opencv import import_cv2
from .overlay import draw_overlay, overlay_lines

HEADLESS_FIX = (
    "write to a file instead (output='out.avi', or lsd-runtime run --output out.avi) or pass "
    "your own on_frame callback"
)


def display_problem(
    cv2: ModuleType | None = None, env: dict[str, str] | None = None, platform: str = sys.platform
) -> str:
    """Why no window can open here ("" when one can)."""
    env = dict(os.environ) if env is None else env
    if platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return "no display: neither DISPLAY nor WAYLAND_DISPLAY is set (a headless machine or SSH session)"
    if cv2 is not None:
        gui = _gui_backend(cv2)
        if gui == "NONE":
            return (
                "this OpenCV build has no GUI support (opencv-python-headless); install "
                "opencv-python for windows"
            )
    return ""


def _gui_backend(cv2: ModuleType) -> str:
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip()
    return ""


def check_display() -> None:
    """Raise ``DisplayUnavailableError`` (with the fix) if no preview window can open here."""
    problem = display_problem()
    if not problem:
        problem = display_problem(import_cv2("the preview window"))
    if problem:
        raise DisplayUnavailableError(f"cannot open a preview window: {problem}; {HEADLESS_FIX}")


class PreviewWindow:
    """Shows frames with an FPS/latency overlay; ``on_key(char)`` gets each key pressed."""

    def __init__(
        self, title: str = "LSD Bridge", on_key: Callable[[str], None] | None = None, overlay: bool = True
    ):
        self.title = title
        self.on_key = on_key
        self.overlay = overlay
        self._cv2 = import_cv2("the preview window")
        self._open = False

    def show(self, frame: np.ndarray, info: FrameInfo) -> None:
        cv2 = self._cv2
        bgr = np.ascontiguousarray(frame[..., ::-1])
        if self.overlay:
            draw_overlay(cv2, bgr, overlay_lines(info))
        try:
            if not self._open:
                cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
                self._open = True
            cv2.imshow(self.title, bgr)
            key = cv2.waitKey(1)
        except cv2.error as exc:
            raise DisplayUnavailableError(
                f"cannot show the preview window: {str(exc).strip()[:200]}; {HEADLESS_FIX}"
            ) from None
        if key >= 0 and self.on_key is not None:
            self.on_key(chr(key & 0xFF))
        if self._open and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self._open = False  # the user closed the window
            if self.on_key is not None:
                self.on_key("q")

    def close(self) -> None:
        if self._open:
            try:
                self._cv2.destroyWindow(self.title)
                self._cv2.waitKey(1)
            except self._cv2.error:
                pass
            self._open = False
