"""Shared fixtures: a real runtime process and clients connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from lsd_runtime.client import RuntimeClient
from lsd_runtime.testing import RuntimeProcess

# the in-process references run with the runtime's default of one CPU thread, so both sides
# split every op the same way and the comparisons can be exact
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess() as rt:
        yield rt
        assert rt.alive(), f"the runtime died during the tests:\n{rt.log()}"


@pytest.fixture
def connect(runtime: RuntimeProcess) -> Iterator:
    clients: list[RuntimeClient] = []

    def _connect(**kwargs) -> RuntimeClient:
        client = RuntimeClient(runtime.endpoint, runtime.token, **kwargs)
        client.connect()
        clients.append(client)
        return client

    yield _connect
    for c in clients:
        c.close()
