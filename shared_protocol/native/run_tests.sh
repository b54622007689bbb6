#!/usr/bin/env bash
# Configure, build and test the native client twice: a normal build (build/) and an
# AddressSanitizer + UndefinedBehaviorSanitizer build (build-sanitize/). Exits non-zero
# on any failure. Needs: cmake, a C++17 compiler, libzmq3-dev, cppzmq-dev,
# libmsgpack-cxx-dev, libgtest-dev, nlohmann-json3-dev, and the Python runtime installed
# (`lsd-runtime` on PATH, or `python3 -m lsd_runtime` importable; override with
# LSD_RUNTIME_CMD="...").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
GENERATOR_ARGS=()
if command -v ninja >/dev/null 2>&1; then GENERATOR_ARGS=(-G Ninja); fi

run() {
    local name="$1"; shift
    local dir="$HERE/$name"
    echo "=== $name: configure"
    if [ -f "$dir/CMakeCache.txt" ]; then
        cmake -S "$HERE" -B "$dir" "$@" >/dev/null
    else
        cmake -S "$HERE" -B "$dir" "${GENERATOR_ARGS[@]}" "$@" >/dev/null
    fi
    echo "=== $name: build"
    cmake --build "$dir" -j "$JOBS"
    echo "=== $name: test"
    (cd "$dir" && ctest --output-on-failure --timeout 300)
}

start=$(date +%s)
run build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSD_SANITIZE=OFF
# detect_leaks: the runtime children are not ours; the library itself is checked for leaks
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
run build-sanitize -DCMAKE_BUILD_TYPE=Debug -DLSD_SANITIZE=ON
echo "=== all native tests passed in $(( $(date +%s) - start )) s"
