"""The model resolution for any engine resolution: aspect kept, long side near a target."""

from __future__ import annotations


def model_size(width: int, height: int, long_side: int = 512, multiple: int = 8) -> tuple[int, int]:
    """Scale so the long side is ``long_side``, round each side to ``multiple`` (at least one)."""
    if width <= 0 or height <= 0:
        raise ValueError("width and height must be positive")
    scale = long_side / max(width, height)

    def snap(x: float) -> int:
        return max(multiple, int(round(x * scale / multiple)) * multiple)

    return snap(width), snap(height)
