"""Find a model's files offline: a local diffusers folder or the Hugging Face cache.

Nothing here touches the network (``local_files_only``); ``pull`` in ``pull.py`` is the one
place that downloads, and only when a user runs ``lsd-runtime models pull NAME``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .catalog import CATALOG, VAE_ALIASES, ModelSpec

PIPELINE_PATTERNS = ["model_index.json", "*/*.json", "*/*.txt", "*/*.safetensors"]
FILE_PATTERNS = ["*.json", "*.safetensors"]


class ModelNotFoundError(LookupError):
    """A model that is neither a local folder nor in the Hugging Face cache."""

    def __init__(self, name: str, detail: str = "", hint: str | None = None):
        if hint is None:
            hint = (
                f"run: lsd-runtime models pull {name}"
                if name in CATALOG or "/" in name
                else f"known models: {', '.join(CATALOG)}, or a local diffusers folder"
            )
        msg = f"model '{name}' is not available offline ({detail or 'not in the Hugging Face cache'}); {hint}"
        super().__init__(msg)
        self.name = name


@dataclass(frozen=True)
class ResolvedModel:
    """Everything the loader needs, as local paths."""

    name: str
    path: Path  # a diffusers pipeline folder (model_index.json, unet/, vae/, text_encoder/...)
    family: str
    lcm: bool
    vae_path: Path | None  # a separate (tiny) VAE folder; None: use ``path/vae``
    lora_path: Path | None
    default_steps: int
    default_guidance: float


def cached_snapshot(repo_id: str, patterns: list[str], cache_dir: Path | None = None) -> Path | None:
    """The local snapshot of ``repo_id`` if the hub cache has it, else None. Never downloads."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        path = snapshot_download(
            repo_id,
            allow_patterns=patterns,
            local_files_only=True,
            cache_dir=str(cache_dir) if cache_dir else None,
        )
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None
    return Path(path)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _folder_family(path: Path) -> str:
    index = _read_json(path / "model_index.json")
    if "XL" in str(index.get("_class_name", "")) or (path / "text_encoder_2").is_dir():
        return "sdxl"
    return "sd"


def _is_tiny_vae(folder: Path) -> bool:
    return _read_json(folder / "config.json").get("_class_name") == "AutoencoderTiny"


def resolve_vae(name: str, cache_dir: Path | None = None) -> Path:
    """A VAE folder from a path, an alias (``taesd``) or a hub repo id in the cache."""
    local = Path(name).expanduser()
    if local.is_dir():
        return local
    repo = VAE_ALIASES.get(name, name)
    found = cached_snapshot(repo, FILE_PATTERNS, cache_dir)
    if found is None or not (found / "config.json").exists():
        raise ModelNotFoundError(name)
    return found


def _tiny_vae_for(
    family: str, folder: Path, tiny: bool, override: str | None, cache_dir: Path | None, strict: bool
) -> Path | None:
    if override:
        return resolve_vae(override, cache_dir)
    if not tiny or _is_tiny_vae(folder / "vae"):
        return None  # use the pipeline's own VAE
    repo = VAE_ALIASES["taesdxl" if family == "sdxl" else "taesd"]
    found = cached_snapshot(repo, FILE_PATTERNS, cache_dir)
    if found is not None and (found / "config.json").exists():
        return found
    if strict:
        raise ModelNotFoundError(repo)
    return None  # a local folder without a cached tiny VAE falls back to its own VAE


def resolve_model(
    name: str, *, tiny_vae: bool = True, vae: str | None = None, cache_dir: Path | None = None
) -> ResolvedModel:
    """Resolve a catalogue name, a hub repo id in the cache, or a local diffusers folder."""
    if not name or len(name) > 1024:
        raise ModelNotFoundError(name[:64] if name else "<empty>", "no model name given")
    local = Path(name).expanduser()
    spec: ModelSpec | None = CATALOG.get(name)
    if spec is None and local.is_dir():
        path = local
    else:
        repo = spec.repo_id if spec else name
        if spec is None and "/" not in name:
            raise ModelNotFoundError(name, "not a known model name nor a folder")
        found = cached_snapshot(repo, PIPELINE_PATTERNS, cache_dir)
        if found is None:
            raise ModelNotFoundError(name)
        path = found
    if not (path / "unet").is_dir():
        raise ModelNotFoundError(name, f"{path} has no unet/ folder (not a diffusers pipeline)")
    family = spec.family if spec else _folder_family(path)
    lcm = (
        spec.lcm
        if spec
        else (_read_json(path / "scheduler" / "scheduler_config.json").get("_class_name") == "LCMScheduler")
    )
    lora_path = None
    if spec and spec.lora_repo:
        lora_path = cached_snapshot(spec.lora_repo, FILE_PATTERNS, cache_dir)
        if lora_path is None:
            raise ModelNotFoundError(name, f"its LoRA {spec.lora_repo} is not in the cache")
    vae_path = _tiny_vae_for(family, path, tiny_vae, vae, cache_dir, strict=spec is not None)
    return ResolvedModel(
        name=name,
        path=path,
        family=family,
        lcm=lcm,
        vae_path=vae_path,
        lora_path=lora_path,
        default_steps=spec.default_steps if spec else (2 if lcm else 1),
        default_guidance=spec.default_guidance if spec else 0.0,
    )
