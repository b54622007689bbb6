#!/usr/bin/env bash
# Prepares, on this (CPU) machine, everything the GPU check carries to a lent GPU machine, which
# has no network: the runtime's Python wheels for its python3.12 (.gpu/wheels), the GL loader
# libraries as Debian packages (.gl, the device README's recipe), and the native library with
# the check's two native programs (.gpu/bin: cuda_roundtrip, egl_host, liblsd_bridge.so).
# Then, with the device tool:
#   run(command="bash scripts/gpu_device_run.sh", carry=[".gpu", ".gl"], timeout_s=540)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"

echo "gpu prepare: native library and programs (shared_protocol/native/build)"
cmake -S shared_protocol/native -B shared_protocol/native/build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build shared_protocol/native/build --target lsd_bridge cuda_roundtrip egl_host >/dev/null
rm -rf .gpu && mkdir -p .gpu/bin .gpu/wheels
cp -P shared_protocol/native/build/liblsd_bridge.so* .gpu/bin/
cp shared_protocol/native/build/tests/cuda_roundtrip shared_protocol/native/build/tests/egl_host .gpu/bin/

echo "gpu prepare: wheels for the GPU machine's python3.12 (torch, numpy and cuda-python are there)"
"$PY" -m pip download -q --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --implementation cp -d .gpu/wheels \
    "pyzmq>=25" "msgpack>=1.0" "tqdm>=4.60" "psutil>=5.9" "lz4>=4.0" "pillow>=10" pytest pluggy iniconfig packaging

echo "gpu prepare: GL loader libraries (libEGL, libOpenGL, libglvnd) as .deb files"
mkdir -p .gl /tmp/amd64/partial
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${o[@]}" update -qq
(cd .gl && apt-get "${o[@]}" download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .gpu .gl
