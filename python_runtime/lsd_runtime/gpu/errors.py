"""The one error the GPU path raises when it cannot run here."""

from __future__ import annotations


class CudaUnavailable(RuntimeError):
    """CUDA cannot be used on this machine; the message names what is missing."""
