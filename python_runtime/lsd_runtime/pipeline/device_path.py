"""One frame's trip through device slots (``cuda_ipc``): every step stream-ordered, no host wait.

On the session's own CUDA stream, for input slot k and output slot j:

1. wait on input ``ready[k]`` (the client's copy into the slot) and output ``free[j]`` (the
   client is done reading the slot's last frame);
2. ``lsd_texture_to_tensor``: slot → ``[1, 3, h, w]`` float32 sRGB at the model size (layout,
   row order, colour and resize in one kernel); record input ``free[k]`` at once, so the client
   can refill the slot while the backend runs;
3. the backend's ``process`` (torch work is issued on the same stream);
4. ``lsd_tensor_to_texture``: tensor → output slot at the ring's size; record output ``ready[j]``.

An identity style with equal layouts is one device-to-device copy between the slots. Nothing
here synchronises the host (except while a watcher, the web console, takes the pictures: it
reads them on its own thread, so the stream is waited for then): the caller sends
``frame_done`` once the work is queued, and the client's stream waits on ``ready[j]``. Stage
times are therefore the host's time to issue each stage (for a backend that synchronises itself,
such as diffusion, they include its GPU time).

``Converters`` picks the CUDA kernels for CUDA slots and their torch references otherwise, so
the same code runs on the CPU in the tests with stand-in rings.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from ..backends.base import Backend
from . import kernel_reference
from .latency import StageTimes
from .pixel_formats import RingSpec


class DeviceRing(Protocol):
    """What the frame path needs of a ring of device slots (``CudaIpcRing`` and test stand-ins)."""

    spec: Any
    buffers: list[torch.Tensor]

    def wait_ready(self, k: int, stream: int) -> None: ...

    def wait_free(self, k: int, stream: int) -> None: ...

    def record_ready(self, k: int, stream: int) -> None: ...

    def record_free(self, k: int, stream: int) -> None: ...


Capture = Callable[[Any, Any], None]


@dataclass(frozen=True)
class Converters:
    """Slot ⇄ tensor conversions of one device kind (the kernels, or their references)."""

    to_tensor: Callable[[torch.Tensor, RingSpec, int, int, int], torch.Tensor]
    to_texture: Callable[[torch.Tensor, RingSpec, torch.Tensor, int], None]

    @staticmethod
    def for_device(device: torch.device) -> Converters:
        if device.type == "cuda":
            from . import gpu_kernels

            def k_in(slot: torch.Tensor, spec: RingSpec, w: int, h: int, stream: int) -> torch.Tensor:
                return gpu_kernels.texture_to_tensor(slot, spec, w, h, torch.float32, stream=stream)

            def k_out(image: torch.Tensor, spec: RingSpec, slot: torch.Tensor, stream: int) -> None:
                gpu_kernels.tensor_to_texture(image, spec, slot, stream=stream)

            return Converters(k_in, k_out)

        def r_in(slot: torch.Tensor, spec: RingSpec, w: int, h: int, _stream: int) -> torch.Tensor:
            return kernel_reference.texture_to_tensor(slot, spec, w, h, torch.float32)

        def r_out(image: torch.Tensor, spec: RingSpec, slot: torch.Tensor, _stream: int) -> None:
            kernel_reference.tensor_to_texture(image, spec, slot=slot)

        return Converters(r_in, r_out)


class SessionStream:
    """A session's own stream: a ``torch.cuda.Stream`` on a CUDA device, none on the CPU."""

    def __init__(self, device: torch.device):
        self.device = device
        self.stream = torch.cuda.Stream(device) if device.type == "cuda" else None

    @property
    def handle(self) -> int:
        """The ``CUstream`` value for driver calls (0, the legacy stream, on the CPU)."""
        return int(self.stream.cuda_stream) if self.stream is not None else 0

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        """Torch work inside the block is issued on this stream."""
        if self.stream is None:
            yield
            return
        with torch.cuda.stream(self.stream):
            yield

    def synchronize(self) -> None:
        if self.stream is not None:
            self.stream.synchronize()


@dataclass
class DeviceFramePath:
    input_spec: RingSpec
    output_spec: RingSpec
    model_width: int
    model_height: int
    stream: SessionStream
    converters: Converters

    def run(
        self,
        backend: Backend,
        inputs: DeviceRing,
        k: int,
        outputs: DeviceRing,
        j: int,
        reset: bool = False,
        capture: Capture | None = None,
    ) -> StageTimes:
        """Queue frame ``inputs[k]`` → ``outputs[j]``; returns when the work is issued."""
        s = self.stream.handle
        src, dst = inputs.buffers[k], outputs.buffers[j]
        t0 = time.perf_counter()
        inputs.wait_ready(k, s)
        outputs.wait_free(j, s)
        with self.stream.current():
            if backend.is_identity and self.input_spec.same_layout(self.output_spec):
                n = self.input_spec.size
                dst[:n].copy_(src[:n], non_blocking=True)
                inputs.record_free(k, s)
                outputs.record_ready(j, s)
                if capture is not None:
                    picture = self.converters.to_tensor(
                        src, self.input_spec, self.input_spec.width, self.input_spec.height, s
                    )
                    self.stream.synchronize()  # a watcher reads it on its own thread
                    capture(picture, picture)
                return StageTimes.of(input=0.0, backend=0.0, output=time.perf_counter() - t0)
            frame = self.converters.to_tensor(src, self.input_spec, self.model_width, self.model_height, s)
            inputs.record_free(k, s)
            t1 = time.perf_counter()
            out = backend.process(frame, reset=reset)
            t2 = time.perf_counter()
            self.converters.to_texture(out, self.output_spec, dst, s)
            outputs.record_ready(j, s)
            if capture is not None:
                self.stream.synchronize()  # only while watched: the watcher reads both on its own thread
                capture(frame, out)
        return StageTimes.of(input=t1 - t0, backend=t2 - t1, output=time.perf_counter() - t2)
