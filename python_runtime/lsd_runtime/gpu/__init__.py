"""GPU path: texture ⇄ tensor kernels (CUDA source in ``kernels/``), their torch references,
and the ``cuda_ipc`` slot transport.

Importing this package (and each module in it) never needs CUDA: cuda-python and the
driver are loaded on first use, and a clear ``CudaUnavailable`` names what is missing.
"""

from .errors import CudaUnavailable

__all__ = ["CudaUnavailable"]
