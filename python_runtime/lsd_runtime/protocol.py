"""Wire protocol v1: message schema, canonical msgpack codec and validation.

This module is the executable form of ``shared_protocol/PROTOCOL.md``. Every message
is one msgpack map ``{"t": type, "v": version, "id": request id, ...fields}``. Encoders
write keys in the canonical order (``t``, ``v``, ``id``, then the fields in the order the
schema lists them), so the golden vectors re-encode byte for byte in every language.
Decoders accept any key order and ignore fields they do not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import msgpack

VERSION = 1
SUPPORTED_VERSIONS = (1,)

MAX_MESSAGE_BYTES = 64 * 1024
MAX_STRING_BYTES = 256
MAX_PROMPT_BYTES = 2048
MIN_DIMENSION = 8
MAX_DIMENSION = 8192
MAX_MODEL_DIMENSION = 4096
MAX_PITCH = 1 << 17
MIN_SLOTS = 1
MAX_SLOTS = 8
DEFAULT_SLOTS = 3
MAX_ID = (1 << 64) - 1
MAX_LIST = 64
MAX_BIND_BYTES = 2 << 30  # one session's input and output rings together

FORMATS = {"rgba8": 4, "bgra8": 4, "rgba16f": 8}
COLOR_SPACES = ("srgb", "linear")

FLAG_RESET = 1  # frame: forget temporal state (camera cut, level load)


class ErrorCode(str, Enum):
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    BAD_FIELD = "bad_field"
    VERSION_MISMATCH = "version_mismatch"
    AUTH_FAILED = "auth_failed"
    NO_SESSION = "no_session"
    ALREADY_OPEN = "already_open"
    BUSY = "busy"
    TRANSPORT_UNAVAILABLE = "transport_unavailable"
    NOT_BOUND = "not_bound"
    BAD_SLOT = "bad_slot"
    UNKNOWN_BACKEND = "unknown_backend"
    UNKNOWN_STYLE = "unknown_style"
    INTERNAL = "internal"


class ProtocolError(Exception):
    """A message that cannot be accepted; becomes an ``error`` reply."""

    def __init__(self, code: ErrorCode, message: str, ref: str = "", request_id: int = 0):
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.ref = ref
        self.request_id = request_id


# --- field kinds -----------------------------------------------------------------

STR, PROMPT, UINT, INT, FLOAT, BOOL, BIN, UINT_LIST, STR_LIST, RING, RING_REPLY, MAP, ANY = (
    "str", "prompt", "uint", "int", "float", "bool", "bin", "uint[]", "str[]",
    "ring", "ring_reply", "map", "any",
)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = True
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MessageSpec:
    name: str
    sender: str  # "client", "runtime" or "both"
    fields: tuple[Field, ...] = field(default_factory=tuple)


def _f(name: str, kind: str, required: bool = True, low: float | None = None,
       high: float | None = None, choices: tuple[str, ...] | None = None) -> Field:
    return Field(name, kind, required, low, high, choices)


RING_FIELDS: tuple[Field, ...] = (
    _f("width", UINT, low=MIN_DIMENSION, high=MAX_DIMENSION),
    _f("height", UINT, low=MIN_DIMENSION, high=MAX_DIMENSION),
    _f("format", STR, choices=tuple(FORMATS)),
    _f("pitch", UINT, required=False, low=0, high=MAX_PITCH),
    _f("bottom_up", BOOL, required=False),
    _f("color", STR, required=False, choices=COLOR_SPACES),
    _f("slots", UINT, required=False, low=MIN_SLOTS, high=MAX_SLOTS),
)

RING_REPLY_FIELDS: tuple[Field, ...] = (
    _f("names", STR_LIST),
    _f("size", UINT),
    _f("pitch", UINT),
)

MESSAGES: dict[str, MessageSpec] = {
    spec.name: spec
    for spec in (
        MessageSpec("hello", "client", (
            _f("token", STR),
            _f("client", STR),
            _f("transports", STR_LIST),
            _f("pid", UINT, required=False, high=(1 << 32) - 1),
        )),
        MessageSpec("welcome", "runtime", (
            _f("session", STR),
            _f("server", STR),
            _f("transport", STR),
            _f("transports", STR_LIST),
            _f("backends", STR_LIST),
            _f("styles", STR_LIST),
            _f("heartbeat_ms", UINT),
            _f("timeout_ms", UINT),
            _f("max_message", UINT),
        )),
        MessageSpec("bind", "client", (
            _f("transport", STR),
            _f("input", RING),
            _f("output", RING),
            _f("model_width", UINT, required=False, low=MIN_DIMENSION, high=MAX_MODEL_DIMENSION),
            _f("model_height", UINT, required=False, low=MIN_DIMENSION, high=MAX_MODEL_DIMENSION),
        )),
        MessageSpec("bound", "runtime", (
            _f("transport", STR),
            _f("input", RING_REPLY),
            _f("output", RING_REPLY),
            _f("model_width", UINT),
            _f("model_height", UINT),
        )),
        MessageSpec("set_style", "client", (
            _f("backend", STR),
            _f("style", STR, required=False),
            _f("prompt", PROMPT, required=False),
            _f("strength", FLOAT, required=False, low=0.0, high=1.0),
            _f("seed", INT, required=False, low=-(1 << 63), high=(1 << 63) - 1),
            _f("params", MAP, required=False),
        )),
        MessageSpec("style_set", "runtime", (
            _f("backend", STR),
            _f("style", STR),
            _f("matched", STR),
        )),
        MessageSpec("frame", "client", (
            _f("slot", UINT, high=MAX_SLOTS - 1),
            _f("time", FLOAT),
            _f("flags", UINT, required=False, high=(1 << 32) - 1),
            _f("release", UINT_LIST, required=False),
            _f("data", BIN, required=False),
        )),
        MessageSpec("frame_done", "runtime", (
            _f("slot", UINT),
            _f("in_slot", UINT),
            _f("time", FLOAT),
            _f("timings", MAP),
            _f("data", BIN, required=False),
        )),
        MessageSpec("dropped", "runtime", (
            _f("in_slot", UINT),
            _f("reason", STR),
        )),
        MessageSpec("release", "client", (
            _f("slots", UINT_LIST),
        )),
        MessageSpec("get_stats", "client", ()),
        MessageSpec("stats", "runtime", (
            _f("frames_in", UINT),
            _f("frames_done", UINT),
            _f("frames_dropped", UINT),
            _f("errors", UINT),
            _f("latency_ms", MAP),
            _f("style", STR),
            _f("uptime_s", FLOAT),
        )),
        MessageSpec("ping", "both", (_f("time", FLOAT),)),
        MessageSpec("pong", "both", (_f("time", FLOAT),)),
        MessageSpec("error", "runtime", (
            _f("code", STR),
            _f("message", STR),
            _f("ref", STR),
        )),
        MessageSpec("bye", "both", (_f("reason", STR, required=False),)),
    )
}

CLIENT_TYPES = frozenset(n for n, s in MESSAGES.items() if s.sender in ("client", "both"))
RUNTIME_TYPES = frozenset(n for n, s in MESSAGES.items() if s.sender in ("runtime", "both"))


# --- codec -----------------------------------------------------------------------

def _canonical(value: Any, spec_fields: tuple[Field, ...] | None = None) -> Any:
    """Order a map's keys canonically: schema order first, then the rest as given."""
    if isinstance(value, dict):
        ordered: dict[Any, Any] = {}
        known = [f for f in spec_fields or () if f.name in value]
        for f in known:
            sub = RING_FIELDS if f.kind == RING else RING_REPLY_FIELDS if f.kind == RING_REPLY else None
            v = value[f.name]
            if f.kind == FLOAT and isinstance(v, int) and not isinstance(v, bool):
                v = float(v)
            ordered[f.name] = _canonical(v, sub)
        for k, v in value.items():
            if k not in ordered:
                ordered[k] = _canonical(v)
        return ordered
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def encode(message: dict[str, Any]) -> bytes:
    """Encode a message map canonically. The caller supplies ``t``, ``v`` and ``id``."""
    spec = MESSAGES.get(message.get("t", ""))
    head = tuple(_f(k, ANY) for k in ("t", "v", "id"))
    fields = head + (spec.fields if spec else ())
    return msgpack.packb(_canonical(message, fields), use_bin_type=True)


def make(t: str, request_id: int, **fields: Any) -> dict[str, Any]:
    """Build a message map of type ``t`` (fields that are ``None`` are left out)."""
    msg: dict[str, Any] = {"t": t, "v": VERSION, "id": request_id}
    msg.update({k: v for k, v in fields.items() if v is not None})
    return msg


def pack(t: str, request_id: int, **fields: Any) -> bytes:
    return encode(make(t, request_id, **fields))


def unpack_raw(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> Any:
    if len(data) > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LARGE,
                            f"message is {len(data)} bytes; the limit is {max_bytes}")
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=True,
                               max_str_len=max_bytes, max_bin_len=max_bytes,
                               max_array_len=4096, max_map_len=256)
    except Exception as exc:  # msgpack raises many types for bad input
        raise ProtocolError(ErrorCode.MALFORMED,
                            f"not a msgpack message ({exc.__class__.__name__})") from None


def decode(data: bytes, sender: str = "client", max_bytes: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """Decode and validate one message sent by ``sender`` ("client" or "runtime")."""
    obj = unpack_raw(data, max_bytes)
    return validate(obj, sender)


def _request_id(obj: dict[Any, Any]) -> int:
    rid = obj.get("id")
    if isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= MAX_ID:
        return rid
    return 0


def validate(obj: Any, sender: str = "client") -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.MALFORMED, f"a message must be a map, got {_kind_name(obj)}")
    rid = _request_id(obj)
    t = obj.get("t")
    if "t" not in obj:
        raise ProtocolError(ErrorCode.MISSING_FIELD, "message has no 't' (type) field", "", rid)
    if not isinstance(t, str):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'t' must be a string, got {_kind_name(t)}", "", rid)
    ref = t[:64]
    if "v" not in obj:
        raise ProtocolError(ErrorCode.MISSING_FIELD, f"'{ref}' has no 'v' (protocol version) field", ref, rid)
    v = obj["v"]
    if not isinstance(v, int) or isinstance(v, bool):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'v' must be an integer, got {_kind_name(v)}", ref, rid)
    if v not in SUPPORTED_VERSIONS:
        raise ProtocolError(
            ErrorCode.VERSION_MISMATCH,
            f"message is protocol v{v}; this side speaks v{', v'.join(map(str, SUPPORTED_VERSIONS))}",
            ref, rid)
    spec = MESSAGES.get(t)
    allowed = CLIENT_TYPES if sender == "client" else RUNTIME_TYPES
    if spec is None or t not in allowed:
        detail = "" if spec is None else f" ({t} is sent by the {spec.sender}, not the {sender})"
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type '{ref}'{detail}", ref, rid)
    if "id" not in obj:
        raise ProtocolError(ErrorCode.MISSING_FIELD, f"'{t}' has no 'id' field", t, rid)
    _check_value(obj["id"], _f("id", UINT, high=MAX_ID), t, "id", rid)
    _check_fields(obj, spec.fields, t, "", rid)
    return obj


def _kind_name(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes | bytearray):
        return "binary"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "map"
    return type(value).__name__


def _check_fields(obj: dict[Any, Any], fields: tuple[Field, ...], t: str, prefix: str, rid: int) -> None:
    for f in fields:
        path = prefix + f.name
        if f.name not in obj:
            if f.required:
                raise ProtocolError(ErrorCode.MISSING_FIELD, f"'{t}' needs field '{path}'", t, rid)
            continue
        _check_value(obj[f.name], f, t, path, rid)


def _bad(t: str, path: str, rid: int, why: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_FIELD, f"'{t}' field '{path}' {why}", t, rid)


def _check_value(value: Any, f: Field, t: str, path: str, rid: int) -> None:
    kind = f.kind
    if kind == ANY:
        return
    if kind in (UINT, INT):
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad(t, path, rid, f"must be an integer, got {_kind_name(value)}")
        low = 0 if kind == UINT and f.low is None else f.low
        if low is not None and value < low:
            raise _bad(t, path, rid, f"is {value}; the minimum is {int(low)}")
        if f.high is not None and value > f.high:
            raise _bad(t, path, rid, f"is {value}; the maximum is {int(f.high)}")
    elif kind == FLOAT:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _bad(t, path, rid, f"must be a number, got {_kind_name(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise _bad(t, path, rid, "must be a finite number")
        if f.low is not None and value < f.low:
            raise _bad(t, path, rid, f"is {value}; the minimum is {f.low}")
        if f.high is not None and value > f.high:
            raise _bad(t, path, rid, f"is {value}; the maximum is {f.high}")
    elif kind in (STR, PROMPT):
        if not isinstance(value, str):
            raise _bad(t, path, rid, f"must be a string, got {_kind_name(value)}")
        limit = MAX_PROMPT_BYTES if kind == PROMPT else MAX_STRING_BYTES
        if len(value.encode("utf-8", "surrogatepass")) > limit:
            raise _bad(t, path, rid, f"is longer than {limit} bytes")
        if f.choices is not None and value not in f.choices:
            raise _bad(t, path, rid, f"is '{value[:32]}'; expected one of {', '.join(f.choices)}")
    elif kind == BOOL:
        if not isinstance(value, bool):
            raise _bad(t, path, rid, f"must be a boolean, got {_kind_name(value)}")
    elif kind == BIN:
        if not isinstance(value, bytes | bytearray):
            raise _bad(t, path, rid, f"must be binary, got {_kind_name(value)}")
    elif kind in (UINT_LIST, STR_LIST):
        if not isinstance(value, list):
            raise _bad(t, path, rid, f"must be an array, got {_kind_name(value)}")
        if len(value) > MAX_LIST:
            raise _bad(t, path, rid, f"has {len(value)} items; the maximum is {MAX_LIST}")
        item = _f(f.name, UINT, high=MAX_ID) if kind == UINT_LIST else _f(f.name, STR)
        for i, v in enumerate(value):
            _check_value(v, item, t, f"{path}[{i}]", rid)
    elif kind in (RING, RING_REPLY):
        if not isinstance(value, dict):
            raise _bad(t, path, rid, f"must be a map, got {_kind_name(value)}")
        _check_fields(value, RING_FIELDS if kind == RING else RING_REPLY_FIELDS, t, path + ".", rid)
    elif kind == MAP:
        if not isinstance(value, dict):
            raise _bad(t, path, rid, f"must be a map, got {_kind_name(value)}")
        for k in value:
            if not isinstance(k, str):
                raise _bad(t, path, rid, f"keys must be strings, got {_kind_name(k)}")


def error_message(err: ProtocolError) -> dict[str, Any]:
    return make("error", err.request_id, code=err.code.value, message=err.message, ref=err.ref)
