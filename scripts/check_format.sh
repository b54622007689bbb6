#!/usr/bin/env bash
# Checks (default) or applies (--fix) the formatters: ruff format for Python, clang-format for
# the native library (.clang-format) and the Unreal plugin (unreal_plugin/.clang-format, Epic's
# style). The generated contract files are left as the generator writes them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode=(--dry-run --Werror)
ruff_mode=(--check)
if [ "${1:-}" = "--fix" ]; then mode=(-i); ruff_mode=(); fi
"${PYTHON:-python3}" -m ruff format "${ruff_mode[@]}" .
if ! command -v clang-format >/dev/null; then
    echo "check_format: clang-format not found (apt-get install clang-format)"; exit 2
fi
mapfile -t native < <(git ls-files 'shared_protocol/native/*.c' 'shared_protocol/native/*.cpp' \
    'shared_protocol/native/*.h' 'shared_protocol/native/*.hpp' 'unreal_plugin/*.cpp' 'unreal_plugin/*.h' \
    | grep -v -e 'include/lsd_bridge/lsd_protocol.h$' -e 'src/protocol_schema.inc$')
clang-format "${mode[@]}" "${native[@]}"
echo "check_format: ${#native[@]} native files and the Python code are formatted"
