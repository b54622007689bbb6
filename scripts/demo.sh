#!/usr/bin/env bash
# One command from a fresh clone to the demo: installs, then streams a procedural scene
# through a real runtime and writes lsd_demo_out/ (result.gif, contact_sheet.png, latency.md).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LSD_EXTRAS=dev bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec "${PYTHON:-python3}" -m lsd_runtime demo "$@"
