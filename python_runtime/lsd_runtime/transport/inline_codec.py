"""Compression of an ``inline`` session's pixel data (PROTOCOL.md, ``bind.codecs``).

The client names the codecs it reads and writes; the runtime picks the first it has and
answers it in ``bound.codec``. Each side then compresses a frame with it when that pays
(the block is at most 7/8 of the raw bytes: a noisy frame goes raw, with no ``codec``), and
decompresses what the other side compressed. An LZ4 block has no header: it decompresses
to exactly the ring's ``size``, which both sides know.
"""

from __future__ import annotations

from typing import Any

try:
    import lz4.block as _lz4  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - lz4 is a dependency; without it frames go raw
    _lz4 = None

# what this runtime can read and write, best first
AVAILABLE: tuple[str, ...] = ("lz4",) if _lz4 is not None else ()
# compress only when the block is at most this share of the raw bytes
PAYS = 7 / 8


class CodecError(ValueError):
    pass


def choose(offered: Any) -> str | None:
    """The first codec in the client's list that this runtime has; None: raw frames."""
    if not isinstance(offered, list):
        return None
    for name in offered:
        if name in AVAILABLE:
            return str(name)
    return None


def encode(data: bytes | bytearray | memoryview, codec: str | None) -> tuple[bytes, str | None]:
    """(bytes to send, the codec they are compressed with or None for raw)."""
    raw = bytes(data)
    if codec is None or _lz4 is None:
        return raw, None
    block = _lz4.compress(raw, mode="default", store_size=False)
    if len(block) <= len(raw) * PAYS:
        return block, codec
    return raw, None


def decode(data: bytes, codec: str | None, size: int) -> bytes:
    """The ``size`` raw bytes ``data`` stands for; CodecError says what is wrong."""
    if codec is None:
        return data
    if codec != "lz4" or _lz4 is None:
        raise CodecError(f"codec {codec!r} is not available")
    try:
        out = _lz4.decompress(data, uncompressed_size=size)
    except Exception as exc:  # noqa: BLE001 - lz4 raises its own LZ4BlockError
        raise CodecError(f"data is not an LZ4 block of {size} bytes ({exc})") from None
    if len(out) != size:
        raise CodecError(f"data decompresses to {len(out)} bytes, not the ring's {size}")
    return out
