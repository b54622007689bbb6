#!/usr/bin/env bash
# One command from a fresh clone to every test: system packages, Python packages, lint,
# the Python suite (real runtime processes, sockets and shared memory) and the native
# client's ctest suites (normal and sanitizer builds).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
APT_PACKAGES=(cmake g++ pkg-config libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libgtest-dev nlohmann-json3-dev
              mono-mcs mono-runtime)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
LSD_EXTRAS="${LSD_EXTRAS:-dev,diffusion,sdk,cuda}" bash "$ROOT/scripts/setup.sh"
PY="${PYTHON:-python3}"
echo "test: ruff"
"$PY" -m ruff check .
# the native library first: the Unreal plugin's live test and the Unity tests link it
echo "test: native client (ctest)"
shared_protocol/native/run_tests.sh
echo "test: pytest"
"$PY" -m pytest -q -p no:cacheprovider "$@"
echo "test: Unity package, pure C# layer (mono, against the native library and the runtime)"
LSD_NATIVE_BUILD_DIR="$ROOT/shared_protocol/native/build" bash "unity_package/Tests~/run_tests.sh"
