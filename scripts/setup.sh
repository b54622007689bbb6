#!/usr/bin/env bash
# Installs what the runtime needs into the current Python (sourced by demo.sh and test.sh).
# torch is pinned first when none is installed, so no later requirement pulls a
# multi-GB CUDA build onto a CPU machine; an existing torch (say a CUDA build) is kept.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing torch==2.13.0 (CPU build)"
  "$PY" -m pip install -q --disable-pip-version-check "torch==2.13.0"
fi
extras="${LSD_EXTRAS:-dev}"
echo "setup: installing lsd-bridge[$extras]"
"$PY" -m pip install -q --disable-pip-version-check -e "$ROOT[$extras]"
