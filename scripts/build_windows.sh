#!/usr/bin/env bash
# Windows x64: cross-builds the native library, its examples and its tests with mingw-w64
# (warnings as errors), and runs the tests under Wine:
#   codec, offline            in-process (the offline suite's fake runtime uses Windows named
#                             file mappings, like a Windows runtime would)
#   integration, restart      against a real Linux lsd-runtime started by
#                             shared_protocol/native/tests/runtime_launcher.py, over the inline
#                             transport (a Linux runtime's shared memory is out of a Wine
#                             process's reach): 300-frame pixel-exact streams, kill + restart
#
#   scripts/build_windows.sh [--no-tests]      build dir: build/windows-x86_64
#
# Installs what it needs when run as root (mingw-w64, Wine, Ninja, the header-only
# dependencies, googletest's sources). libzmq is cross-built once from Debian's source and
# cached by version (scripts/build_deps.sh, with liblz4); the Wine prefix is cached too
# (${LSD_CACHE_DIR:-$HOME/.cache/lsd-bridge}). Prints each suite's gtest summary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CACHE="${LSD_CACHE_DIR:-$HOME/.cache/lsd-bridge}"
BUILD="$ROOT/build/windows-x86_64"
RUN_TESTS=1
[ "${1:-}" = "--no-tests" ] && RUN_TESTS=0
start=$(date +%s)

APT=(g++-mingw-w64-x86-64-posix gcc-mingw-w64-x86-64-posix mingw-w64-x86-64-dev ninja-build dpkg-dev
     cppzmq-dev libmsgpack-cxx-dev nlohmann-json3-dev googletest)
[ "$RUN_TESTS" = 1 ] && APT+=(wine wine64)
missing=()
for p in "${APT[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "windows: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "windows: libzmq and liblz4 (static, cached)"
deps="$(bash scripts/build_deps.sh windows-x86_64)"
ZMQ="$(sed -n 's/^zmq=//p' <<<"$deps")"
LZ4="$(sed -n 's/^lz4=//p' <<<"$deps")"

# header-only dependencies, seen by the cross compiler without the host's /usr/include
HEADERS="$CACHE/win-x86_64-headers"
mkdir -p "$HEADERS/include"
cp -r /usr/include/msgpack /usr/include/msgpack.hpp /usr/include/zmq.hpp /usr/include/zmq_addon.hpp \
      /usr/include/nlohmann "$HEADERS/include/"
export LSD_WIN_PREFIX="$HEADERS"

echo "windows: configure + build ($BUILD)"
gen=()
[ -f "$BUILD/CMakeCache.txt" ] || gen=(-G Ninja)
cmake -S shared_protocol/native -B "$BUILD" "${gen[@]}" \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/shared_protocol/native/cmake/mingw-w64-x86_64.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DLSD_WERROR=ON -DLSD_ZMQ_ROOT="$ZMQ" -DLSD_LZ4_ROOT="$LZ4" \
    -DLSD_GTEST_SOURCE_DIR=/usr/src/googletest -DLSD_REQUIRE_D3D_GLUE=ON >/dev/null
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}"
echo "windows: built $(cd "$BUILD" && ls lsd_bridge.dll lsd_bridge.lib lsd_scene_host.exe lsd_bench.exe tests/*.exe | tr '\n' ' ')"
echo "windows: lsd_bridge.dll imports: $(x86_64-w64-mingw32-objdump -p "$BUILD/lsd_bridge.dll" | sed -n 's/.*DLL Name: //p' | tr '\n' ' ')"
[ "$RUN_TESTS" = 1 ] || exit 0

export WINEPREFIX="${LSD_WINEPREFIX:-$CACHE/wineprefix}" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "windows: creating the Wine prefix $WINEPREFIX"
    wineboot -i >/dev/null 2>&1
fi

failed=0
run_suite() {  # name, then environment assignments
    local name="$1"; shift
    local log="$BUILD/$name.wine.log"
    echo "windows: $name (wine)"
    if (cd "$BUILD" && env "$@" timeout 900 wine "tests/test_$name.exe" >"$log" 2>&1); then
        grep -E '^\[  (PASSED|SKIPPED) +\]|test suites? ran' "$log" | sed "s/^/  $name: /" || true
    else
        failed=1
        grep -E '^\[  (PASSED|FAILED|SKIPPED) +\]|Failure|test suites? ran' "$log" | sed "s/^/  $name: /" || true
        echo "  $name FAILED; full output: $log"
        tail -40 "$log"
    fi
}

run_suite codec
run_suite offline

PORTFILE="$(mktemp)"
python3 shared_protocol/native/tests/runtime_launcher.py --port-file "$PORTFILE" >"$BUILD/launcher.log" 2>&1 &
LAUNCHER=$!
trap 'kill $LAUNCHER 2>/dev/null || true; rm -f "$PORTFILE"' EXIT
for _ in $(seq 100); do [ -s "$PORTFILE" ] && break; sleep 0.1; done
[ -s "$PORTFILE" ] || { echo "windows: the runtime launcher did not start"; cat "$BUILD/launcher.log"; exit 1; }
remote=(LSD_TEST_LAUNCHER="127.0.0.1:$(cat "$PORTFILE")" LSD_TEST_TRANSPORT=inline)
run_suite integration "${remote[@]}"
run_suite restart "${remote[@]}"

# a runtime on a non-loopback address (a network namespace): CURVE with its key, refused without
echo "windows: remote CURVE (wine, network namespace)"
log="$BUILD/remote_curve.wine.log"
set +e
(cd "$BUILD" && timeout 300 bash "$ROOT/shared_protocol/native/tests/remote_curve.sh" \
    wine tests/test_integration.exe '--gtest_filter=Curve.Remote*' >"$log" 2>&1)
rc=$?
set -e
if [ $rc -eq 0 ]; then
    grep -E '^remote |^\[  PASSED  +\]' "$log" | sed 's/^/  remote: /'
elif [ $rc -eq 77 ]; then
    echo "  remote: skipped (no network namespace here)"
else
    failed=1
    echo "  remote FAILED; full output: $log"
    tail -30 "$log"
fi

echo "windows: done in $(( $(date +%s) - start )) s"
exit $failed
