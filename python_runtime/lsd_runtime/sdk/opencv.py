"""Importing OpenCV on demand, with a clear message when it is missing and its logging quietened."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType

from .errors import MissingDependencyError

INSTALL_HINT = "pip install 'lsd-bridge[sdk]' (or: pip install opencv-python-headless)"


def import_cv2(purpose: str) -> ModuleType:
    """``cv2``, or a ``MissingDependencyError`` naming what needed it."""
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependencyError(
            f"{purpose} needs OpenCV, which is not installed: {INSTALL_HINT}"
        ) from exc
    return cv2


@contextlib.contextmanager
def quiet(cv2: ModuleType) -> Iterator[None]:
    """Silence OpenCV's own warnings (they go to stderr) while we turn failures into messages."""
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        yield
        return
    before = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        log.setLogLevel(before)
