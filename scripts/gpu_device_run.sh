#!/usr/bin/env bash
# Runs on the lent GPU machine (the device tool, from the repository root, with .gpu and .gl
# carried: scripts/gpu_device_prepare.sh made them). Installs the carried wheels and GL loaders,
# then runs scripts/gpu_check.py; its table goes to the output, its JSON and logs to $OUT.
set -uo pipefail
OUT="${OUT:-/tmp/gpu_check_out}"
mkdir -p "$OUT"
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export __EGL_VENDOR_LIBRARY_FILENAMES="${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}"
[ -f "$__EGL_VENDOR_LIBRARY_FILENAMES" ] || unset __EGL_VENDOR_LIBRARY_FILENAMES
python3 -m pip install -q --no-index --find-links .gpu/wheels pyzmq msgpack tqdm psutil lz4 pillow pytest \
    2>&1 | tail -2
export PYTHONPATH="$PWD/python_runtime${PYTHONPATH:+:$PYTHONPATH}"   # the runtime from this checkout
export LD_LIBRARY_PATH="$PWD/.gpu/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 scripts/gpu_check.py --bin .gpu/bin --json "$OUT/gpu_check.json" --logs "$OUT"
