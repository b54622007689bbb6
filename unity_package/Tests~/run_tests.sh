#!/usr/bin/env bash
# Compiles the pure-C# layer of the Unity package (Runtime/Core, no UnityEngine) with mcs,
# compiles every assembly of the package against reference stubs of the Unity API
# (compile_unity_layer.py), builds the test suite, and runs it on mono against the real native library and real
# `lsd-runtime serve` processes. Also compiles the Unity native-plugin glue
# (shared_protocol/native/unity) with -Wall -Wextra -Werror to prove it builds.
#
#   LSD_NATIVE_BUILD_DIR  folder holding liblsd_bridge.so (CI passes its build); unset: this
#                         script builds the native library into $WORK/native itself
#   LSD_UNITY_TEST_WORK   scratch folder (default: ${TMPDIR:-/tmp}/lsd-unity-tests)
#   LSD_RUNTIME_CMD       how to start the runtime (default: python3 -m lsd_runtime)
#   first argument        optional test-name filter (substring)
#
# Needs: mono-mcs, mono-runtime (apt), a C/C++ toolchain + cmake for the native build,
# the Python runtime importable. Ends with the line "N passed, M failed"; exit code != 0
# on any failure.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG="$(cd "$HERE/.." && pwd)"
ROOT="$(cd "$PKG/.." && pwd)"
NATIVE_SRC="$ROOT/shared_protocol/native"
WORK="${LSD_UNITY_TEST_WORK:-${TMPDIR:-/tmp}/lsd-unity-tests}"
mkdir -p "$WORK"
start=$(date +%s)

for tool in mcs mono cc c++; do
    command -v "$tool" >/dev/null || { echo "run_tests.sh: '$tool' not found (apt-get install mono-mcs mono-runtime build-essential)"; exit 2; }
done

# --- native library -----------------------------------------------------------------------
if [ -z "${LSD_NATIVE_BUILD_DIR:-}" ]; then
    LSD_NATIVE_BUILD_DIR="$WORK/native"
    echo "=== native library: building into $LSD_NATIVE_BUILD_DIR"
    gen=()
    if command -v ninja >/dev/null && [ ! -f "$LSD_NATIVE_BUILD_DIR/CMakeCache.txt" ]; then gen=(-G Ninja); fi
    cmake -S "$NATIVE_SRC" -B "$LSD_NATIVE_BUILD_DIR" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
          -DLSD_BUILD_TESTS=OFF -DLSD_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build "$LSD_NATIVE_BUILD_DIR" -j "${JOBS:-2}" --target lsd_bridge
fi
LIB=""
for cand in liblsd_bridge.so liblsd_bridge.dylib lsd_bridge.dll; do
    if [ -e "$LSD_NATIVE_BUILD_DIR/$cand" ]; then LIB="$LSD_NATIVE_BUILD_DIR/$cand"; fi
done
[ -n "$LIB" ] || { echo "run_tests.sh: no liblsd_bridge in $LSD_NATIVE_BUILD_DIR"; exit 2; }
echo "=== native library: $LIB"

# --- Unity glue: compiles warning-free -------------------------------------------------------
echo "=== unity glue: c++17 -Wall -Wextra -Werror"
for src in "$NATIVE_SRC"/unity/*.cpp; do
    c++ -std=c++17 -Wall -Wextra -Werror -fPIC -fvisibility=hidden -DLSD_BUILDING_LIBRARY \
        -I "$NATIVE_SRC/include" -I "$NATIVE_SRC/unity" -c "$src" -o "$WORK/$(basename "$src").o"
done

# --- C layout probe ---------------------------------------------------------------------------
cc -std=c11 -Wall -Wextra -Werror -I "$NATIVE_SRC/include" -I "$NATIVE_SRC/unity" "$HERE/abi_layout.c" -o "$WORK/abi_layout"
export LSD_ABI_LAYOUT_BIN="$WORK/abi_layout"

# --- C#: the package's pure layer (as Unity compiles it: C# 7.3 subset that mcs knows, 7.2) ---
echo "=== mcs: Runtime/Core -> LSDBridge.Core.dll"
mcs -langversion:7.2 -target:library -warnaserror+ -nowarn:1591 -debug \
    -out:"$WORK/LSDBridge.Core.dll" "$PKG"/Runtime/Core/*.cs
echo "=== mcs: Tests~ -> LSDBridge.Core.Tests.exe"
mcs -langversion:7.2 -target:exe -debug -r:"$WORK/LSDBridge.Core.dll" -r:System.dll \
    -out:"$WORK/LSDBridge.Core.Tests.exe" "$HERE"/*.cs

# --- the Unity layer (Runtime/Unity, Editor, Samples~), as Unity compiles it, against the stubs ---
echo "=== mcs: every asmdef assembly against UnityStubs/ (editor and player builds)"
python3 "$HERE/compile_unity_layer.py" --work "$WORK/unity-layer"

# --- run ----------------------------------------------------------------------------------------
echo "=== built in $(( $(date +%s) - start )) s"
echo "=== mono: tests (runtime: ${LSD_RUNTIME_CMD:-python3 -m lsd_runtime})"
export LD_LIBRARY_PATH="$LSD_NATIVE_BUILD_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DYLD_LIBRARY_PATH="$LSD_NATIVE_BUILD_DIR${DYLD_LIBRARY_PATH:+:$DYLD_LIBRARY_PATH}"
export LSD_DISABLE_CUDA="${LSD_DISABLE_CUDA:-}"
export LSD_VECTORS_DIR="$ROOT/shared_protocol/vectors"  # GoldenVectorTests
set +e
(cd "$WORK" && mono --debug LSDBridge.Core.Tests.exe "$@")
rc=$?
exit $rc
