"""The style an engine asks the runtime for, as one immutable value."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ..backends.effects import style_from_prompt
from .model_choice import effect_name


@dataclass(frozen=True)
class StyleState:
    backend: str = "effects"
    style: str | None = None  # effects: the style name (None: from the prompt); diffusion: the model
    prompt: str | None = None
    strength: float | None = None
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    applied: str = ""  # what the runtime answered it applied (effects: the resolved style)

    def request(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "style": self.style,
            "prompt": self.prompt,
            "strength": self.strength,
            "seed": self.seed,
            "params": dict(self.params) or None,
        }

    def with_prompt(self, prompt: str) -> StyleState:
        """Effects: a prompt naming a look (``"thermal camera"``) switches to it; one that names
        none keeps the current style. Diffusion: the prompt conditions the model."""
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a string, not {type(prompt).__name__}")
        if self.backend == "effects":
            matched, _ = style_from_prompt(prompt)
            style = None if matched else (self.style or self.applied or None)
            return dataclasses.replace(self, prompt=prompt, style=style)
        return dataclasses.replace(self, prompt=prompt)

    def with_style(self, name: str) -> StyleState:
        if self.backend == "effects":
            style = effect_name(name)
            if style is None:
                from ..backends.effects import EFFECTS

                raise ValueError(f"unknown style '{name}'; effects styles: {', '.join(EFFECTS)}")
            return dataclasses.replace(self, style=style, params={})
        return dataclasses.replace(self, style=name)


def check_strength(strength: float | None) -> float | None:
    if strength is None:
        return None
    if (
        isinstance(strength, bool)
        or not isinstance(strength, int | float)
        or not math.isfinite(strength)
        or not 0.0 <= strength <= 1.0
    ):
        raise ValueError(f"strength must be a number from 0 to 1, got {strength!r}")
    return float(strength)


def check_seed(seed: int | None) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return seed
