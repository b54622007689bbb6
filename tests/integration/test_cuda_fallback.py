"""``cuda_ipc`` against a real runtime on a machine without CUDA: the client asks for it first,
the runtime says why it cannot and the frames flow on ``shm``; nothing errors. (On a GPU the
same client gets device slots: ``scripts/gpu_check.py``.)"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from lsd_runtime.transport.cuda_ipc import missing_for_cuda_ipc

pytestmark = pytest.mark.skipif(
    not missing_for_cuda_ipc(), reason="checks the fallback on a machine without CUDA (this one has it)"
)


def test_a_cuda_ipc_client_falls_back_to_shm_with_the_reason(connect) -> None:
    client = connect(transports=("cuda_ipc", "shm"))
    assert client.transport == "shm" and "gpu" not in client.welcome
    assert client.fallback == "cuda_ipc: this runtime runs on the CPU (serve --device cuda for device slots)"
    bound = client.bind(32, 16, "rgba8")
    assert bound["transport"] == "shm" and "fallback" not in bound
    client.set_style(style="identity")
    image = np.random.default_rng(3).integers(0, 256, (16, 32, 4), dtype=np.uint8)
    image[..., 3] = 255
    assert np.array_equal(client.process(image), image)


def test_bench_on_cuda_ipc_says_what_is_missing() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lsd_runtime", "bench", "--transport", "cuda_ipc", "--sizes", "64x64"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("lsd-runtime bench: --transport cuda_ipc needs ")
    if torch.version.cuda is None:
        assert f"a CUDA build of torch (this is torch {torch.__version__})" in proc.stderr
