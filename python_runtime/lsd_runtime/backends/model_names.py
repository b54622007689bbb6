"""Model names → backend and style: the one place a client's model string is resolved.

Every client (the Unity and Unreal plugins through the native library, the Python client,
the SDK, the CLI) sends the name the user typed as ``set_style.model``; the runtime answers
with what it resolved and a canonical name (PROTOCOL.md §11). Accepted, case-insensitively
for the names of the built-in styles:

- an effects style or alias: ``toon``, ``watercolor``, ``Neon``, ``pixel-art``...;
- ``effects`` (the default model): the effects backend, the style from the prompt's words;
- ``effects:NAME``: that effects style;
- ``diffusion``: the diffusion backend's default model; ``diffusion:NAME``: that model;
- a diffusion catalogue name (``sd-turbo``...), a Hugging Face repo id (``owner/name``) or a
  local diffusers folder.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from .. import protocol
from .base import StyleError, StyleRequest
from .effects import ALIASES, EFFECTS, effect_name

EFFECTS_BACKEND = "effects"
DIFFUSION_BACKEND = "diffusion"
DEFAULT_MODEL: str = protocol.DEFAULT_MODEL


@dataclass(frozen=True)
class ModelChoice:
    backend: str  # "effects" or "diffusion"
    style: str | None  # effects: the style (None: from the prompt); diffusion: the model (None: default)

    @property
    def name(self) -> str:
        """The canonical model name: sent as ``model`` it selects this choice again."""
        return self.style if self.style else self.backend


def diffusion_models() -> list[str]:
    from .diffusion.catalog import CATALOG

    return list(CATALOG)


def known_models(backends: list[str]) -> list[str]:
    """Names resolved without a path, for ``welcome.models``."""
    names = [*EFFECTS, *ALIASES, EFFECTS_BACKEND]
    if DIFFUSION_BACKEND in backends:
        names += [DIFFUSION_BACKEND, *diffusion_models()]
    return names


def resolve_model(model: str | os.PathLike[str]) -> ModelChoice:
    """The backend and style a model name selects; ``StyleError(unknown_style)`` if none."""
    text = os.fspath(model).strip()
    if not text:
        raise StyleError("unknown_style", "the model name is empty")
    from .diffusion.controlnet import MARK, split_model

    base, controlnet = split_model(text)
    if controlnet is not None:  # "<diffusion model>+depth[=<ControlNet>]"
        choice = resolve_model(base) if base.strip() else ModelChoice(DIFFUSION_BACKEND, None)
        if choice.backend != DIFFUSION_BACKEND:
            raise StyleError(
                "unknown_style",
                f"'{text[:64]}': a depth ControlNet goes with a diffusion model, not an effect",
            )
        model = choice.style or default_diffusion_model()
        return ModelChoice(DIFFUSION_BACKEND, model + MARK + (f"={controlnet}" if controlnet else ""))
    lower = text.lower()
    head, sep, rest = text.partition(":")
    # "backend:name" (a Windows drive letter, C:\models\x, has a one-letter head and is a path)
    if sep and head.lower() in (EFFECTS_BACKEND, DIFFUSION_BACKEND):
        return _explicit(head.lower(), rest.strip(), text)
    if lower == EFFECTS_BACKEND:
        return ModelChoice(EFFECTS_BACKEND, None)
    if lower == DIFFUSION_BACKEND:
        return ModelChoice(DIFFUSION_BACKEND, None)
    style = effect_name(text)
    if style is not None:
        return ModelChoice(EFFECTS_BACKEND, style)
    if text in diffusion_models():
        return ModelChoice(DIFFUSION_BACKEND, text)
    folder = Path(text).expanduser()
    if folder.is_dir():
        return ModelChoice(DIFFUSION_BACKEND, str(folder))
    if text.count("/") == 1 and not text.startswith(("/", ".", "~")):
        return ModelChoice(DIFFUSION_BACKEND, text)  # a Hugging Face hub id, e.g. stabilityai/sd-turbo
    raise StyleError("unknown_style", _unknown(text))


def default_diffusion_model() -> str:
    from .diffusion.config import default_config

    return default_config().model


def _explicit(backend: str, name: str, text: str) -> ModelChoice:
    if not name:
        return ModelChoice(backend, None)
    if backend == EFFECTS_BACKEND:
        style = effect_name(name)
        if style is None:
            raise StyleError(
                "unknown_style", f"effects has no style '{name[:64]}'; styles: {', '.join(EFFECTS)}"
            )
        return ModelChoice(EFFECTS_BACKEND, style)
    folder = Path(name).expanduser()
    return ModelChoice(DIFFUSION_BACKEND, str(folder) if folder.is_dir() else name)


def _unknown(text: str) -> str:
    return (
        f"unknown model '{text[:48]}'; try an effects style ({', '.join(EFFECTS)}), 'effects', "
        f"a diffusion model ({', '.join(diffusion_models())}), owner/name or a folder"
    )


def resolve_request(request: StyleRequest) -> StyleRequest:
    """A request with ``backend`` and ``style`` filled in from ``model`` (or the default model)."""
    if request.model is not None:
        if request.backend is not None or request.style is not None:
            raise StyleError("bad_field", "give 'model', or 'backend' with 'style', not both")
        choice = resolve_model(request.model)
    elif request.backend is None:
        if request.style is not None:
            raise StyleError("bad_field", "'style' needs 'backend' (or name the look with 'model')")
        choice = resolve_model(DEFAULT_MODEL)
    else:
        return request
    return dataclasses.replace(request, backend=choice.backend, style=choice.style, model=None)
