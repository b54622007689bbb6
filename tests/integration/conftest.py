"""Integration fixtures: a real runtime process and clients connected to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lsd_runtime.client import RuntimeClient
from lsd_runtime.tools.runtime_process import RuntimeProcess


@pytest.fixture(scope="module")
def runtime() -> Iterator[RuntimeProcess]:
    with RuntimeProcess(args=["--inline"]) as rt:  # both transports: the tests use shm and inline
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
