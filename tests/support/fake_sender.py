"""A sender that records what the runtime's protocol logic replies, for in-process tests."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import torch

from lsd_runtime import protocol
from lsd_runtime.backends import Backend, StyleRequest, StyleResult, register_backend


class Recorder:
    """``send(identity, msg)`` for a Session or Dispatcher; every message is also round-tripped
    through the codec (as the runtime would encode it) so an invalid reply fails the test."""

    def __init__(self) -> None:
        self.messages: list[tuple[bytes, dict[str, Any]]] = []
        self._cond = threading.Condition()

    def __call__(self, identity: bytes, msg: dict[str, Any]) -> None:
        decoded = protocol.decode(protocol.encode(msg), sender="runtime", max_bytes=1 << 30)
        with self._cond:
            self.messages.append((identity, decoded))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} replies, got {len(self.messages)}: "
                        f"{[m['t'] for _, m in self.messages]}"
                    )
                self._cond.wait(left)
            return [m for _, m in self.messages]

    def of_type(self, t: str) -> list[dict[str, Any]]:
        with self._cond:
            return [m for _, m in self.messages if m["t"] == t]


class HeldBackend(Backend):
    """A backend the test holds: ``process`` signals it started, then waits for ``release``.
    It adds ``offset`` (a style param) to the image, so which style a frame got is visible;
    style ``boom`` fails in ``process``, style ``boom_on_set`` fails in ``set_style``."""

    name = "held"
    instances: list[HeldBackend] = []

    def __init__(self, device: torch.device | str = "cpu"):
        super().__init__(device)
        self.started = threading.Semaphore(0)
        self.gate = threading.Semaphore(0)
        self.offset = 0.0
        self.fail = False
        HeldBackend.instances.append(self)

    def set_style(self, request: StyleRequest) -> StyleResult:
        if request.style == "boom_on_set":
            raise RuntimeError("secret internal detail of set_style")
        self.offset = float(request.params.get("offset", 0.0))
        self.fail = request.style == "boom"
        return StyleResult(style=request.style or "held")

    def process(
        self,
        frames: torch.Tensor,
        *,
        motion: torch.Tensor | None = None,
        depth: torch.Tensor | None = None,
        reset: bool = False,
    ) -> torch.Tensor:
        self.started.release()
        assert self.gate.acquire(timeout=30), "the test never released the held backend"
        if self.fail:
            raise RuntimeError("secret internal detail of process")
        return (frames + self.offset).clamp(0.0, 1.0)

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self.gate.release()


def register_held_backend() -> None:
    register_backend("held", HeldBackend)


def frame_bytes(width: int, height: int, value: int) -> bytes:
    return np.full((height, width, 4), value, np.uint8).tobytes()
