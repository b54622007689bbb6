"""Skip the VAE encode when the input latent can be predicted.

The tiny VAE's encoder is about an eighth of a frame's FLOPs (SD-Turbo at 256²: 31 of 247 GF).
Between real encodes, the latent of the last encoded frame stands in for the new frame's while
the new frame differs from that frame by at most ``threshold`` (mean absolute difference, sRGB
0..1), and never for more than ``interval - 1`` frames in a row, so the error cannot drift for
long: the threshold measures exactly what the prediction ignores.

Moving the latent with the engine's motion vectors was tried and dropped: interpolating it by a
fraction of a latent pixel, and shifting it by whole latent pixels (exact away from the borders,
since the encoder's convolutions map an 8-pixel image shift to a 1-pixel latent shift), were
both further from the true latent than not moving it on the random-weight models at 64² and
256², because the encoder's border effects move with the content; and with the content moved,
the image difference no longer sees that error, so the threshold stops guarding it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class LatentPredictor:
    def __init__(self) -> None:
        self._frame: torch.Tensor | None = None  # the last encoded frame
        self._latent: torch.Tensor | None = None  # its latent
        self._age = 0
        self.encoded = 0
        self.predicted = 0

    def reset(self) -> None:
        self._frame = None
        self._latent = None
        self._age = 0

    def latent(
        self,
        frame: torch.Tensor,
        encode: Callable[[torch.Tensor], torch.Tensor],
        interval: int,
        threshold: float,
    ) -> torch.Tensor:
        """``frame``'s latent: the last encoded one when allowed and close enough, else ``encode(frame)``."""
        ref, lat = self._frame, self._latent
        if (
            interval > 1
            and ref is not None
            and lat is not None
            and ref.shape == frame.shape
            and self._age < interval - 1
            and float((frame - ref).abs().mean()) <= threshold
        ):
            self._age += 1
            self.predicted += 1
            return lat
        z = encode(frame)
        self._frame, self._latent, self._age = frame.clone(), z, 0
        self.encoded += 1
        return z
