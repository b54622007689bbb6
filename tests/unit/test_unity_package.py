"""The Unity package as Unity would see it, without an Editor: every assembly compiles against
reference stubs of the Unity API (and fails when a used member is missing), every asset has its
.meta, asmdef references resolve, the shipped native binary is current and self-contained, and
the Unity-layer code avoids the API traps the audit found (fake-null objects, the legacy Input
class)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "unity_package"
TESTS = PACKAGE / "Tests~"
STUBS = TESTS / "UnityStubs"
# the C# Unity users' code touches: everything but the engine-free Core
UNITY_LAYER = sorted(
    [
        *(PACKAGE / "Runtime" / "Unity").rglob("*.cs"),
        *(PACKAGE / "Editor").rglob("*.cs"),
        *(PACKAGE / "Samples~").rglob("*.cs"),
    ]
)
NEEDS_MCS = pytest.mark.skipif(shutil.which("mcs") is None, reason="mcs (apt: mono-mcs) is not installed")


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


compile_layer = _load("compile_unity_layer", TESTS / "compile_unity_layer.py")
unity_meta = _load("unity_meta", TESTS / "unity_meta.py")
check_stubs = _load("check_stubs", STUBS / "check_stubs.py")


# ---- compiling against the stubs -----------------------------------------------------------


@NEEDS_MCS
def test_every_assembly_compiles_against_the_stubs_with_no_warnings(tmp_path: Path) -> None:
    built = compile_layer.compile_package(STUBS, tmp_path)
    core = len(list((PACKAGE / "Runtime" / "Core").glob("*.cs")))
    unity = len(list((PACKAGE / "Runtime" / "Unity").glob("*.cs")))
    assert built == [
        f"editor: LSDBridge.Core ({core} files)",
        f"editor: LSDBridge.Runtime ({unity} files)",
        "editor: LSDBridge.Editor (1 files)",
        "editor: Assembly-CSharp (BasicDemo) (1 files)",
        f"player: LSDBridge.Core ({core} files)",
        f"player: LSDBridge.Runtime ({unity} files)",
        "player: Assembly-CSharp (BasicDemo) (1 files)",
    ]
    for target in ("editor", "player"):
        assert (tmp_path / target / "LSDBridge.Runtime.dll").stat().st_size > 0


def _stubs_without(tmp_path: Path, stub_file: str, line_fragment: str) -> Path:
    stubs = tmp_path / "stubs-src"
    shutil.copytree(STUBS, stubs)
    path = stubs / stub_file
    lines = path.read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if line_fragment not in ln]
    assert len(kept) == len(lines) - 1, f"'{line_fragment}' must name exactly one line of {stub_file}"
    path.write_text("".join(kept))
    return stubs


@NEEDS_MCS
@pytest.mark.parametrize(
    ("stub_file", "member", "failing_assembly"),
    [
        # used by the Unity layer in every build
        ("UnityEngine.CoreModule.cs", "public static void CopyTexture(", "LSDBridge.Runtime"),
        # used only under #if UNITY_EDITOR in the runtime assembly: proves the editor variant is compiled
        ("UnityEditor.CoreModule.cs", "playModeStateChanged", "LSDBridge.Runtime"),
        # the status window (an editor-only asmdef)
        ("UnityEditor.CoreModule.cs", "GUIStyle boldLabel", "LSDBridge.Editor"),
        # the sample, compiled as Assembly-CSharp
        ("UnityEngine.IMGUIModule.cs", "public static void Label(", "Assembly-CSharp"),
        ("UnityEngine.ScreenCaptureModule.cs", "CaptureScreenshotIntoRenderTexture", "LSDBridge.Runtime"),
    ],
)
def test_compile_fails_when_a_used_member_is_missing_from_the_stubs(
    tmp_path: Path, stub_file: str, member: str, failing_assembly: str
) -> None:
    stubs = _stubs_without(tmp_path, stub_file, member)
    with pytest.raises(compile_layer.CompileError) as e:
        compile_layer.compile_package(stubs, tmp_path / "out")
    message = str(e.value)
    assert f"mcs failed for {failing_assembly}" in message, message
    assert "error CS" in message, message


@NEEDS_MCS
def test_core_internals_are_reachable_only_because_core_grants_them(tmp_path: Path) -> None:
    """The 10 x CS0122 a user hit: the Unity layer uses Core's internal NativeMethods and Utf8."""
    package = tmp_path / "pkg"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("*.so", "Tests~"))
    info = package / "Runtime" / "Core" / "AssemblyInfo.cs"
    info.write_text(info.read_text().replace('[assembly: InternalsVisibleTo("LSDBridge.Runtime")]', ""))
    with pytest.raises(compile_layer.CompileError) as e:
        compile_layer.compile_package(STUBS, tmp_path / "out", package)
    # mcs stops at the first phase with errors (a field initialiser's come before method bodies'):
    # however many it lists, every one is "inaccessible due to its protection level"
    errors = re.findall(r"error (CS\d+)", str(e.value))
    assert errors and set(errors) == {"CS0122"}, str(e.value)
    assert "`LSDBridge.NativeMethods' is inaccessible due to its protection level" in str(e.value)


def test_asmdef_references_name_assemblies_of_the_package() -> None:
    asmdefs = compile_layer.find_asmdefs(PACKAGE)
    names = {spec["name"] for spec in asmdefs.values()}
    assert names == {"LSDBridge.Core", "LSDBridge.Runtime", "LSDBridge.Editor"}
    for folder, spec in asmdefs.items():
        for ref in spec.get("references", []):
            assert ref in names, f"{folder.name}: references '{ref}', which no asmdef defines"
    # the check itself refuses a dangling reference
    broken = [compile_layer.Assembly("A", [], ["Missing.Assembly"])]
    with pytest.raises(compile_layer.CompileError, match="references 'Missing.Assembly'"):
        compile_layer._order(broken)


def test_every_cs_file_belongs_to_exactly_one_assembly() -> None:
    owned = [s for a in compile_layer.package_assemblies(PACKAGE) for s in a.sources]
    expected = sorted(p for p in PACKAGE.rglob("*.cs") if "Tests~" not in p.parts and ".git" not in p.parts)
    assert sorted(owned) == expected
    assert len(owned) == len(set(owned))


# ---- the stubs against Unity's reference source -----------------------------------------------


def test_verified_report_lists_exactly_the_stub_members_all_checked() -> None:
    """VERIFIED.md is written by check_stubs.py against UnityCsReference (not reachable from CI);
    a stub member added without re-running it, or one that failed there, fails here."""
    report = (STUBS / "VERIFIED.md").read_text()
    rows = {}
    for line in report.splitlines():
        m = re.match(r"\| (\S+) \| `(.+)` \| (.+) \|$", line)
        if m:
            rows[m.group(2)] = [c.strip() for c in m.group(3).split("|")]
    members = check_stubs.members()
    keys = [m.key for m in members]
    assert len(keys) == len(set(keys)), "two stub declarations with the same key"
    assert sorted(rows) == sorted(keys)
    versions = re.search(r"\| module \| declaration \| (.+) \|", report).group(1).split(" | ")
    assert versions == ["2021.3", "2022.3", "6000.0", "6000.3"]
    for key, cells in rows.items():
        assert cells == ["✓"] * len(versions), f"{key}: {cells}"


def test_stub_parser_reads_kinds_types_and_setters() -> None:
    by_key = {m.key: m for m in check_stubs.members()}
    main = by_key["UnityEngine.Camera.main"]
    assert (main.kind, main.type, main.static, main.setter) == ("property", "Camera", True, False)
    target = by_key["UnityEngine.Camera.targetTexture"]
    assert (target.static, target.setter) == (False, True)
    request = by_key[
        "UnityEngine.Rendering.AsyncGPUReadback.Request("
        "Texture, int, TextureFormat, Action<AsyncGPUReadbackRequest>)"
    ]
    assert (request.kind, request.type) == ("method", "AsyncGPUReadbackRequest")
    assert by_key["UnityEngine.TextureFormat.RGBA32"].type == "4"
    assert by_key[
        "Unity.Collections.LowLevel.Unsafe.NativeArrayUnsafeUtility.GetUnsafePtr<T>(this NativeArray<T>)"
    ]
    assert by_key["UnityEngine.Light (class : Behaviour)"].kind == "type"


def _fake_reference(tmp_path: Path, source: str) -> Path:
    repo = tmp_path / "ref"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "2022.3"], check=True)
    (repo / "Runtime").mkdir()
    (repo / "Runtime" / "Camera.cs").write_text(source)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "ref"], check=True)
    return repo / ".git"


_STUB = """// @module UnityEngine.CoreModule
// @versions 2022.3
namespace UnityEngine
{
    // @ref Runtime/Camera.cs
    public sealed partial class Camera : Behaviour
    {
        public static Camera main { get { throw null; } }
        public RenderTexture targetTexture { get { throw null; } set { } }
        public void Render(int layer) { throw null; }
    }
}
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize(
    ("reference", "failures"),
    [
        (
            "namespace UnityEngine {\n public sealed partial class Camera : Behaviour {\n"
            "  extern public static Camera main { get; }\n"
            "  public extern RenderTexture targetTexture { get; set; }\n"
            "  [Native] public void Render([NotNull] int layer) {}\n } }\n",
            {},
        ),
        (
            # main not static, targetTexture without setter, Render with another parameter type
            "namespace UnityEngine {\n public sealed partial class Camera : Behaviour {\n"
            "  public Camera main { get; }\n  public RenderTexture targetTexture { get; }\n"
            "  public void Render(float layer) {}\n } }\n",
            {"main": "instance", "targetTexture": "no setter", "Render": "(float)"},
        ),
        (
            # the type in another namespace: UnityEngine.Device's shims look like this
            "namespace UnityEngine.Device {\n public static class Camera {\n"
            "  public static Camera main { get; }\n } }\n",
            {
                "Camera": "type not found",
                "main": "type not found",
                "targetTexture": "type not found",
                "Render": "type not found",
            },
        ),
        (
            # internal members do not count
            "namespace UnityEngine {\n public sealed partial class Camera : Behaviour {\n"
            "  internal static Camera main { get; }\n  public RenderTexture targetTexture { get; set; }\n"
            "  public void Render(int layer) {}\n } }\n",
            {"main": "not found"},
        ),
    ],
)
def test_stub_checker_finds_what_differs_from_the_reference(
    tmp_path: Path, reference: str, failures: dict[str, str]
) -> None:
    stub_dir = tmp_path / "stubs"
    stub_dir.mkdir()
    (stub_dir / "UnityEngine.CoreModule.cs").write_text(_STUB)
    results, _ = check_stubs.check(check_stubs.Reference(_fake_reference(tmp_path, reference)), stub_dir)
    got = {}
    for member, outcome in results:
        problem = outcome["2022.3"]
        if problem is not None:
            got[member.name] = problem
    assert set(got) == set(failures), got
    for name, fragment in failures.items():
        assert fragment in got[name], got[name]


# ---- .meta files ------------------------------------------------------------------------------


def test_every_imported_file_and_folder_has_its_meta() -> None:
    assert unity_meta.problems() == []
    assets = unity_meta.assets()
    assert len(assets) >= 40
    # folders too, and the shipped native library
    rels = {a.relative_to(PACKAGE).as_posix() for a in assets}
    assert {
        "Runtime",
        "Runtime/Unity",
        "Plugins/Linux/x86_64",
        "Plugins/Linux/x86_64/liblsd_bridge.so",
    } <= rels
    assert not any(r.startswith(("Tests~", "Samples~")) for r in rels)


def test_meta_check_reports_missing_orphaned_and_duplicated(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("*.so", "*.so.meta"))
    assert unity_meta.problems(package) == []
    (package / "Runtime" / "Unity" / "LSDStreamEngine.cs.meta").unlink()
    (package / "Runtime" / "Gone.cs.meta").write_text("fileFormatVersion: 2\nguid: " + "a" * 32 + "\n")
    dup = (package / "Runtime" / "Core" / "LSDClient.cs.meta").read_text()
    (package / "Runtime" / "Core" / "Utf8.cs.meta").write_text(dup)
    (package / "Editor.meta").write_text("fileFormatVersion: 2\nguid: nothex\n")
    found = unity_meta.problems(package)
    assert any(p.startswith("Runtime/Unity/LSDStreamEngine.cs: no .meta") for p in found), found
    assert any(p.startswith("Runtime/Gone.cs.meta: orphaned") for p in found), found
    assert any("Utf8.cs.meta: guid" in p and "LSDClient.cs.meta" in p for p in found), found
    assert any(p.startswith("Editor.meta: no 32-hex-digit guid") for p in found), found
    assert len(found) == 4, found


def test_script_guids_are_pinned() -> None:
    """Scenes reference components by their script's GUID: these must never change."""
    pinned = {
        "Runtime/Unity/LSDStreamRenderer.cs": "813faba4a7b67105ba84554d489b550b",
        "Runtime/Unity/LSDStreamEngine.cs": "60ecb7df0916608eb0f4ee5d9a4d9542",
        "Runtime/Core/LSDBridge.Core.asmdef": "bb80fa93ee4567c95f6150e2b36bb871",
    }
    for rel, guid in pinned.items():
        assert unity_meta.read_guid(PACKAGE / (rel + ".meta")) == guid


def test_native_plugin_meta_enables_only_its_platform() -> None:
    meta = (PACKAGE / "Plugins/Linux/x86_64/liblsd_bridge.so.meta").read_text()
    assert "PluginImporter:" in meta
    assert "Standalone: Linux64\n    second:\n      enabled: 1\n      settings:\n        CPU: x86_64" in meta
    for other in ("Win", "Win64", "OSXUniversal"):
        assert f"Standalone: {other}\n    second:\n      enabled: 0" in meta
    assert "Editor: Editor\n    second:\n      enabled: 1\n      settings:\n        CPU: x86_64" in meta
    assert "OS: Linux" in meta
    assert "isPreloaded: 1" in meta  # UnityPluginLoad runs before the first frame (render-thread glue)


# ---- the shipped native binary ----------------------------------------------------------------


def _shipped() -> ModuleType:
    return _load("shipped_binaries", ROOT / "scripts" / "shipped_binaries.py")


def test_shipped_linux_binary_is_current_and_self_contained() -> None:
    shipped = _shipped()
    assert shipped.problems() == []
    manifest = json.loads(shipped.MANIFEST.read_text())
    entry = manifest["unity_package/Plugins/Linux/x86_64/liblsd_bridge.so"]
    assert not any("zmq" in n or "sodium" in n for n in entry["needed"])


@pytest.mark.skipif(shutil.which("readelf") is None, reason="binutils (readelf, objdump, nm) not installed")
def test_shipped_binary_record_matches_the_file() -> None:
    shipped = _shipped()
    path = PACKAGE / "Plugins/Linux/x86_64/liblsd_bridge.so"
    entry = json.loads(shipped.MANIFEST.read_text())["unity_package/Plugins/Linux/x86_64/liblsd_bridge.so"]
    assert shipped.elf_needed(path) == entry["needed"]
    assert shipped.elf_max_version(path, "GLIBC") == entry["max_glibc"]
    exports = shipped.elf_exports(path)
    assert len(exports) == entry["exports"]
    assert all(e.startswith(("lsd_", "Unity")) for e in exports), exports
    assert {
        "lsd_client_create",
        "lsd_client_submit",
        "UnityPluginLoad",
        "lsd_unity_get_render_event_func",
    } <= set(exports)


NEEDS_MINGW_OBJDUMP = pytest.mark.skipif(
    shutil.which("x86_64-w64-mingw32-objdump") is None, reason="mingw-w64 binutils not installed"
)


@NEEDS_MINGW_OBJDUMP
def test_shipped_windows_dll_imports_only_system_dlls_and_exports_the_abi() -> None:
    shipped = _shipped()
    dll = PACKAGE / "Plugins/Windows/x86_64/lsd_bridge.dll"
    manifest = json.loads(shipped.MANIFEST.read_text())
    entry = manifest["unity_package/Plugins/Windows/x86_64/lsd_bridge.dll"]
    assert shipped.pe_imports(dll) == entry["needed"]
    assert {n.lower() for n in entry["needed"]} <= shipped.ALLOWED_DLLS
    exports = shipped.pe_exports(dll)
    linux = shipped.elf_exports(PACKAGE / "Plugins/Linux/x86_64/liblsd_bridge.so")
    assert exports == linux, "the Windows DLL and the Linux library export the same ABI"
    assert "shared_protocol/native/prebuilt/windows-x86_64/lsd_bridge.lib" in manifest
    meta = (PACKAGE / "Plugins/Windows/x86_64/lsd_bridge.dll.meta").read_text()
    assert "Standalone: Win64\n    second:\n      enabled: 1\n      settings:\n        CPU: x86_64" in meta
    assert "Standalone: Linux64\n    second:\n      enabled: 0" in meta
    assert "OS: Windows" in meta


def test_shipped_binary_check_notices_changed_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = _shipped()
    fake_src = tmp_path / "src"
    fake_src.mkdir()
    (fake_src / "a.cpp").write_text("int a;\n")
    monkeypatch.setattr(shipped, "SOURCES", [fake_src])
    monkeypatch.setattr(shipped, "ROOT", tmp_path)
    binary = tmp_path / "lib.so"
    binary.write_bytes(b"\x7fELF...")
    manifest = tmp_path / "shipped.json"
    monkeypatch.setattr(shipped, "MANIFEST", manifest)
    manifest.write_text(
        json.dumps(
            {
                "lib.so": {
                    "sha256": shipped.file_sha256(binary),
                    "sources_sha256": shipped.source_hash(),
                    "libzmq": "x",
                    "needed": ["libc.so.6"],
                    "max_glibc": "2.34",
                    "max_glibcxx": "3.4.30",
                    "exports": 1,
                }
            }
        )
    )
    assert shipped.problems() == []
    (fake_src / "a.cpp").write_text("int a = 1;\n")
    assert shipped.problems() == [
        "lib.so: built from older native sources; rebuild it with scripts/build_plugin_binaries.sh"
    ]


# ---- Unity API traps ---------------------------------------------------------------------------


def _code(path: Path) -> list[tuple[int, str]]:
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        code = re.sub(r'"(?:\\.|[^"\\])*"', '""', line.split("//")[0])
        out.append((i, code))
    return out


def test_unity_layer_never_null_coalesces() -> None:
    """UnityEngine.Object overloads == for destroyed objects ("fake null"); ?? ?. and `is null` do
    not see it (GetComponent<Camera>() ?? Camera.main never falls back in the Editor)."""
    found = [
        f"{p.relative_to(PACKAGE)}:{i}: {code.strip()}"
        for p in UNITY_LAYER
        for i, code in _code(p)
        # `text ?? ""` (a string, never a Unity object) is the one use allowed
        if re.search(r"\?\?(?!\s*\"\")|\?\.|\bis\s+null\b|\bis\s+not\s+null\b", code)
    ]
    assert found == []


def test_unity_layer_does_not_use_the_legacy_input_class() -> None:
    """UnityEngine.Input throws when a project uses only the Input System package."""
    found = [
        f"{p.relative_to(PACKAGE)}:{i}"
        for p in UNITY_LAYER
        for i, code in _code(p)
        if re.search(r"\bInput\s*\.", code)
    ]
    assert found == []


def test_no_object_outlives_play_mode_by_its_hide_flags() -> None:
    """HideFlags.HideAndDontSave (or DontSave / DontUnloadUnusedAsset) keeps an object alive
    after Play Mode ends: the driver and its sessions and shared memory leaked in the Editor."""
    found = [
        f"{p.relative_to(PACKAGE)}:{i}: {code.strip()}"
        for p in UNITY_LAYER
        for i, code in _code(p)
        if re.search(r"HideFlags\s*\.\s*(HideAndDontSave|DontSave\w*|DontUnloadUnusedAsset)\b", code)
    ]
    assert found == []
