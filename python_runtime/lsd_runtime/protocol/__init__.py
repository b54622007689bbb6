"""The wire protocol: the generated contract (limits, enums, message schema) and the codec.

``contract`` is generated from ``shared_protocol/schema/protocol.json``; ``codec`` encodes,
decodes and validates messages against it. Everything a caller needs is re-exported here,
so ``from lsd_runtime import protocol`` then ``protocol.pack(...)`` or
``protocol.MAX_MESSAGE_BYTES`` works.
"""

from .codec import (
    ProtocolError,
    decode,
    encode,
    error_message,
    error_reply,
    fit,
    make,
    pack,
    unpack_raw,
    validate,
)
from .contract import *  # noqa: F403 - the generated contract, re-exported whole
from .contract import __all__ as _contract_names

__all__ = [
    *_contract_names,
    "ProtocolError",
    "decode",
    "encode",
    "error_message",
    "error_reply",
    "fit",
    "make",
    "pack",
    "unpack_raw",
    "validate",
]
