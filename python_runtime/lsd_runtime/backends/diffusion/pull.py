"""Download a model into the Hugging Face cache (``lsd-runtime models pull NAME``).

The only code in the diffusion package that uses the network; the runtime itself never calls it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .catalog import CATALOG, VAE_ALIASES
from .resolve import FILE_PATTERNS, PIPELINE_PATTERNS

log = logging.getLogger(__name__)


def pull(name: str, cache_dir: Path | None = None, files: bool = False) -> list[Path]:
    """Download ``name`` (catalogue name, VAE alias, ``safety-checker`` or hub repo id) and what
    it needs. ``files``: the repo is files at its top level (a LoRA, a VAE), not a pipeline.

    Returns the local snapshot folders. Progress bars come from ``huggingface_hub``.
    """
    from huggingface_hub import snapshot_download

    from .safety import DEFAULT_REPO

    spec = CATALOG.get(name)
    if spec is not None:
        wanted = [(spec.repo_id, PIPELINE_PATTERNS), (spec.tiny_vae_repo, FILE_PATTERNS)]
        if spec.lora_repo:
            wanted.append((spec.lora_repo, FILE_PATTERNS))
    elif name in VAE_ALIASES:
        wanted = [(VAE_ALIASES[name], FILE_PATTERNS)]
    elif name == "safety-checker":
        wanted = [(DEFAULT_REPO, FILE_PATTERNS)]
    else:
        wanted = [(name, FILE_PATTERNS if files else PIPELINE_PATTERNS)]
    out: list[Path] = []
    for repo, patterns in wanted:
        log.info("pulling %s", repo)
        out.append(
            Path(
                snapshot_download(
                    repo, allow_patterns=patterns, cache_dir=str(cache_dir) if cache_dir else None
                )
            )
        )
    return out
