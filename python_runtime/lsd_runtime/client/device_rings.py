"""The Python client's side of ``cuda_ipc``: the runtime's device slots opened once per binding,
frames written and read on the client's own CUDA stream with the slots' events.

``DeviceRings.write(k, image)`` and ``read(j)`` follow PROTOCOL.md's table: the client's stream
waits on input ``free[k]`` before writing, records input ``ready[k]`` after (then the caller
sends ``frame``); waits on output ``ready[j]`` before reading, records output ``free[j]`` after
(then the caller releases j). Images are image-order ``[H, W, 4]`` (uint8, or float16 for
``rgba16f``), numpy arrays or CUDA tensors; ``read`` returns a CUDA tensor, or a numpy array
with ``to_host``. Opening needs cuda-python, a CUDA build of torch and the runtime's GPU;
``open_device_rings`` raises ``CudaUnavailable`` or ``RuntimeError`` naming what failed, and
the client then binds ``shm`` instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..pipeline.pixel_formats import RingSpec
from ..transport.cuda_ipc import CudaIpcPeerRing


def client_gpu(device_index: int = 0) -> str | None:
    """``hello.gpu``: this process's CUDA device's UUID, or None when it cannot be read."""
    try:
        from ..server.cuda_offer import device_uuid

        return device_uuid(device_index)
    except Exception:  # no cuda-python, no driver: the runtime decides without it
        return None


class _Ring:
    def __init__(self, spec: RingSpec, reply: dict[str, Any], device_index: int):
        self.spec = spec
        self.peer = CudaIpcPeerRing(reply, device_index)

    def rows(self, k: int) -> torch.Tensor:
        """Slot k as ``[height, row_bytes]`` bytes (the pitch's padding left out), a view."""
        spec = self.spec
        row_bytes = spec.width * spec.bytes_per_pixel
        return self.peer.buffers[k][: spec.pitch * spec.height].view(spec.height, spec.pitch)[:, :row_bytes]


class DeviceRings:
    def __init__(self, in_spec: RingSpec, out_spec: RingSpec, bound: dict[str, Any], device_index: int = 0):
        self.device = torch.device("cuda", device_index)
        self.stream = torch.cuda.Stream(self.device)
        self.inputs = _Ring(in_spec, bound["input"], device_index)
        try:
            self.outputs = _Ring(out_spec, bound["output"], device_index)
        except BaseException:
            self.inputs.peer.close()
            raise

    def write(self, k: int, image: np.ndarray | torch.Tensor) -> None:
        ring, s = self.inputs, self.stream
        spec = ring.spec
        src = torch.as_tensor(image) if isinstance(image, np.ndarray) else image
        if tuple(src.shape) != (spec.height, spec.width, 4):
            raise ValueError(
                f"frame is {tuple(src.shape)}, the bound input is {(spec.height, spec.width, 4)}"
            )
        ring.peer.wait_free(k, s.cuda_stream)
        with torch.cuda.stream(s):
            src = src.to(self.device, non_blocking=True)
            if spec.bottom_up:
                src = src.flip(0)
            ring.rows(k).copy_(src.contiguous().view(torch.uint8).reshape(spec.height, -1))
        ring.peer.record_ready(k, s.cuda_stream)

    def read(self, j: int, to_host: bool = False) -> np.ndarray | torch.Tensor:
        ring, s = self.outputs, self.stream
        spec = ring.spec
        ring.peer.wait_ready(j, s.cuda_stream)
        with torch.cuda.stream(s):
            rows = ring.rows(j).clone()
        ring.peer.record_free(j, s.cuda_stream)
        if spec.bottom_up:
            with torch.cuda.stream(s):
                rows = rows.flip(0)
        dtype = torch.float16 if spec.format == "rgba16f" else torch.uint8
        with torch.cuda.stream(s):
            image = rows.contiguous().view(dtype).reshape(spec.height, spec.width, 4)
        s.synchronize()  # the frame is the caller's now (and its round trip ends here)
        return image.cpu().numpy() if to_host else image

    def close(self) -> None:
        self.stream.synchronize()
        self.inputs.peer.close()
        self.outputs.peer.close()


def open_device_rings(in_spec: RingSpec, out_spec: RingSpec, bound: dict[str, Any]) -> DeviceRings:
    """Open a ``cuda_ipc`` ``bound`` reply's rings (CudaUnavailable / RuntimeError when it cannot)."""
    return DeviceRings(in_spec, out_spec, bound)
