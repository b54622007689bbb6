#!/usr/bin/env bash
# Copies the native client (header + built library) into the plugin's ThirdParty/LSDNative layout
# and Binaries/ThirdParty/LSDNative (what FLSDBridgeModule loads and RuntimeDependencies stages).
# With no argument: the libraries the repository ships, for Linux and Win64 (self-contained;
# built by scripts/build_plugin_binaries.sh, checked current by CI). To stage your own Windows
# build instead, pass the folder holding lsd_bridge.dll, lsd_bridge.lib and any DLL it depends
# on:  stage_native.sh <build-win/Release>
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PLUGIN="$ROOT/unreal_plugin/LSDBridge"
TP="$PLUGIN/Source/ThirdParty/LSDNative"
mkdir -p "$TP/include/lsd_bridge"
cp "$ROOT/shared_protocol/native/include/lsd_bridge/lsd_client.h" "$TP/include/lsd_bridge/"
WIN_DLL="$ROOT/unity_package/Plugins/Windows/x86_64/lsd_bridge.dll"
WIN_LIB="$ROOT/shared_protocol/native/prebuilt/windows-x86_64/lsd_bridge.lib"
WIN_FROM="${1:-}"
if [ -n "$WIN_FROM" ]; then
  WIN_DLL="$WIN_FROM/lsd_bridge.dll"
  WIN_LIB="$WIN_FROM/lsd_bridge.lib"
fi
if [ -f "$WIN_DLL" ] && [ -f "$WIN_LIB" ]; then
  mkdir -p "$TP/lib/Win64" "$PLUGIN/Binaries/ThirdParty/LSDNative/Win64"
  cp "$WIN_LIB" "$TP/lib/Win64/lsd_bridge.lib"          # import library: what the module links
  cp "$WIN_DLL" "$TP/lib/Win64/lsd_bridge.dll"          # RuntimeDependencies source
  cp "$WIN_DLL" "$PLUGIN/Binaries/ThirdParty/LSDNative/Win64/lsd_bridge.dll"
  if [ -n "$WIN_FROM" ]; then
    # a user's own build may come with DLLs it depends on (e.g. a vcpkg libzmq)
    for extra in "$WIN_FROM"/*.dll; do
      [ "$(basename "$extra")" = lsd_bridge.dll ] && continue
      cp "$extra" "$TP/lib/Win64/"; cp "$extra" "$PLUGIN/Binaries/ThirdParty/LSDNative/Win64/"
    done
  fi
  echo "staged Win64 from $(dirname "$WIN_DLL") (the shipped DLL imports only Windows system DLLs)"
elif [ -n "$WIN_FROM" ]; then
  echo "stage_native.sh: $WIN_FROM has no lsd_bridge.dll + lsd_bridge.lib" >&2
  exit 1
fi
[ -n "$WIN_FROM" ] && exit 0

# Linux: the self-contained library the repository ships (libzmq linked in; built by
# scripts/build_plugin_binaries.sh, checked current by CI), the same file the Unity package loads.
SHIPPED="$ROOT/unity_package/Plugins/Linux/x86_64/liblsd_bridge.so"
if [ ! -f "$SHIPPED" ]; then
  echo "stage_native.sh: $SHIPPED is missing; build it with scripts/build_plugin_binaries.sh" >&2
  exit 1
fi
mkdir -p "$TP/lib/Linux" "$PLUGIN/Binaries/ThirdParty/LSDNative/Linux"
cp "$SHIPPED" "$TP/lib/Linux/liblsd_bridge.so.0"
cp "$SHIPPED" "$TP/lib/Linux/liblsd_bridge.so"   # link-time name; the SONAME is liblsd_bridge.so.0
cp "$SHIPPED" "$PLUGIN/Binaries/ThirdParty/LSDNative/Linux/liblsd_bridge.so.0"
echo "staged Linux from $SHIPPED (self-contained: needs only glibc 2.34+ and libstdc++ from GCC 12)"
