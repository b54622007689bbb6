#!/usr/bin/env python3
"""The package's .meta files: which assets need one, what a new one contains, what is wrong.

Unity imports nothing without a .meta in an immutable package folder (a git-URL install),
so every file and folder Unity imports has one, committed. A GUID is made once, from the
package name and the asset's path, and never regenerated: scenes and prefabs reference
scripts by GUID, so changing one breaks every scene that uses the component.

    python3 unity_meta.py --check     list what is missing, orphaned or duplicated (exit 1 if any)
    python3 unity_meta.py --write     create the missing .meta files (existing ones are kept)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
PACKAGE_NAME = json.loads((PACKAGE / "package.json").read_text())["name"]

_TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"


def imported(path: Path, package: Path = PACKAGE) -> bool:
    """Unity skips names starting with "." and folders ending in "~" (with their contents)."""
    parts = path.relative_to(package).parts
    return not any(p.startswith(".") or p.endswith("~") for p in parts) and path.suffix != ".meta"


def assets(package: Path = PACKAGE) -> list[Path]:
    return sorted(p for p in package.rglob("*") if imported(p, package))


def new_guid(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package).as_posix()
    return hashlib.md5(f"{PACKAGE_NAME}/{rel}".encode()).hexdigest()  # noqa: S324 - an id, not security


def _plugin_importer(platform: str) -> str:
    """PluginImporter settings: the Editor on `platform` (x86_64) and that platform's 64-bit player only."""
    editor_os = {"Linux64": "Linux", "Win64": "Windows", "OSXUniversal": "OSX"}[platform]
    players = ["Linux64", "OSXUniversal", "Win", "Win64"]
    lines = [
        "PluginImporter:",
        "  externalObjects: {}",
        "  serializedVersion: 2",
        "  iconMap: {}",
        "  executionOrder: {}",
        "  defineConstraints: []",
        "  isPreloaded: 1",
        "  isOverridable: 0",
        "  isExplicitlyReferenced: 0",
        "  validateReferences: 1",
        "  platformData:",
        "  - first:",
        "      : Any",
        "    second:",
        "      enabled: 0",
        "      settings:",
        "        Exclude Editor: 0",
    ]
    lines += [f"        Exclude {p}: {0 if p == platform else 1}" for p in players]
    lines += [
        "  - first:",
        "      Any: ",
        "    second:",
        "      enabled: 0",
        "      settings: {}",
        "  - first:",
        "      Editor: Editor",
        "    second:",
        "      enabled: 1",
        "      settings:",
        "        CPU: x86_64",
        "        DefaultValueInitialized: true",
        f"        OS: {editor_os}",
    ]
    for p in players:
        on = p == platform
        lines += [
            "  - first:",
            f"      Standalone: {p}",
            "    second:",
            f"      enabled: {1 if on else 0}",
            "      settings:",
            f"        CPU: {'x86_64' if on else 'None'}",
        ]
    return "\n".join(lines) + "\n"


def plugin_platform(path: Path, package: Path = PACKAGE) -> str | None:
    rel = path.relative_to(package).as_posix()
    if not rel.startswith("Plugins/"):
        return None
    if path.suffix in (".so",) and "/Linux/x86_64/" in f"/{rel}":
        return "Linux64"
    if path.suffix == ".dll" and "/Windows/x86_64/" in f"/{rel}":
        return "Win64"
    if path.suffix in (".dylib", ".bundle") and "/macOS/" in f"/{rel}":
        return "OSXUniversal"
    return None


def meta_text(path: Path, guid: str, package: Path = PACKAGE) -> str:
    head = f"fileFormatVersion: 2\nguid: {guid}\n"
    if path.is_dir():
        return head + "folderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n" + _TAIL
    suffix = path.suffix
    if suffix == ".cs":
        return (
            head
            + (
                "MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
                "  executionOrder: 0\n  icon: {instanceID: 0}\n"
            )
            + _TAIL
        )
    if suffix == ".asmdef":
        return head + "AssemblyDefinitionImporter:\n  externalObjects: {}\n" + _TAIL
    if path.name == "package.json" and path.parent == package:
        return head + "PackageManifestImporter:\n  externalObjects: {}\n" + _TAIL
    platform = plugin_platform(path, package)
    if platform:
        return head + _plugin_importer(platform) + _TAIL
    if suffix in (".so", ".dll", ".dylib"):
        raise ValueError(f"{path}: a native library outside Plugins/<OS>/x86_64 gets no platform settings")
    if suffix in (".md", ".txt", ".json", ".xml", ".bytes", ".html", ".csv", ".yaml"):
        return head + "TextScriptImporter:\n  externalObjects: {}\n" + _TAIL
    return head + "DefaultImporter:\n  externalObjects: {}\n" + _TAIL


def read_guid(meta: Path) -> str | None:
    m = re.search(r"^guid: ([0-9a-f]{32})\s*$", meta.read_text(), re.M)
    return m.group(1) if m else None


def problems(package: Path = PACKAGE) -> list[str]:
    found = []
    want = assets(package)
    for a in want:
        meta = a.with_name(a.name + ".meta")
        if not meta.is_file():
            found.append(f"{a.relative_to(package)}: no .meta (Unity would not import it)")
    guids: dict[str, Path] = {}
    for meta in sorted(package.rglob("*.meta")):
        rel = meta.relative_to(package)
        target = meta.with_name(meta.name[: -len(".meta")])
        if any(p.startswith(".") or p.endswith("~") for p in rel.parts[:-1]):
            found.append(f"{rel}: a .meta inside a folder Unity ignores")
            continue
        if not target.exists():
            found.append(f"{rel}: orphaned (no {target.name})")
            continue
        guid = read_guid(meta)
        if guid is None:
            found.append(f"{rel}: no 32-hex-digit guid line")
            continue
        if guid in guids:
            found.append(f"{rel}: guid {guid} is also {guids[guid].relative_to(package)}'s")
        guids[guid] = meta
        if not meta.read_text().startswith("fileFormatVersion: 2\n"):
            found.append(f"{rel}: does not start with fileFormatVersion: 2")
        if target.is_dir() != ("folderAsset: yes" in meta.read_text()):
            found.append(f"{rel}: folderAsset does not match what {target.name} is")
        platform = plugin_platform(target, package)
        if platform and f"Standalone: {platform}\n    second:\n      enabled: 1" not in meta.read_text():
            found.append(f"{rel}: native plugin not enabled for its player platform {platform}")
    return found


def write_missing(package: Path = PACKAGE) -> list[Path]:
    made = []
    for a in assets(package):
        meta = a.with_name(a.name + ".meta")
        if not meta.exists():
            meta.write_text(meta_text(a, new_guid(a, package), package))
            made.append(meta)
    return made


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--check", action="store_true")
    g.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    if args.write:
        for m in write_missing():
            print("created", m.relative_to(PACKAGE))
    found = problems()
    for p in found:
        print(p, file=sys.stderr)
    if not found:
        print(f"{len(assets())} assets, every one with its .meta, no duplicate guid")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
