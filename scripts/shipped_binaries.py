#!/usr/bin/env python3
"""Keep the native binaries committed inside the engine plugins honest.

The Unity package ships a built liblsd_bridge (a git-URL install cannot build one). This
records, for each shipped binary, its SHA-256, the hash of the native sources it was built
from, the shared libraries it needs and the newest glibc symbol version it uses; `check`
fails when the binary changed without being recorded, when the sources changed and the
binary was not rebuilt (scripts/build_plugin_binaries.sh), or when it needs a library a
user's machine may not have.

    python3 scripts/shipped_binaries.py record PATH --zmq NAME
    python3 scripts/shipped_binaries.py check
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "shared_protocol" / "native" / "shipped_binaries.json"
NATIVE = ROOT / "shared_protocol" / "native"
# what the binary is built from; tests, examples and benchmarks are not in it
SOURCES = [
    NATIVE / "CMakeLists.txt",
    NATIVE / "include",
    NATIVE / "src",
    NATIVE / "unity",
    ROOT / "scripts" / "build_deps.sh",
    ROOT / "scripts" / "build_plugin_binaries.sh",
]
# present on every desktop Linux the plugins support (glibc >= 2.34, GCC 12's libstdc++)
ALLOWED_NEEDED = {
    "libc.so.6",
    "libm.so.6",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
}
# a Windows DLL may import only what every Windows 10+ has
ALLOWED_DLLS = {"kernel32.dll", "msvcrt.dll", "ws2_32.dll", "iphlpapi.dll", "advapi32.dll"}
MAX_GLIBC = (2, 34)
MAX_GLIBCXX = (3, 4, 30)


def _tracked(paths: list[Path]) -> list[Path] | None:
    """The files under `paths` that git tracks or would track (untracked but not ignored: a new
    source file counts before it is staged); None outside a git checkout."""
    try:
        rel = [str(p.relative_to(ROOT)) for p in paths]
        out = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "--", *rel],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return sorted({ROOT / line for line in out.splitlines() if line and (ROOT / line).is_file()})


def source_hash() -> str:
    """Hash of what the binaries are built from: the files git tracks or would track (a
    build folder inside the tree is ignored and does not count), with their current content,
    staged or not."""
    h = hashlib.sha256()
    files = _tracked(SOURCES)
    if files is None:
        files = []
        for s in SOURCES:
            files += sorted(p for p in s.rglob("*") if p.is_file()) if s.is_dir() else [s]
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode() + b"\0")
        h.update(f.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_pe(path: Path) -> bool:
    return path.suffix.lower() in (".dll", ".lib")


def pe_imports(path: Path) -> list[str]:
    out = subprocess.run(
        ["x86_64-w64-mingw32-objdump", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return sorted(re.findall(r"DLL Name: (\S+)", out))


def pe_exports(path: Path) -> list[str]:
    out = subprocess.run(
        ["x86_64-w64-mingw32-objdump", "-p", str(path)], capture_output=True, text=True, check=True
    ).stdout
    names = []
    if "[Ordinal/Name Pointer] Table" in out:
        for line in out.split("[Ordinal/Name Pointer] Table", 1)[1].splitlines()[1:]:
            m = re.match(r"\s*\[\s*\d+\]\s+(\w+)\s*$", line)
            if not m:
                break  # the table ends at the first line that is not an entry
            names.append(m.group(1))
    return sorted(set(names))


def elf_needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return sorted(re.findall(r"\(NEEDED\).*\[(.+?)\]", out))


def elf_max_version(path: Path, prefix: str) -> str:
    """The newest `prefix`_x.y[.z] symbol version the binary imports (GLIBC, GLIBCXX)."""
    out = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True, check=True).stdout
    versions = {
        tuple(int(x) for x in v.split(".")) for v in re.findall(rf"\b{prefix}_(\d+\.\d+(?:\.\d+)?)\b", out)
    }
    return ".".join(str(x) for x in max(versions)) if versions else ""


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(".")) if text else ()


def elf_exports(path: Path) -> list[str]:
    out = subprocess.run(
        ["nm", "-D", "--defined-only", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return sorted(line.split()[-1] for line in out.splitlines() if line.strip())


def load() -> dict:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}


def record(path: Path, zmq: str) -> None:
    manifest = load()
    rel = str(path.resolve().relative_to(ROOT))
    entry = {"sha256": file_sha256(path), "sources_sha256": source_hash(), "libzmq": zmq + " (static)"}
    if path.suffix.lower() == ".lib":
        pass  # an import library: its DLL's entry says the rest
    elif is_pe(path):
        entry.update({"needed": pe_imports(path), "exports": len(pe_exports(path))})
    else:
        entry.update(
            {
                "needed": elf_needed(path),
                "max_glibc": elf_max_version(path, "GLIBC"),
                "max_glibcxx": elf_max_version(path, "GLIBCXX"),
                "exports": len(elf_exports(path)),
            }
        )
    manifest[rel] = entry
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    print(f"recorded {rel} in {MANIFEST.relative_to(ROOT)}")


def problems() -> list[str]:
    found = []
    manifest = load()
    if not manifest:
        return [f"{MANIFEST.relative_to(ROOT)} lists no shipped binary"]
    current = source_hash()
    for rel, entry in manifest.items():
        path = ROOT / rel
        if not path.is_file():
            found.append(f"{rel}: listed but missing")
            continue
        if file_sha256(path) != entry["sha256"]:
            found.append(f"{rel}: changed without being recorded (run scripts/build_plugin_binaries.sh)")
        if entry["sources_sha256"] != current:
            found.append(
                f"{rel}: built from older native sources; rebuild it with scripts/build_plugin_binaries.sh"
            )
        if is_pe(path):
            extra = sorted(n for n in entry.get("needed", []) if n.lower() not in ALLOWED_DLLS)
        else:
            extra = sorted(set(entry["needed"]) - ALLOWED_NEEDED)
        if extra:
            found.append(f"{rel}: needs {', '.join(extra)}, which users' machines may not have")
        for key, limit, what in (
            ("max_glibc", MAX_GLIBC, "glibc"),
            ("max_glibcxx", MAX_GLIBCXX, "libstdc++ (GLIBCXX)"),
        ):
            if _version(entry.get(key, "")) > limit:
                found.append(
                    f"{rel}: needs {what} {entry[key]}, newer than the supported {'.'.join(map(str, limit))}"
                )
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("path", type=Path)
    r.add_argument("--zmq", required=True)
    sub.add_parser("check")
    args = ap.parse_args(argv)
    if args.cmd == "record":
        record(args.path, args.zmq)
        return 0
    found = problems()
    for p in found:
        print("shipped binary:", p, file=sys.stderr)
    if not found:
        print("shipped binaries are current")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
