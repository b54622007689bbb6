"""Text drawn over the preview: FPS, latency, style, prompt, keys."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from .info import FrameInfo

KEYS_HELP = "n/b: next/prev style  p: next prompt  +/-: strength  q: quit"


def overlay_lines(info: FrameInfo) -> list[str]:
    # this frame is not on screen yet: the previous frame's whole trip, else this one's so far
    shown = info.display_latency_ms if info.display_latency_ms is not None else info.latency_ms
    lines = [
        f"{info.fps:5.1f} fps   {shown:6.1f} ms capture to display   frame {info.index}",
        f"{info.backend}: {info.style}"
        + (f"  strength {info.strength:.2f}" if info.strength is not None else ""),
    ]
    if info.prompt:
        lines.append(f"prompt: {info.prompt[:60]}")
    lines.append(KEYS_HELP)
    return lines


def draw_overlay(cv2: ModuleType, bgr: np.ndarray, lines: list[str]) -> np.ndarray:
    """Draw ``lines`` top-left on ``bgr`` (in place), white on a dark shadow, scaled to the frame."""
    h = bgr.shape[0]
    scale = max(0.35, min(1.0, h / 720.0))
    step = int(22 * scale) + 4
    for i, text in enumerate(lines):
        org = (8, step * (i + 1))
        cv2.putText(bgr, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(bgr, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return bgr
