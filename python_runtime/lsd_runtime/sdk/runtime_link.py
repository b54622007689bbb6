"""The runtime an engine talks to: one started in this process, or one already running."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import torch

from ..client.runtime_client import RuntimeClient
from .errors import StreamEngineError


def resolve_device(device: str | None) -> str:
    """``None``/``"auto"`` → ``cuda`` when there is one, else ``cpu``; a CUDA device that is not
    there is a clear error, not a crash on the first frame."""
    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise StreamEngineError(
            f"device '{device}' is not a torch device (use 'cpu', 'cuda' or 'cuda:N')"
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise StreamEngineError(
                f"device '{device}' was asked for, but this torch ({torch.__version__}) "
                "sees no CUDA device; use device='cpu' (or 'auto'), or install a "
                "CUDA build of torch"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise StreamEngineError(
                f"device '{device}' does not exist: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    return str(dev)


class InProcessRuntime:
    """A ``RuntimeServer`` on a loopback port, served by a background thread of this process."""

    def __init__(self, device: str = "cpu"):
        from ..server.config import ServerConfig
        from ..server.router import RuntimeServer

        self._dir = Path(tempfile.mkdtemp(prefix="lsd-sdk-"))
        try:
            self.server = RuntimeServer(
                ServerConfig(endpoint="tcp://127.0.0.1:0", state_dir=self._dir, device=device)
            )
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self.endpoint = self.server.endpoint
        self.token = self.server.token
        self._thread = threading.Thread(target=self.server.serve_forever, name="lsd-sdk-runtime", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 3.0) -> None:
        self.server.stop()
        self._thread.join(timeout)
        shutil.rmtree(self._dir, ignore_errors=True)


def connect_client(
    endpoint: str | None, token: str | None, state_dir: str | Path | None, timeout: float = 10.0
) -> RuntimeClient:
    """A connected client to a running runtime (endpoint and token from its state file if not given)."""
    try:
        client = RuntimeClient(endpoint, token, state_dir=state_dir, name="python-sdk", timeout=timeout)
    except (FileNotFoundError, ValueError) as exc:
        where = f" in '{state_dir}'" if state_dir else ""
        raise StreamEngineError(
            f"no running runtime found{where} ({exc}); start one with "
            "`lsd-runtime serve`, or leave endpoint/state_dir out to run the "
            "runtime in this process"
        ) from None
    try:
        client.connect()
    except (TimeoutError, ConnectionError) as exc:
        client.close()
        raise StreamEngineError(
            f"the runtime at {client.endpoint} does not answer ({exc}); is `lsd-runtime serve` running?"
        ) from None
    except Exception as exc:  # RuntimeReplyError: wrong token, version, busy
        client.close()
        raise StreamEngineError(f"the runtime at {client.endpoint} refused the connection: {exc}") from None
    return client
