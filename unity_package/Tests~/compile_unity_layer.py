#!/usr/bin/env python3
"""Compile the Unity package the way Unity does, against reference stubs of the Unity API.

Unity builds one assembly per asmdef (files of the asmdef's folder and its subfolders, minus
subfolders with their own asmdef and folders ending in "~"), follows the asmdef references,
and compiles runtime assemblies twice: for the Editor (UNITY_EDITOR defined, UnityEditor
available) and for players. Samples~ are imported into Assets/, where scripts without an
asmdef land in Assembly-CSharp, which references every auto-referenced asmdef.

This script does the same with mcs against the stubs in UnityStubs/ (one file per Unity
module), with warnings as errors. It exits non-zero and prints the compiler's message on the
first failure, so a member the package uses but the stubs lack fails the build.

    python3 compile_unity_layer.py [--work DIR] [--stubs DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent

# Unity modules stubbed in UnityStubs/: file stem -> the stub modules it references.
ENGINE_MODULES = {
    "UnityEngine.CoreModule": [],
    "UnityEngine.IMGUIModule": ["UnityEngine.CoreModule"],
    "UnityEngine.ScreenCaptureModule": ["UnityEngine.CoreModule"],
}
EDITOR_MODULES = {
    "UnityEditor.CoreModule": ["UnityEngine.CoreModule", "UnityEngine.IMGUIModule"],
}
# C# 7.3 is what the package promises; mcs knows the language up to 7.2 plus most of 7.3,
# and anything it accepts at 7.2 Unity (C# 9 from 2020.2 on) accepts too.
LANGVERSION = "7.2"
# Defines Unity sets for every script compile; the platform ones follow the target.
COMMON_DEFINES = ["UNITY_2021_3_OR_NEWER", "UNITY_STANDALONE", "UNITY_STANDALONE_LINUX"]


@dataclass
class Assembly:
    name: str
    sources: list[Path]
    references: list[str]
    file_name: str = ""
    implicit_references: bool = False  # Assembly-CSharp: every auto-referenced assembly of the target
    unsafe: bool = False
    engine: bool = True
    editor_only: bool = False
    auto_referenced: bool = True
    defines: list[str] = field(default_factory=list)


class CompileError(RuntimeError):
    pass


def _is_hidden(path: Path, root: Path) -> bool:
    """Unity skips folders ending in "~" and names starting with "."."""
    return any(part.endswith("~") or part.startswith(".") for part in path.relative_to(root).parts)


def find_asmdefs(package: Path) -> dict[Path, dict]:
    found = {}
    for p in sorted(package.rglob("*.asmdef")):
        if _is_hidden(p, package):
            continue
        found[p.parent] = json.loads(p.read_text())
    return found


def _sources_of(folder: Path, asmdef_folders: set[Path], package: Path) -> list[Path]:
    """The .cs files whose nearest asmdef is the one in `folder`."""
    out = []
    for cs in sorted(folder.rglob("*.cs")):
        if _is_hidden(cs, package):
            continue
        owner = next(p for p in cs.parents if p in asmdef_folders)
        if owner == folder:
            out.append(cs)
    return out


def package_assemblies(package: Path = PACKAGE) -> list[Assembly]:
    """The package's asmdef assemblies, then one Assembly-CSharp per sample."""
    asmdefs = find_asmdefs(package)
    folders = set(asmdefs)
    assemblies = []
    for folder, spec in asmdefs.items():
        platforms = spec.get("includePlatforms", [])
        assemblies.append(
            Assembly(
                name=spec["name"],
                sources=_sources_of(folder, folders, package),
                references=list(spec.get("references", [])),
                unsafe=bool(spec.get("allowUnsafeCode", False)),
                engine=not spec.get("noEngineReferences", False),
                editor_only=platforms == ["Editor"],
                auto_referenced=spec.get("autoReferenced", True),
                defines=list(spec.get("defineConstraints", [])),
            )
        )
    auto = [a.name for a in assemblies if a.auto_referenced]
    samples = package / "Samples~"
    if samples.is_dir():
        for sample in sorted(p for p in samples.iterdir() if p.is_dir()):
            if any(sample.rglob("*.asmdef")):
                raise CompileError(f"{sample}: samples with their own asmdef are not handled by this script")
            sources = sorted(sample.rglob("*.cs"))
            if sources:
                assemblies.append(
                    Assembly(
                        f"Assembly-CSharp ({sample.name})",
                        sources,
                        list(auto),
                        f"Assembly-CSharp.{sample.name}.dll",
                        implicit_references=True,
                    )
                )
    return assemblies


def _order(assemblies: list[Assembly]) -> list[Assembly]:
    by_name = {a.name: a for a in assemblies}
    done: list[str] = []

    def visit(a: Assembly, trail: tuple[str, ...]) -> None:
        if a.name in done:
            return
        if a.name in trail:
            raise CompileError("asmdef reference cycle: " + " -> ".join(trail + (a.name,)))
        for r in a.references:
            if r not in by_name:
                raise CompileError(f"{a.name} references '{r}', which no asmdef in the package defines")
            visit(by_name[r], trail + (a.name,))
        done.append(a.name)

    for a in assemblies:
        visit(a, ())
    return [by_name[n] for n in done]


def _mcs(out: Path, sources: list[Path], refs: list[Path], *, unsafe: bool, defines: list[str]) -> None:
    cmd = [
        "mcs",
        f"-langversion:{LANGVERSION}",
        "-target:library",
        "-warnaserror+",
        "-nowarn:1591",
        "-nologo",
        f"-out:{out}",
    ]
    if unsafe:
        cmd.append("-unsafe")
    if defines:
        cmd.append("-define:" + ";".join(defines))
    cmd += [f"-r:{r}" for r in refs]
    cmd += [str(s) for s in sources]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or "warning" in output:
        raise CompileError(f"mcs failed for {out.name}:\n{output}")


def compile_stubs(stubs: Path, work: Path) -> dict[str, Path]:
    work.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}
    for name, deps in {**ENGINE_MODULES, **EDITOR_MODULES}.items():
        src = stubs / f"{name}.cs"
        if not src.is_file():
            raise CompileError(f"missing stub module {src}")
        out = work / f"{name}.dll"
        _mcs(out, [src], [built[d] for d in deps], unsafe=True, defines=[])
        built[name] = out
    return built


def compile_package(stubs: Path, work: Path, package: Path = PACKAGE) -> list[str]:
    """Compiles every assembly for the Editor and (runtime ones) for players; returns what was built."""
    modules = compile_stubs(stubs, work / "stubs")
    engine = [modules[m] for m in ENGINE_MODULES]
    editor = [modules[m] for m in EDITOR_MODULES]
    built: list[str] = []
    for target in ("editor", "player"):
        out_dir = work / target
        out_dir.mkdir(parents=True, exist_ok=True)
        outputs: dict[str, Path] = {}
        for a in _order(package_assemblies(package)):
            if a.editor_only and target == "player":
                continue
            refs = [outputs[r] for r in a.references if r in outputs]
            missing = [r for r in a.references if r not in outputs and not a.implicit_references]
            if missing:
                raise CompileError(f"{a.name} ({target}) references editor-only {missing}")
            defines = list(COMMON_DEFINES) + a.defines
            if a.engine:
                refs += engine
                if target == "editor":
                    refs += editor
            if target == "editor":
                defines.append("UNITY_EDITOR")
            out = out_dir / (a.file_name or f"{a.name}.dll")
            _mcs(out, a.sources, refs, unsafe=a.unsafe, defines=defines)
            outputs[a.name] = out
            built.append(f"{target}: {a.name} ({len(a.sources)} files)")
    return built


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, help="output folder (default: a temporary one)")
    ap.add_argument("--stubs", type=Path, default=HERE / "UnityStubs", help="folder of stub modules")
    ap.add_argument("--package", type=Path, default=PACKAGE, help="the Unity package folder")
    args = ap.parse_args(argv)
    if shutil.which("mcs") is None:
        print("compile_unity_layer: mcs not found (apt-get install mono-mcs)", file=sys.stderr)
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="lsd-unity-compile-"))
    try:
        for line in compile_package(args.stubs, work, args.package):
            print("compiled", line)
    except CompileError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"all Unity assemblies compiled against the stubs with no warnings ({work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
