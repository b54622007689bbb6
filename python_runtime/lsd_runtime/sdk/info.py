"""What a sink is told about each restyled frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class DroppedFrame:
    index: int  # the source frame's index
    reason: str  # "stale" (a newer frame arrived first), or the runtime's: "superseded", "backend_error"...


@dataclass
class FrameInfo:
    """Passed to ``on_frame(frame, info)`` with every restyled frame.

    ``dropped`` lists the source frames skipped since the previous delivered frame, so every
    source index is either delivered (in order) or reported here exactly once.
    """

    index: int  # the source frame's index (0-based)
    frame_id: int  # the protocol's frame id
    input: np.ndarray  # the source frame, RGB [H, W, 3]
    backend: str
    style: str  # the style the runtime applied (effects: resolved from the prompt)
    prompt: str | None
    strength: float | None
    seed: int | None
    latency_ms: float  # source read → restyled frame back in this process
    fps: float  # delivered frames per second, smoothed
    timings: dict[str, float] = field(default_factory=dict)  # the runtime's per-stage times
    dropped: tuple[DroppedFrame, ...] = ()
    capture_time: float = 0.0  # time.time() when the source frame was read
    source_fps: float | None = None
    # the previous delivered frame's capture → shown (every sink done with it, a preview window
    # included); None for the first frame. ``latency_ms`` stops where the sinks start
    display_latency_ms: float | None = None
