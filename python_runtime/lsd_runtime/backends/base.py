"""The backend interface: a batch of frames in, restyled frames out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch


class StyleError(Exception):
    """A style request the backend cannot honour; ``code`` is a protocol error code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class StyleRequest:
    """What ``set_style`` asks for (the protocol's fields, validated). ``model`` is the name a
    client gave; ``model_names.resolve_request`` turns it into ``backend`` and ``style``."""

    backend: str | None = None
    style: str | None = None
    prompt: str | None = None
    strength: float | None = None
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    model: str | None = None


@dataclass(frozen=True)
class StyleResult:
    style: str
    matched: str = ""


class Backend(ABC):
    """Restyles frames.

    ``process`` takes ``frames`` as float32 ``[N, 3, H, W]`` sRGB values in ``[0, 1]`` on
    ``self.device`` at the model resolution and returns a tensor of the same shape and
    range. ``motion`` (``[N, 2, H, W]``, pixels) and ``depth`` (``[N, 1, H, W]``) are
    optional engine inputs that a backend may use. ``reset`` asks it to forget temporal
    state (camera cut). A backend instance belongs to one session and one thread.
    """

    name: ClassVar[str]

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)

    @abstractmethod
    def set_style(self, request: StyleRequest) -> StyleResult:
        """Validate and apply a style; raise ``StyleError`` to refuse it (nothing changes)."""

    @abstractmethod
    def process(
        self,
        frames: torch.Tensor,
        *,
        motion: torch.Tensor | None = None,
        depth: torch.Tensor | None = None,
        reset: bool = False,
    ) -> torch.Tensor:
        """Restyle a batch of frames."""

    def model_size(self, width: int, height: int) -> tuple[int, int]:
        """The resolution this backend prefers for input of ``width`` × ``height``."""
        return width, height

    def process_image(
        self,
        image: np.ndarray,
        *,
        motion: np.ndarray | None = None,
        depth: np.ndarray | None = None,
        reset: bool = False,
    ) -> np.ndarray | None:
        """Restyle one ``[H, W, 3]`` uint8 sRGB RGB image on the CPU, or None when this backend
        (or its current style) has no such path; the runtime then uses ``process``. A backend
        that has one is faster on a CPU core: no float32 frame is made at all. ``motion``
        (``[H, W, 2]``) and ``depth`` (``[H, W]``) as for ``process``, float32."""
        return None

    @property
    def is_identity(self) -> bool:
        """True when ``process`` returns its input unchanged (lets the runtime copy bytes)."""
        return False

    @property
    def style_name(self) -> str:
        return ""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Free what the backend holds (GPU memory, threads)."""
