#!/usr/bin/env python3
"""Fail if a protocol limit is typed as a number outside the contract schema and its generated files.

    python scripts/check_contract_literals.py

Looks, with ``git grep``, through every tracked source file (Python, C, C++, C#, shell) for the
distinctive limit values of ``shared_protocol/schema/protocol.json`` (8192, 4096, 131072, 2048,
65536, 2147483648 and the spellings ``1 << 17``, ``64 * 1024``, ``2 << 30``, ``1 << 31``). Code must use the
generated names instead (``protocol.MAX_DIMENSION``, ``LSD_MAX_DIMENSION``,
``LSDProtocol.MaxDimension``). A line where the number means something else (a model's hidden
size, a buffer length) says so with the words ``not a protocol limit`` in a comment.

Left out on purpose: the schema and the files generated from it, the golden vectors (written
with plain msgpack, independent of every codec) and Markdown prose.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERN = r"\b(8192|4096|131072|2048|65536|2147483648)\b|1 ?<< ?(17|31)\b|64 ?\* ?1024\b|2 ?<< ?30\b"
MARKER = "not a protocol limit"
EXCLUDE = [
    "shared_protocol/schema",
    "shared_protocol/vectors",
    "python_runtime/lsd_runtime/protocol/contract.py",
    "shared_protocol/native/include/lsd_bridge/lsd_protocol.h",
    "shared_protocol/native/src/protocol_schema.inc",
    "unity_package/Runtime/Core/LSDProtocol.g.cs",
    "scripts/check_contract_literals.py",
]
SOURCES = ["*.py", "*.c", "*.h", "*.cpp", "*.hpp", "*.inc", "*.cs", "*.sh", "*.cmake", "CMakeLists.txt"]


def offending_lines(root: Path = ROOT) -> list[str]:
    """``path:line:text`` of every tracked source line under ``root`` with a limit literal."""
    cmd = ["git", "grep", "-n", "-I", "-E", PATTERN, "--", *SOURCES, *(f":!{p}" for p in EXCLUDE)]
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 1):  # 1: no match
        raise SystemExit(f"git grep failed: {result.stderr.strip()}")
    return [line for line in result.stdout.splitlines() if MARKER not in line]


def main() -> int:
    lines = offending_lines()
    if lines:
        print(
            "protocol limit literals outside the contract (use the generated constants, or mark a "
            f"number that means something else with '{MARKER}'):",
            file=sys.stderr,
        )
        print("\n".join(lines), file=sys.stderr)
        return 1
    print("no protocol limit literals outside the contract")
    return 0


if __name__ == "__main__":
    sys.exit(main())
