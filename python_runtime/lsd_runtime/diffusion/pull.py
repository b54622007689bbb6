"""Download a model into the Hugging Face cache (``lsd-runtime models pull NAME``).

The only code in the diffusion package that uses the network; the runtime itself never calls it.
"""

from __future__ import annotations

from pathlib import Path

from .catalog import CATALOG, VAE_ALIASES
from .resolve import FILE_PATTERNS, PIPELINE_PATTERNS


def pull(name: str, cache_dir: Path | None = None) -> list[Path]:
    """Download ``name`` (catalogue name, VAE alias or hub repo id) and what it needs.

    Returns the local snapshot folders. Progress bars come from ``huggingface_hub``.
    """
    from huggingface_hub import snapshot_download

    spec = CATALOG.get(name)
    if spec is not None:
        wanted = [(spec.repo_id, PIPELINE_PATTERNS), (spec.tiny_vae_repo, FILE_PATTERNS)]
        if spec.lora_repo:
            wanted.append((spec.lora_repo, FILE_PATTERNS))
    elif name in VAE_ALIASES:
        wanted = [(VAE_ALIASES[name], FILE_PATTERNS)]
    else:
        wanted = [(name, PIPELINE_PATTERNS)]
    out: list[Path] = []
    for repo, patterns in wanted:
        print(f"pulling {repo}")
        out.append(Path(snapshot_download(repo, allow_patterns=patterns,
                                          cache_dir=str(cache_dir) if cache_dir else None)))
    return out
