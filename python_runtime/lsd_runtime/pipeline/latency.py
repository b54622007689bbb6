"""Timings: one frame's stage times, rolling per-stage windows, and the one percentile
definition every report and benchmark uses (numpy's linear interpolation, the same as the
native client's LatencyWindow), so p50/p99 figures compare across tools."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .. import protocol

STAGES = protocol.STAGES


def percentiles(values: list[float] | np.ndarray, qs: tuple[float, ...] = (50.0, 99.0)) -> list[float]:
    """The ``qs`` percentiles of ``values`` (linear interpolation between closest ranks), rounded
    to 4 decimals; zeros when there are no values."""
    if len(values) == 0:
        return [0.0 for _ in qs]
    return [round(float(v), 4) for v in np.percentile(np.asarray(values, dtype=np.float64), qs)]


class LatencyWindow:
    def __init__(self, size: int = 1024):
        self._stages: dict[str, deque[float]] = {s: deque(maxlen=size) for s in STAGES}

    def add(self, timings_ms: dict[str, float]) -> None:
        for stage, window in self._stages.items():
            window.append(timings_ms.get(stage + "_ms", 0.0))

    def summary(self) -> dict[str, list[float]]:
        return {stage: percentiles(list(window)) for stage, window in self._stages.items()}


@dataclass
class StageTimes:
    """Milliseconds per named stage of one frame, in the order they ran (the frame pipeline's
    ``input``/``backend``/``output``, the diffusion stream's ``encode``/``unet``/``decode``).
    ``skipped``: the work was skipped (the similarity filter returned the last frame)."""

    stages: dict[str, float] = field(default_factory=dict)
    skipped: bool = False

    @classmethod
    def of(cls, **seconds: float) -> StageTimes:
        """From seconds per stage (``perf_counter`` differences)."""
        return cls({name: s * 1e3 for name, s in seconds.items()})

    def add(self, stage: str, ms: float) -> None:
        self.stages[stage] = self.stages.get(stage, 0.0) + ms

    def ms(self, stage: str) -> float:
        """One stage's milliseconds (0 if it did not run); ``"total"`` is the sum."""
        return self.total_ms if stage == "total" else self.stages.get(stage, 0.0)

    @property
    def total_ms(self) -> float:
        return sum(self.stages.values())
