"""LSD Bridge runtime: restyles game-engine frames in real time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["StreamEngine", "__version__"]

if TYPE_CHECKING:
    from .sdk import StreamEngine


def __getattr__(name: str) -> Any:
    # the SDK (and torch, OpenCV) load only when StreamEngine is used: `import lsd_runtime` stays light
    if name == "StreamEngine":
        from .sdk import StreamEngine

        return StreamEngine
    raise AttributeError(f"module 'lsd_runtime' has no attribute '{name}'")
