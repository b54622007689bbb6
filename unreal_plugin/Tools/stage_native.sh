#!/usr/bin/env bash
# Copies the native client (header + built library) into the plugin's ThirdParty/LSDNative layout
# and Binaries/ThirdParty/LSDNative (what FLSDBridgeModule loads and RuntimeDependencies stages).
# Linux: builds shared_protocol/native first if needed. Windows: pass the folder holding
# lsd_bridge.dll, lsd_bridge.lib and the vcpkg libzmq DLL:  stage_native.sh <build-win/Release>
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PLUGIN="$ROOT/unreal_plugin/LSDBridge"
TP="$PLUGIN/Source/ThirdParty/LSDNative"
mkdir -p "$TP/include/lsd_bridge"
cp "$ROOT/shared_protocol/native/include/lsd_bridge/lsd_client.h" "$TP/include/lsd_bridge/"
if [ $# -ge 1 ]; then
  mkdir -p "$TP/lib/Win64" "$PLUGIN/Binaries/ThirdParty/LSDNative/Win64"
  cp "$1"/lsd_bridge.lib "$1"/*.dll "$TP/lib/Win64/"
  cp "$1"/*.dll "$PLUGIN/Binaries/ThirdParty/LSDNative/Win64/"
  echo "staged Win64 from $1"
  exit 0
fi
BUILD="$ROOT/shared_protocol/native/build"
if [ ! -f "$BUILD/liblsd_bridge.so.0" ]; then
  cmake -S "$ROOT/shared_protocol/native" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLSD_BUILD_TESTS=OFF
  cmake --build "$BUILD" -j
fi
mkdir -p "$TP/lib/Linux" "$PLUGIN/Binaries/ThirdParty/LSDNative/Linux"
cp -L "$BUILD/liblsd_bridge.so.0" "$TP/lib/Linux/liblsd_bridge.so.0"
cp -L "$BUILD/liblsd_bridge.so.0" "$TP/lib/Linux/liblsd_bridge.so"   # link-time name; SONAME stays .so.0
cp -L "$BUILD/liblsd_bridge.so.0" "$PLUGIN/Binaries/ThirdParty/LSDNative/Linux/liblsd_bridge.so.0"
echo "staged Linux from $BUILD (needs libzmq5 on the target machine)"
