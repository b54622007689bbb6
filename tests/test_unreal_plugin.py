"""Checks of the Unreal plugin that need no engine: descriptor, module layout, Build.cs, the
Blueprint API in the headers, the plugin's native calls against lsd_client.h, and the plain C++
test of the plugin's UE-independent code (compiled with g++, run against a real runtime when the
native library is built)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "unreal_plugin" / "LSDBridge"
SOURCE = PLUGIN / "Source"
MODULE = SOURCE / "LSDBridge"
NATIVE_HEADER = ROOT / "shared_protocol" / "native" / "include" / "lsd_bridge" / "lsd_client.h"
NATIVE_BUILD = ROOT / "shared_protocol" / "native" / "build"
LOGIC_TEST = ROOT / "unreal_plugin" / "Tests" / "plugin_logic_test.cpp"

LOADING_PHASES = {"PostConfigInit", "PreDefault", "Default", "PostDefault", "PostEngineInit"}
NEEDS_GXX = pytest.mark.skipif(
    shutil.which("g++") is None, reason="g++ is not installed: the plain C++ test cannot be built"
)

BLUEPRINT_NODES = {
    "Start LSD Stream": "StartLSDStream",
    "Stop LSD Stream": "StopLSDStream",
    "Bind Render Target": "BindRenderTarget",
    "Set Prompt": "SetPrompt",
    "Set Strength": "SetStrength",
    "Get LSD Stats": "GetLSDStats",
}


def _plugin_sources() -> dict[Path, str]:
    files = [*MODULE.rglob("*.h"), *MODULE.rglob("*.cpp")]
    return {p: p.read_text(encoding="utf-8") for p in files}


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _descriptor() -> dict:
    return json.loads((PLUGIN / "LSDBridge.uplugin").read_text(encoding="utf-8"))


def test_uplugin_has_required_fields() -> None:
    d = _descriptor()
    assert d["FileVersion"] == 3
    assert isinstance(d["Version"], int) and d["Version"] >= 1
    for key in ("VersionName", "FriendlyName", "Description", "Category", "CreatedBy"):
        assert isinstance(d[key], str) and d[key], key
    assert isinstance(d["CanContainContent"], bool)
    assert isinstance(d["IsBetaVersion"], bool)
    assert "5.3" in d["Description"], "supported engine versions are noted"
    runtime = [m for m in d["Modules"] if m["Type"] == "Runtime"]
    assert runtime, "a Runtime module"
    for m in d["Modules"]:
        assert m["LoadingPhase"] in LOADING_PHASES
        assert set(m["PlatformAllowList"]) == {"Win64", "Linux"}


def test_modules_match_source_folders() -> None:
    for m in _descriptor()["Modules"]:
        folder = SOURCE / m["Name"]
        assert (folder / f"{m['Name']}.Build.cs").is_file()
        assert (folder / "Public").is_dir() and (folder / "Private").is_dir()
        build = (folder / f"{m['Name']}.Build.cs").read_text(encoding="utf-8")
        assert re.search(rf"class\s+{m['Name']}\s*:\s*ModuleRules", build)
        # IMPLEMENT_MODULE names the same module
        impl = "".join(_plugin_sources().values())
        assert re.search(rf"IMPLEMENT_MODULE\(\s*\w+\s*,\s*{m['Name']}\s*\)", impl)


def test_build_cs_links_native_library() -> None:
    build = (MODULE / "LSDBridge.Build.cs").read_text(encoding="utf-8")
    for dep in ("Core", "CoreUObject", "Engine", "RenderCore", "RHI", "Projects"):
        assert f'"{dep}"' in build, dep
    rules = ("PublicIncludePaths", "PublicAdditionalLibraries", "RuntimeDependencies", "PublicDelayLoadDLLs")
    for rule in rules:
        assert rule in build, rule
    for name in ("lsd_bridge.lib", "lsd_bridge.dll", "liblsd_bridge.so"):
        assert name in build, name
    assert '"ThirdParty", "LSDNative"' in build
    assert "LSD_WITH_CUDA_INTEROP=0" in build
    # the module loads the DLL from the folder RuntimeDependencies stages it into
    module_cpp = (MODULE / "Private" / "LSDBridgeModule.cpp").read_text(encoding="utf-8")
    assert "GetDllHandle" in module_cpp and "FreeDllHandle" in module_cpp
    assert 'TEXT("Binaries"), TEXT("ThirdParty"), TEXT("LSDNative")' in module_cpp
    assert '"Binaries", "ThirdParty", "LSDNative"' in build


def test_blueprint_nodes_exist() -> None:
    header = _strip_comments((MODULE / "Public" / "LSDBlueprintLibrary.h").read_text(encoding="utf-8"))
    assert re.search(
        r"class\s+LSDBRIDGE_API\s+ULSDBlueprintLibrary\s*:\s*public\s+UBlueprintFunctionLibrary", header
    )
    cpp = (MODULE / "Private" / "LSDBlueprintLibrary.cpp").read_text(encoding="utf-8")
    for display, func in BLUEPRINT_NODES.items():
        pattern = (
            r"UFUNCTION\(\s*BlueprintCallable[^\n]*DisplayName\s*=\s*\""
            + re.escape(display)
            + r"\"[^\n]*\)\s*static\s+[\w:<>]+\s+"
            + func
            + r"\s*\("
        )
        assert re.search(pattern, header), f"{display} -> {func}"
        assert f"ULSDBlueprintLibrary::{func}(" in cpp


def test_component_declares_the_issue_surface() -> None:
    header = _strip_comments((MODULE / "Public" / "LSDStreamComponent.h").read_text(encoding="utf-8"))
    uclass = r"UCLASS\(\s*ClassGroup\s*=\s*\(Rendering\)\s*,\s*meta\s*=\s*\(BlueprintSpawnableComponent"
    assert re.search(uclass, header)
    assert re.search(r"class\s+LSDBRIDGE_API\s+ULSDStreamComponent\s*:\s*public\s+UActorComponent", header)
    for prop in ("SourceCapture", "OutputTarget", "Prompt", "Strength", "Seed", "Model", "Transport"):
        pattern = rf"UPROPERTY\([^\n]*Category[^\n]*ToolTip[^\n]*\)\s*[\w<> ]+\s+{prop}\b"
        assert re.search(pattern, header), prop
    for event, macro in (
        ("OnConnected", "DYNAMIC_MULTICAST_DELEGATE"),
        ("OnDisconnected", "DYNAMIC_MULTICAST_DELEGATE_OneParam"),
        ("OnStats", "DYNAMIC_MULTICAST_DELEGATE_OneParam"),
    ):
        assert re.search(rf"UPROPERTY\(BlueprintAssignable[^\n]*\)\s*\w+\s+{event};", header), event
        assert f"DECLARE_{macro}" in header
    cpp = (MODULE / "Private" / "LSDStreamComponent.cpp").read_text(encoding="utf-8")
    assert "ENQUEUE_RENDER_COMMAND" in cpp


def _header_functions() -> set[str]:
    return set(re.findall(r"\b(lsd_\w+)\s*\(", _strip_comments(NATIVE_HEADER.read_text(encoding="utf-8"))))


def test_native_calls_exist_in_header() -> None:
    declared = _header_functions()
    called: dict[str, set[Path]] = {}
    for path, text in _plugin_sources().items():
        for name in re.findall(r"\b(lsd_\w+)\s*\(", _strip_comments(text)):
            called.setdefault(name, set()).add(path)
    assert called, "the plugin calls the native client"
    missing = sorted(set(called) - declared)
    assert not missing, f"not in lsd_client.h: {missing}"
    # every call goes through LSDNativeSession.h, which the g++ test compiles against the header
    callers = {p.name for paths in called.values() for p in paths}
    assert callers == {"LSDNativeSession.h"}, callers


def test_no_game_thread_waits_on_native_client() -> None:
    session = _strip_comments((MODULE / "Private" / "LSDNativeSession.h").read_text(encoding="utf-8"))
    for fn in ("lsd_client_connect", "lsd_client_bind", "lsd_client_set_style", "lsd_client_take"):
        for call in re.findall(rf"{fn}\(([^;]*)\);", session):
            assert call.rstrip().endswith(", 0)") or call.rstrip().endswith(", 0"), f"{fn}({call})"


def _compile(extra: list[str], out: Path) -> None:
    gxx = shutil.which("g++")
    cmd = [
        gxx,
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-I",
        str(MODULE / "Private"),
        "-I",
        str(NATIVE_HEADER.parents[1]),
        str(LOGIC_TEST),
        "-o",
        str(out),
        *extra,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


@NEEDS_GXX
def test_logic_compiles_and_passes(tmp_path: Path) -> None:
    exe = tmp_path / "plugin_logic_test"
    _compile([], exe)
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all ok" in result.stdout


@NEEDS_GXX
@pytest.mark.skipif(
    not (NATIVE_BUILD / "liblsd_bridge.so").exists(),
    reason="native client not built (shared_protocol/native/build/liblsd_bridge.so)",
)
def test_native_session_streams_through_real_runtime(tmp_path: Path) -> None:
    from lsd_runtime.testing import RuntimeProcess

    exe = tmp_path / "plugin_logic_test_linked"
    link = ["-DLSD_TEST_LINK_NATIVE", f"-L{NATIVE_BUILD}", "-llsd_bridge", f"-Wl,-rpath,{NATIVE_BUILD}"]
    _compile(link, exe)
    with RuntimeProcess() as rt:
        env = {**os.environ, "LSD_TEST_STATE_DIR": str(rt.state_dir)}
        result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stdout + result.stderr + rt.log()
    assert "ok live session" in result.stdout
