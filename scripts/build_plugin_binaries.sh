#!/usr/bin/env bash
# Builds the native library the engine plugins ship and puts it where they load it from:
#   unity_package/Plugins/Linux/x86_64/liblsd_bridge.so     (committed: a git-URL install has it)
#   unity_package/Plugins/Windows/x86_64/lsd_bridge.dll     (mingw-w64 cross build, scripts/build_windows.sh)
#   shared_protocol/native/prebuilt/windows-x86_64/lsd_bridge.lib  (import library for MSVC: Unreal)
# Self-contained: libzmq is linked in statically (scripts/build_deps.sh, with liblz4), so a user's machine
# needs only the C and C++ runtimes (Linux: glibc >= 2.34, libstdc++ from GCC 12: Ubuntu 22.04+,
# Debian 12+; Windows: system DLLs only). Build on Debian 12 (the CI image; a debian:12
# container elsewhere): a newer glibc gives a library that needs it. Records the binary's checksum and the hash of the sources it was built from in
# shared_protocol/native/shipped_binaries.json; a unit test fails when the sources change and
# the shipped binary was not rebuilt.
#
#   scripts/build_plugin_binaries.sh          build, strip, copy, record
#   scripts/build_plugin_binaries.sh --check  only say whether the shipped binaries are current
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ "${1:-}" = "--check" ]; then
    exec python3 scripts/shipped_binaries.py check
fi

host_glibc="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"
if [ -n "$host_glibc" ] && [ "$(printf '%s\n2.36\n' "$host_glibc" | sort -V | tail -1)" != "2.36" ]; then
    echo "build_plugin_binaries: this host has glibc $host_glibc; the shipped library must run on glibc 2.34:" >&2
    echo "  build in a debian:12 container (docker run -v \$PWD:/src -w /src debian:12 ...)" >&2
    exit 2
fi
deps="$(bash scripts/build_deps.sh linux-x86_64)"
zmq_prefix="$(sed -n 's/^zmq=//p' <<<"$deps")"
lz4_prefix="$(sed -n 's/^lz4=//p' <<<"$deps")"
build="$ROOT/build/plugin-linux-x86_64"
gen=()
if command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ]; then gen=(-G Ninja); fi
cmake -S shared_protocol/native -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DLSD_BUILD_TESTS=OFF -DLSD_BUILD_EXAMPLES=OFF -DLSD_WITH_UNITY_GLUE=ON -DLSD_ZMQ_ROOT="$zmq_prefix" \
    -DLSD_LZ4_ROOT="$lz4_prefix" >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}" --target lsd_bridge

out="unity_package/Plugins/Linux/x86_64/liblsd_bridge.so"
mkdir -p "$(dirname "$out")"
strip --strip-unneeded -o "$out" "$build/liblsd_bridge.so.0"
python3 scripts/shipped_binaries.py record "$out" --zmq "$(basename "$zmq_prefix")"

# Windows x64 (cross build; the tests run under Wine in scripts/build_windows.sh)
bash scripts/build_windows.sh --no-tests
win="$ROOT/build/windows-x86_64"
dll="unity_package/Plugins/Windows/x86_64/lsd_bridge.dll"
lib="shared_protocol/native/prebuilt/windows-x86_64/lsd_bridge.lib"
mkdir -p "$(dirname "$dll")" "$(dirname "$lib")"
x86_64-w64-mingw32-strip --strip-unneeded -o "$dll" "$win/lsd_bridge.dll"
cp "$win/lsd_bridge.lib" "$lib"
win_zmq="$(basename "$(bash scripts/build_deps.sh windows-x86_64 | sed -n 's/^zmq=//p')")"
python3 scripts/shipped_binaries.py record "$dll" --zmq "$win_zmq"
python3 scripts/shipped_binaries.py record "$lib" --zmq "$win_zmq"
python3 scripts/shipped_binaries.py check
