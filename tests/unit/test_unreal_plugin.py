"""Checks of the Unreal plugin that need no engine: descriptor, module layout, Build.cs, the
Blueprint API in the headers, the plugin's native calls against lsd_client.h, and the plain C++
test of the plugin's UE-independent code (compiled with g++; the run against a real runtime is
in tests/integration/test_unreal_runtime.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lsd_runtime import protocol

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "unreal_plugin" / "LSDBridge"
SOURCE = PLUGIN / "Source"
MODULE = SOURCE / "LSDBridge"
NATIVE_HEADER = ROOT / "shared_protocol" / "native" / "include" / "lsd_bridge" / "lsd_client.h"
CONTRACT_HEADER = NATIVE_HEADER.with_name("lsd_protocol.h")

from support.unreal import compile_logic_test  # noqa: E402

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


def _header_functions(header: Path) -> set[str]:
    return set(re.findall(r"\b(lsd_\w+)\s*\(", _strip_comments(header.read_text(encoding="utf-8"))))


def test_native_calls_exist_in_header() -> None:
    declared = _header_functions(NATIVE_HEADER)
    contract = _header_functions(CONTRACT_HEADER)  # header-only helpers (lsd_proto_*), no library call
    called: dict[str, set[Path]] = {}
    for path, text in _plugin_sources().items():
        for name in re.findall(r"\b(lsd_\w+)\s*\(", _strip_comments(text)):
            called.setdefault(name, set()).add(path)
    library = {n: paths for n, paths in called.items() if not n.startswith("lsd_proto_")}
    assert library, "the plugin calls the native client"
    missing = sorted(set(library) - declared) + sorted(set(called) - set(library) - contract)
    assert not missing, f"not in lsd_client.h / lsd_protocol.h: {missing}"
    # every library call goes through LSDNativeSession.h, which the g++ test compiles against the header
    callers = {p.name for paths in library.values() for p in paths}
    assert callers == {"LSDNativeSession.h"}, callers


def test_no_game_thread_waits_on_native_client() -> None:
    session = _strip_comments((MODULE / "Private" / "LSDNativeSession.h").read_text(encoding="utf-8"))
    for fn in ("lsd_client_connect", "lsd_client_bind", "lsd_client_set_style", "lsd_client_take"):
        for call in re.findall(rf"{fn}\(([^;]*)\);", session):
            assert call.rstrip().endswith(", 0)") or call.rstrip().endswith(", 0"), f"{fn}({call})"


@pytest.fixture(scope="module")
def logic_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed: the plain C++ test cannot be built")
    exe = tmp_path_factory.mktemp("unreal") / "plugin_logic_test"
    compile_logic_test([], exe)
    return exe


def test_logic_compiles_and_passes(logic_test: Path) -> None:
    result = subprocess.run([str(logic_test)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all ok" in result.stdout


def test_unreal_frame_size_equals_python_on_every_golden_bind(logic_test: Path) -> None:
    """LSDBridgeLogic::FrameBytes (the plugin's buffer size) against the Python contract's
    frame_bytes, for both rings of every golden bind vector, with and without their pitch."""
    abi = {"rgba8": 0, "bgra8": 1, "rgba16f": 2}
    rings = []
    for path in sorted((ROOT / "shared_protocol" / "vectors").glob("*.json")):
        message = json.loads(path.read_text())["message"]
        if message["t"] == "bind":
            rings += [message["input"], message["output"]]
    cases = [(r["width"], r["height"], r["format"], p) for r in rings for p in {0, r.get("pitch", 0)}]
    stdin = "".join(f"{w} {h} {abi[f]} {p}\n" for w, h, f, p in cases)
    result = subprocess.run(
        [str(logic_test), "--frame-bytes"], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    unreal = [int(x) for x in result.stdout.split()]
    python = [protocol.frame_bytes(w, h, f, p) for w, h, f, p in cases]
    assert len(cases) >= 6 and unreal == python


def test_logic_compiles_as_cpp20_too(tmp_path: Path) -> None:
    """From UE 5.3 on the engine compiles modules as C++20 (the Build.cs sets no standard)."""
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed: the plain C++ test cannot be built")
    exe = tmp_path / "plugin_logic_test20"
    compile_logic_test([], exe, std="c++20")
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "all ok" in result.stdout, result.stdout + result.stderr


def test_build_cs_sets_no_cpp_standard() -> None:
    """CppStandardVersion.Cpp17 is refused from UE 5.5 on; the engine default works on 5.3+."""
    build = _strip_comments((MODULE / "LSDBridge.Build.cs").read_text(encoding="utf-8"))
    assert "CppStandard" not in build


# ---- version-dependent engine APIs -----------------------------------------------------------

GUARD = "LSD_BACKBUFFER_DELEGATE_HAS_VIEWPORT_PROVIDER"
# (what, regex, condition that must be active where it is used; None: never used)
VERSION_DEPENDENT = [
    ("5.8+ back-buffer delegate parameter", r"\bISlateViewportProvider\s*&", GUARD),
    ("5.8+ back buffer accessor", r"\bGetBackBufferResource\s*\(", GUARD),
    ("5.8+ header", r'#include\s+"Slate/SlateViewportProvider\.h"', GUARD),
    ("5.3-5.7 back-buffer delegate parameter", r"const\s+FTextureRHIRef\s*&\s*BackBuffer", "!" + GUARD),
    ("FTexture2DRHIRef (deprecated alias)", r"\bFTexture2DRHIRef\b", None),
    ("SWidget::GetCachedGeometry (deprecated)", r"\bGetCachedGeometry\s*\(", None),
    ("Windows DLL search path", r"\b(Push|Pop)DllDirectory\s*\(", "PLATFORM_WINDOWS"),
]


def active_conditions(text: str) -> list[list[str]]:
    """For each line of `text`, the preprocessor conditions in force (`X` in an #if X branch,
    `!X` in its #else); #ifdef/#ifndef/#elif count the same way."""
    stack: list[list[str]] = []
    out: list[list[str]] = []
    for line in text.splitlines():
        directive = re.match(r"\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b\s*(.*)", line)
        if directive:
            kind, cond = directive.group(1), directive.group(2).split("//")[0].strip()
            cond = re.sub(r"^\((.*)\)$", r"\1", cond)
            if kind in ("if", "ifdef"):
                stack.append([cond])
            elif kind == "ifndef":
                stack.append(["!" + cond])
            elif kind == "elif" and stack:
                stack[-1] = ["!" + c for c in stack[-1] if not c.startswith("!")] + [cond]
            elif kind == "else" and stack:
                stack[-1] = ["!" + c if not c.startswith("!") else c[1:] for c in stack[-1][-1:]]
            elif kind == "endif" and stack:
                stack.pop()
        out.append([c for frame in stack for c in frame])
    return out


def version_guard_problems(sources: dict[Path, str]) -> list[str]:
    problems = []
    for path, text in sources.items():
        code = _strip_comments(text) if path.suffix != ".cs" else text
        lines = code.splitlines()
        conds = active_conditions(code)
        for what, pattern, needed in VERSION_DEPENDENT:
            for i, line in enumerate(lines):
                if not re.search(pattern, line):
                    continue
                where = f"{path.name}:{i + 1}"
                if needed is None:
                    problems.append(f"{where}: uses {what}")
                elif needed not in conds[i]:
                    problems.append(f"{where}: {what} outside #if {needed}")
        tests_guard = re.search(rf"\b{GUARD}\b", code) and path.name != "LSDEngineVersion.h"
        if tests_guard and "LSDEngineVersion.h" not in code:
            included = re.findall(r'#include\s+"(\w+\.h)"', code)
            if not any("LSDEngineVersion.h" in sources.get(path.with_name(h), "") for h in included):
                problems.append(
                    f"{path.name}: tests {GUARD} without including LSDEngineVersion.h (it would be 0)"
                )
    return problems


def test_version_dependent_engine_apis_are_guarded() -> None:
    sources = _plugin_sources()
    assert version_guard_problems(sources) == []
    # the guard is derived from the engine version, in one place
    version_h = (MODULE / "Private" / "LSDEngineVersion.h").read_text(encoding="utf-8")
    assert '#include "Misc/EngineVersionComparison.h"' in version_h
    assert re.search(rf"#define\s+{GUARD}\s+\(!UE_VERSION_OLDER_THAN\(5,\s*8,\s*0\)\)", version_h)
    # both delegate signatures are implemented
    tap = _strip_comments((MODULE / "Private" / "LSDViewportTap.cpp").read_text(encoding="utf-8"))
    assert re.search(r"OnBackBufferReady\(SWindow& Window, ISlateViewportProvider& ViewportProvider\)", tap)
    assert re.search(r"OnBackBufferReady\(SWindow& Window, const FTextureRHIRef& BackBuffer\)", tap)


def test_version_guard_check_can_fail() -> None:
    unguarded = {
        MODULE / "Private" / "Fake.cpp": (
            '#include "LSDEngineVersion.h"\n'
            "void F(SWindow& W, ISlateViewportProvider& P) { P.GetBackBufferResource(); }\n"
            f"#if {GUARD}\nvoid G(const FTextureRHIRef& BackBuffer);\n#endif\n"
            'FTexture2DRHIRef T;\nvoid H() { FPlatformProcess::PushDllDirectory(TEXT("x")); }\n'
        ),
        MODULE / "Private" / "NoInclude.cpp": f"#if {GUARD}\nint X;\n#endif\n",
    }
    problems = version_guard_problems(unguarded)
    assert "Fake.cpp:2: 5.8+ back-buffer delegate parameter outside #if " + GUARD in problems
    assert "Fake.cpp:2: 5.8+ back buffer accessor outside #if " + GUARD in problems
    assert "Fake.cpp:4: 5.3-5.7 back-buffer delegate parameter outside #if !" + GUARD in problems
    assert "Fake.cpp:6: uses FTexture2DRHIRef (deprecated alias)" in problems
    assert "Fake.cpp:7: Windows DLL search path outside #if PLATFORM_WINDOWS" in problems
    assert any(p.startswith("NoInclude.cpp: tests") for p in problems)
    assert len(problems) == 6, problems
    # #else flips the branch
    conds = active_conditions(f"#if {GUARD}\na\n#else\nb\n#endif\nc\n")
    assert conds == [[GUARD], [GUARD], ["!" + GUARD], ["!" + GUARD], [], []]


def test_back_buffer_delegate_is_changed_on_the_render_thread_only() -> None:
    """Before 5.8 the delegate is not thread-safe and Slate broadcasts it on the render thread:
    every Add/Remove runs inside a render command, and Unregister waits for its removal."""
    tap = _strip_comments((MODULE / "Private" / "LSDViewportTap.cpp").read_text(encoding="utf-8"))
    uses = [m.start() for m in re.finditer(r"OnBackBufferReadyToPresent\(\)\s*\.\s*(Add\w*|Remove)\(", tap)]
    assert len(uses) == 2
    for pos in uses:
        before = tap[:pos]
        command = before.rfind("ENQUEUE_RENDER_COMMAND")
        assert command >= 0 and "\n}" not in before[command:], "delegate changed outside a render command"
    unregister = tap[tap.index("void FLSDViewportTap::Unregister()") :]
    unregister = unregister[: unregister.index("\n}\n")]
    assert "Fence.Wait()" in unregister


def test_source_capture_is_a_component_reference_resolved_at_start() -> None:
    header = _strip_comments((MODULE / "Public" / "LSDStreamComponent.h").read_text(encoding="utf-8"))
    picker = r"UPROPERTY\([^\n]*UseComponentPicker[^\n]*\)\s*FComponentReference\s+SourceCapture;"
    assert re.search(picker, header)
    assert "TObjectPtr<USceneCaptureComponent2D>" not in header
    cpp = _strip_comments((MODULE / "Private" / "LSDStreamComponent.cpp").read_text(encoding="utf-8"))
    assert "SourceCapture.GetComponent(Owner)" in cpp and "AActor* Owner = GetOwner();" in cpp
    # nothing picked: the owner's own capture (a SceneCapture2D actor's root is not the capture)
    assert "FindComponentByClass<USceneCaptureComponent2D>()" in cpp
    assert "AllowAnyActor" in header
    # bAutoStart: a source that is not there yet is retried, on a schedule, not failed once
    begin_play = cpp[cpp.index("void ULSDStreamComponent::BeginPlay()") :]
    begin_play = begin_play[: begin_play.index("\n}\n")]
    assert "AutoStart->Retry.Start" in begin_play
    assert "TickAutoStart();" in cpp


def test_rings_are_bound_with_an_explicit_colour() -> None:
    session = _strip_comments((MODULE / "Private" / "LSDNativeSession.h").read_text(encoding="utf-8"))
    assert "Desc.input.color = InColor;" in session and "Desc.output.color = OutColor;" in session
    cpp = _strip_comments((MODULE / "Private" / "LSDStreamComponent.cpp").read_text(encoding="utf-8"))
    assert "LSDBridgeLogic::CaptureColor(" in cpp and "LSDBridgeLogic::OutputColor(" in cpp
    assert "Capture->CaptureSource" in cpp and "IsSRGB()" in cpp


# ---- motion vectors and depth (issue 14) ------------------------------------------------------


def test_component_declares_motion_and_depth() -> None:
    header = _strip_comments((MODULE / "Public" / "LSDStreamComponent.h").read_text(encoding="utf-8"))
    prop = re.search(r"UPROPERTY\(([^\n]*)\)\s*bool\s+bSendMotionAndDepth\s*=\s*false\s*;", header)
    assert prop, "bSendMotionAndDepth, default false"
    for spec in ("EditAnywhere", "BlueprintReadWrite", 'Category = "LSD Bridge"', "ToolTip"):
        assert spec in prop.group(1), spec
    cut = re.search(r"UFUNCTION\(([^\n]*)\)\s*void\s+MarkCameraCut\(\)\s*;", header)
    assert cut and "BlueprintCallable" in cut.group(1) and 'Category = "LSD Bridge"' in cut.group(1)
    cpp = _strip_comments((MODULE / "Private" / "LSDStreamComponent.cpp").read_text(encoding="utf-8"))
    # the setting decides the bind through the tested logic, and the planes reach the bind and pipeline
    assert "LSDBridgeLogic::ChoosePlanes(bSendMotionAndDepth" in cpp
    assert re.search(r"RequestBind\([^;]*Planes\.bPlanes\)", cpp)
    assert re.search(r"MakeShared<FLSDFramePipeline, ESPMode::ThreadSafe>\([^;]*Planes\.bPlanes\)", cpp)
    assert "FSceneViewExtensions::NewExtension<FLSDPlaneTap>(" in cpp
    assert "RenderThread_MarkCameraCut(Frame)" in cpp and "GFrameCounter" in cpp
    assert "LSDBridgeLogic::ImageFrameOf(" in cpp
    session = _strip_comments((MODULE / "Private" / "LSDNativeSession.h").read_text(encoding="utf-8"))
    assert "LSDBridgeLogic::DeclarePlanes(Desc, bPlanes);" in session
    assert "LSDBridgeLogic::MakeFrameIn(" in session


def test_plane_capture_uses_public_renderer_api_only() -> None:
    """The tap is a scene view extension on the source capture's render target; the pipeline reads
    the scene textures through public Renderer headers (no Renderer/Private include path)."""
    tap_h = _strip_comments((MODULE / "Private" / "LSDPlaneTap.h").read_text(encoding="utf-8"))
    assert re.search(r"class\s+FLSDPlaneTap\s*:\s*public\s+FSceneViewExtensionBase", tap_h)
    assert "PostRenderView_RenderThread(FRDGBuilder& GraphBuilder, FSceneView& InView) override" in tap_h
    tap = _strip_comments((MODULE / "Private" / "LSDPlaneTap.cpp").read_text(encoding="utf-8"))
    assert "InView.Family->RenderTarget != Target" in tap and "InView.bIsSceneCapture" in tap
    pipeline = _strip_comments((MODULE / "Private" / "LSDFramePipeline.cpp").read_text(encoding="utf-8"))
    for call in (
        "CreateSceneTextureUniformBuffer(",
        "AddDrawTexturePass(",
        "AddEnqueueCopyPass(",
        "LSDBridgeLogic::ConvertPlaneRows(",
        "LSDBridgeLogic::DecidePlanes(",
        "PlaneSlots.Claim()",
        "PlaneSlots.Record()",
        "CameraHistory.Advance(",
        "GetProjectionNoAAMatrix()",
    ):
        assert call in pipeline, call
    build = (MODULE / "LSDBridge.Build.cs").read_text(encoding="utf-8")
    assert '"Renderer"' in build
    assert "Renderer/Private" not in build and 'Renderer", "Private' not in build
    for path, text in _plugin_sources().items():
        assert "PostProcess/PostProcessing.h" not in text and "PostProcessInputs.h" not in text, path.name


def test_velocity_decode_lives_in_one_tested_function() -> None:
    """The engine's velocity encoding constants appear in LSDBridgeLogic.h only (DecodeVelocity)."""
    for path, text in _plugin_sources().items():
        code = _strip_comments(text)
        if re.search(r"0\.499|32767\.0\s*/\s*65535", code):
            assert path.name == "LSDBridgeLogic.h", path.name
    logic = _strip_comments((MODULE / "Private" / "LSDBridgeLogic.h").read_text(encoding="utf-8"))
    assert len(re.findall(r"0\.499", logic)) == 1
    test = (ROOT / "unreal_plugin" / "Tests" / "plugin_logic_test.cpp").read_text(encoding="utf-8")
    for case in (
        "TestVelocityDecode",
        "TestCameraMath",
        "TestHalfFloats",
        "TestPlaneConversion",
        "TestPlanePairing",
        "TestPlaneDeclaration",
        "TestLivePlanes",
    ):
        assert f"{case}()" in test or f"{case}(StateDir)" in test, case
