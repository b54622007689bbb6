#!/usr/bin/env bash
# One command from a fresh clone to every test: system packages, Python packages, lint,
# the native client's ctest suites (normal and sanitizer builds), the Python suite in its
# three tiers (unit, integration, soak), the Unity package compiled against the Unity stubs and
# its C# tests on mono (against this build and against the binary the package ships), and the
# native library cross-built for Windows with its tests run under Wine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
APT_PACKAGES=(cmake g++ pkg-config libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libgtest-dev nlohmann-json3-dev liblz4-dev
              mono-mcs mono-runtime clang-format binutils git chromium
              libegl-dev libgl-dev libegl-mesa0 libgl1-mesa-dri libvulkan-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
LSD_EXTRAS="${LSD_EXTRAS:-dev,diffusion,lora,onnx,sdk,cuda,web}" bash "$ROOT/scripts/setup.sh"
PY="${PYTHON:-python3}"
# the remote CURVE tests need a private network namespace; here they must run, never skip
export LSD_REQUIRE_NETNS="${LSD_REQUIRE_NETNS:-1}"
echo "test: lint and formats (ruff check, ruff format --check, clang-format, mypy)"
"$PY" -m ruff check .
bash scripts/check_format.sh
"$PY" -m mypy
echo "test: the contract (generated files fresh, no limit typed outside it)"
"$PY" shared_protocol/schema/generate.py --check
"$PY" scripts/check_contract_literals.py
# the native library first: the Unreal plugin's live test and the Unity tests link it
echo "test: native client (ctest)"
shared_protocol/native/run_tests.sh
echo "test: native client for Windows x64 (mingw-w64 -Werror; tests under Wine, against a Linux runtime over inline)"
bash scripts/build_windows.sh
# tiers: unit (in-process, fast), integration (real runtime processes), soak (long runs);
# each tier its own step so a slow test shows up where it belongs
PYTEST=("$PY" -m pytest -q -p no:cacheprovider)
echo "test: pytest unit tier"
"${PYTEST[@]}" tests/unit --durations=5 "$@"
echo "test: pytest integration tier"
"${PYTEST[@]}" tests/integration --durations=15 "$@"
echo "test: pytest soak tier"
"${PYTEST[@]}" tests/soak -m soak --durations=0 "$@"
echo "test: Unity package: every assembly against the Unity stubs, the C# layer on mono (this build of the native library)"
LSD_NATIVE_BUILD_DIR="$ROOT/shared_protocol/native/build" bash "unity_package/Tests~/run_tests.sh"
echo "test: Unity package: the C# layer on mono against the binary the package ships (Plugins/Linux/x86_64)"
"$PY" scripts/shipped_binaries.py check
LSD_NATIVE_BUILD_DIR="$ROOT/unity_package/Plugins/Linux/x86_64" LSD_UNITY_TEST_WORK="${TMPDIR:-/tmp}/lsd-unity-tests-shipped" \
  bash "unity_package/Tests~/run_tests.sh"
