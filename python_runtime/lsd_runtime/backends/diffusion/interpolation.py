"""Prompt switching that glides from the old embedding to the new one over N frames."""

from __future__ import annotations

from .prompts import PromptEmbedding


def smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


class PromptBlend:
    """The embedding for each frame: ``target`` after a switch, eased in over ``frames``."""

    def __init__(self, embedding: PromptEmbedding):
        self.target = embedding
        self._start = embedding
        self._frames = 0
        self._done = 0

    @property
    def settled(self) -> bool:
        return self._done >= self._frames

    def current(self) -> PromptEmbedding:
        if self.settled:
            return self.target
        return self._start.lerp(self.target, smoothstep(self._done / self._frames))

    def switch(self, target: PromptEmbedding, frames: int) -> None:
        """Aim at ``target``; mid-way switches start from where the blend is now."""
        self._start = self.current()
        self.target = target
        self._frames = max(0, int(frames))
        self._done = 0

    def snap(self) -> None:
        self._done = self._frames

    def advance(self) -> PromptEmbedding:
        """The embedding for this frame, then one frame on."""
        if not self.settled:
            self._done += 1
        return self.current()
