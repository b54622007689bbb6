"""StreamDiffusion's stochastic similarity filter: skip frames that barely changed."""

from __future__ import annotations

import torch


class SimilarityFilter:
    """Skip a frame with probability that rises as its cosine similarity to the last
    processed input goes from ``threshold`` to 1; never skip more than ``max_skip`` in a row.
    ``threshold`` 0 disables the filter."""

    def __init__(self, threshold: float = 0.0, max_skip: int = 10, seed: int = 0):
        self.threshold = threshold
        self.max_skip = max_skip
        self._reference: torch.Tensor | None = None
        self._skipped = 0
        self._rng = torch.Generator().manual_seed(seed)

    def reset(self) -> None:
        self._reference = None
        self._skipped = 0

    def should_skip(self, frame: torch.Tensor) -> bool:
        if self.threshold <= 0.0 or not 0.0 < self.threshold < 1.0:
            return False
        flat = frame.reshape(-1).float()
        if self._reference is None or self._reference.shape != flat.shape or self._skipped >= self.max_skip:
            return self._accept(flat)
        sim = torch.nn.functional.cosine_similarity(flat, self._reference, dim=0).item()
        p_skip = max(0.0, 1.0 - (1.0 - sim) / (1.0 - self.threshold))
        if torch.rand((), generator=self._rng).item() < p_skip:
            self._skipped += 1
            return True
        return self._accept(flat)

    def _accept(self, flat: torch.Tensor) -> bool:
        self._reference = flat.clone()
        self._skipped = 0
        return False
