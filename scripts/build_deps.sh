#!/usr/bin/env bash
# Builds the static libraries linked into the self-contained liblsd_bridge (the binaries
# shipped inside the engine plugins), from Debian's source packages:
#   libzmq  (zeromq3) no libsodium (CURVE uses libzmq's built-in tweetnacl), no libbsd, no
#           PGM/NORM/GSSAPI, no drafts
#   liblz4  (lz4)     the inline transport's frame compression
# so the library needs nothing on the user's machine beyond the C runtime.
#
#   scripts/build_deps.sh TARGET      TARGET: linux-x86_64 | windows-x86_64 (mingw-w64 cross build)
#
# Prints "zmq=PREFIX" and "lz4=PREFIX" (install prefixes, static, PIC). Cached by source
# version and target under ${LSD_CACHE_DIR:-$HOME/.cache/lsd-bridge}; delete that folder to
# build from scratch. Getting the sources needs `deb-src` in APT (added here when run as root)
# and dpkg-dev.
set -euo pipefail
TARGET="${1:?usage: build_deps.sh linux-x86_64|windows-x86_64}"
CACHE="${LSD_CACHE_DIR:-$HOME/.cache/lsd-bridge}"
JOBS="${JOBS:-$(nproc)}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mkdir -p "$CACHE"

case "$TARGET" in
    linux-x86_64) toolchain=(); zmq_target=() ;;
    # IPC (AF_UNIX) off on Windows; the library uses tcp:// only
    windows-x86_64) toolchain=(-DCMAKE_TOOLCHAIN_FILE="$ROOT/shared_protocol/native/cmake/mingw-w64-x86_64.cmake")
                    zmq_target=(-DZMQ_HAVE_IPC=OFF -DPOLLER=select -DZMQ_CV_IMPL=win32api) ;;
    *) echo "build_deps.sh: unknown target '$TARGET'" >&2; exit 2 ;;
esac
gen=()
if command -v ninja >/dev/null; then gen=(-G Ninja); fi

# the source of a Debian package, fetched once into the cache
source_of() {
    local pkg="$1" dir
    dir="$(find "$CACHE/src" -maxdepth 1 -type d -name "$pkg-*" 2>/dev/null | sort | tail -1 || true)"
    if [ -z "$dir" ]; then
        if ! apt-get source --print-uris "$pkg" >/dev/null 2>&1; then
            if [ "$(id -u)" != 0 ]; then
                echo "build_deps.sh: APT has no deb-src entry: add one for your release, or run as root" >&2
                exit 2
            fi
            # a deb-src twin of every deb entry: deb822 files (Debian 12, Ubuntu 24.04) and one-line lists
            echo "build_deps.sh: adding deb-src entries for this release" >&2
            for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                case "$f" in *lsd-deb-src*) continue ;; esac
                sed -e 's/^Types: deb$/Types: deb-src/' "$f" >"/etc/apt/sources.list.d/lsd-deb-src-$(basename "$f")"
            done
            if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
                sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >/etc/apt/sources.list.d/lsd-deb-src.list
            fi
            apt-get update -qq
        fi
        command -v dpkg-source >/dev/null || { echo "build_deps.sh: needs dpkg-dev" >&2; exit 2; }
        mkdir -p "$CACHE/src"
        (cd "$CACHE/src" && apt-get source -qq "$pkg" >&2)
        dir="$(find "$CACHE/src" -maxdepth 1 -type d -name "$pkg-*" | sort | tail -1)"
    fi
    echo "$dir"
}

# build_one NAME SOURCE_SUBDIR LIBRARY CMAKE_ARGS...: configure, build, install once per version
build_one() {
    local name="$1" pkg="$2" sub="$3" lib="$4"; shift 4
    local src version prefix build
    src="$(source_of "$pkg")"
    version="$(basename "$src" | sed "s/^$pkg-//")"
    prefix="$CACHE/$name-$version-$TARGET"
    if [ -f "$prefix/lib/$lib" ] && [ -f "$prefix/.complete" ]; then
        echo "$prefix"
        return
    fi
    echo "build_deps.sh: building $name $version for $TARGET (static, PIC) into $prefix" >&2
    build="$CACHE/build-$name-$version-$TARGET"
    rm -rf "$build" "$prefix"
    cmake -S "$src/$sub" -B "$build" "${gen[@]}" "${toolchain[@]}" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
        -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_C_VISIBILITY_PRESET=hidden \
        -DCMAKE_CXX_VISIBILITY_PRESET=hidden "$@" >&2
    cmake --build "$build" -j "$JOBS" >&2
    cmake --install "$build" >&2
    touch "$prefix/.complete"
    echo "$prefix"
}

zmq="$(build_one libzmq zeromq3 . libzmq.a "${zmq_target[@]}" \
    -DBUILD_SHARED=OFF -DBUILD_STATIC=ON -DBUILD_TESTS=OFF -DWITH_PERF_TOOL=OFF -DWITH_DOCS=OFF -DWITH_DOC=OFF \
    -DENABLE_DRAFTS=OFF -DENABLE_WS=OFF -DWITH_TLS=OFF -DWITH_LIBSODIUM=OFF -DENABLE_CURVE=ON -DWITH_LIBBSD=OFF \
    -DWITH_OPENPGM=OFF -DWITH_NORM=OFF -DWITH_VMCI=OFF -DENABLE_CPACK=OFF -DENABLE_PRECOMPILED=OFF \
    -DLIBZMQ_WERROR=OFF)"
lz4="$(build_one liblz4 lz4 build/cmake liblz4.a \
    -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON -DLZ4_BUILD_CLI=OFF -DLZ4_BUILD_LEGACY_LZ4C=OFF)"
echo "zmq=$zmq"
echo "lz4=$lz4"
