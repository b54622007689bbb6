"""One frame's trip: input slot bytes → model tensor → backend → output slot bytes.

The runtime and the tests call the same ``FramePipeline``, so "the returned frame equals
the effect applied in-process" is an exact comparison.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .backends.base import Backend
from .pixel_formats import RingSpec, from_tensor, image_view, resize, to_tensor


@dataclass
class StageTimes:
    input_ms: float = 0.0
    backend_ms: float = 0.0
    output_ms: float = 0.0


@dataclass
class FramePipeline:
    input_spec: RingSpec
    output_spec: RingSpec
    model_width: int
    model_height: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def run(self, backend: Backend, src: memoryview | bytes | bytearray, dst: memoryview | bytearray,
            reset: bool = False) -> StageTimes:
        """Restyle the frame in ``src`` (an input slot) into ``dst`` (an output slot)."""
        times = StageTimes()
        t0 = time.perf_counter()
        if backend.is_identity and self.input_spec.same_layout(self.output_spec):
            # nothing to compute: the bytes are the answer
            n = self.input_spec.size
            dst[:n] = src[:n]
            times.output_ms = (time.perf_counter() - t0) * 1e3
            return times
        pixels = image_view(src, self.input_spec)
        frame = to_tensor(pixels, self.input_spec, self.device)
        del pixels
        frame = resize(frame, self.model_width, self.model_height)
        t1 = time.perf_counter()
        out = backend.process(frame, reset=reset)
        t2 = time.perf_counter()
        out = resize(out, self.output_spec.width, self.output_spec.height)
        target = image_view(dst, self.output_spec)
        target[...] = from_tensor(out, self.output_spec)
        del target
        t3 = time.perf_counter()
        times.input_ms = (t1 - t0) * 1e3
        times.backend_ms = (t2 - t1) * 1e3
        times.output_ms = (t3 - t2) * 1e3
        return times

    def run_array(self, backend: Backend, image: np.ndarray, reset: bool = False) -> np.ndarray:
        """Restyle one image-order ``[H, W, 4]`` frame held in memory (the in-process reference)."""
        src = bytearray(self.input_spec.size)
        view = image_view(src, self.input_spec)
        view[...] = image
        del view
        dst = bytearray(self.output_spec.size)
        self.run(backend, src, dst, reset=reset)
        return image_view(dst, self.output_spec).copy()
