"""Rolling per-stage latency windows with p50/p99."""

from __future__ import annotations

from collections import deque

import numpy as np

STAGES = ("queue", "input", "backend", "output", "total")


def percentiles(values: list[float] | np.ndarray, qs: tuple[float, ...] = (50.0, 99.0)) -> list[float]:
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
