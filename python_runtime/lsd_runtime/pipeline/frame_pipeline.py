"""One frame's trip: input slot bytes → model tensor → backend → output slot bytes.

The runtime and the tests call the same ``FramePipeline``, so "the returned frame equals
the effect applied in-process" is an exact comparison.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..backends.base import Backend
from .latency import StageTimes
from .pixel_formats import (
    EIGHT_BIT,
    RingSpec,
    from_tensor,
    image_view,
    resize,
    rgb8_from_texels,
    texels_from_rgb8,
    to_tensor,
)
from .planes import (
    DepthPlane,
    MotionPlane,
    PlaneSpec,
    depth_to_model,
    linear_depth,
    motion_pixels,
    motion_to_model,
    plane_view,
)

Capture = Callable[[Any, Any], None]


@dataclass
class FramePipeline:
    input_spec: RingSpec
    output_spec: RingSpec
    model_width: int
    model_height: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    # the engine's planes beside the input ring, when bind asked for them
    motion_plane: tuple[PlaneSpec, MotionPlane] | None = None
    depth_plane: tuple[PlaneSpec, DepthPlane] | None = None

    def run(
        self,
        backend: Backend,
        src: memoryview | bytes | bytearray,
        dst: memoryview | bytearray,
        reset: bool = False,
        capture: Capture | None = None,
        motion_src: Any = None,
        depth_src: Any = None,
    ) -> StageTimes:
        """Restyle the frame in ``src`` (an input slot) into ``dst`` (an output slot).

        ``capture(input, output)``, when given, gets the frame at the model resolution before and
        after the backend (``[H, W, 3]`` uint8 RGB arrays, or ``[1, 3, H, W]`` float tensors in
        [0, 1]): the pictures the pipeline made anyway, not copies (a watcher, such as the web
        console, converts them later on its own thread).

        ``motion_src``/``depth_src``: this frame's slots of the motion and depth planes (when the
        frame's flags say they are filled); the backend gets them in one convention at the model
        resolution (``planes``)."""
        t0 = time.perf_counter()
        if backend.is_identity and self.input_spec.same_layout(self.output_spec):
            # nothing to compute: the bytes are the answer
            n = self.input_spec.size
            dst[:n] = src[:n]
            times = StageTimes.of(input=0.0, backend=0.0, output=time.perf_counter() - t0)
            if capture is not None:  # only when watched: a copy of the slot
                picture = to_tensor(image_view(src, self.input_spec), self.input_spec, torch.device("cpu"))
                capture(picture, picture)
            return times
        motion, depth = self._planes(motion_src, depth_src)
        if self._eight_bit_path():
            pixels = image_view(src, self.input_spec)
            rgb = rgb8_from_texels(pixels, self.input_spec)
            del pixels
            t1 = time.perf_counter()
            result = backend.process_image(
                rgb,
                motion=None if motion is None else motion[0].permute(1, 2, 0).numpy(),
                depth=None if depth is None else depth[0, 0].numpy(),
                reset=reset,
            )
            if result is not None:
                t2 = time.perf_counter()
                target = image_view(dst, self.output_spec)
                target[...] = texels_from_rgb8(result, self.output_spec)
                del target
                if capture is not None:
                    capture(rgb, result)
                return StageTimes.of(input=t1 - t0, backend=t2 - t1, output=time.perf_counter() - t2)
        pixels = image_view(src, self.input_spec)
        frame = to_tensor(pixels, self.input_spec, self.device)
        del pixels
        frame = resize(frame, self.model_width, self.model_height)
        t1 = time.perf_counter()
        out = backend.process(frame, motion=motion, depth=depth, reset=reset)
        t2 = time.perf_counter()
        if capture is not None:
            capture(frame, out)
        out = resize(out, self.output_spec.width, self.output_spec.height)
        target = image_view(dst, self.output_spec)
        target[...] = from_tensor(out, self.output_spec)
        del target
        t3 = time.perf_counter()
        return StageTimes.of(input=t1 - t0, backend=t2 - t1, output=t3 - t2)

    def _planes(self, motion_src: Any, depth_src: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """This frame's motion and depth in the backends' convention at the model resolution."""
        motion = depth = None
        if motion_src is not None and self.motion_plane is not None:
            spec, desc = self.motion_plane
            mv = motion_pixels(plane_view(motion_src, spec), desc, spec.width, spec.height)
            motion = motion_to_model(mv, self.model_width, self.model_height, self.device)
        if depth_src is not None and self.depth_plane is not None:
            spec_d, desc_d = self.depth_plane
            d = linear_depth(plane_view(depth_src, spec_d), desc_d)
            depth = depth_to_model(d, self.model_width, self.model_height, self.device)
        return motion, depth

    def _eight_bit_path(self) -> bool:
        """Whether frames can stay 8-bit sRGB from slot to slot (a backend's ``process_image``):
        on the CPU, 8-bit sRGB rings at the model resolution, nothing to resize or convert."""
        a, b = self.input_spec, self.output_spec
        return (
            self.device.type == "cpu"
            and a.format in EIGHT_BIT
            and b.format in EIGHT_BIT
            and a.color == b.color == "srgb"
            and (a.width, a.height) == (b.width, b.height) == (self.model_width, self.model_height)
        )

    def run_array(self, backend: Backend, image: np.ndarray, reset: bool = False) -> np.ndarray:
        """Restyle one image-order ``[H, W, 4]`` frame held in memory (the in-process reference)."""
        src = bytearray(self.input_spec.size)
        view = image_view(src, self.input_spec)
        view[...] = image
        del view
        dst = bytearray(self.output_spec.size)
        self.run(backend, src, dst, reset=reset)
        return image_view(dst, self.output_spec).copy()
