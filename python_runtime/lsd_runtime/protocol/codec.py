"""Wire protocol: canonical msgpack codec and validation against the generated contract.

Every message is one msgpack map ``{"t": type, "v": version, "id": request id, ...fields}``.
Encoders write keys in the canonical order (``t``, ``v``, ``id``, then the fields in the order
the schema lists them), so the golden vectors re-encode byte for byte in every language.
Decoders accept any key order and ignore fields they do not know. The schema itself (limits,
message tables) is ``contract.py``, generated from ``shared_protocol/schema/protocol.json``.
"""

from __future__ import annotations

from typing import Any

import msgpack

from .contract import (
    ANY,
    BIN,
    BOOL,
    DECODE_MAX_ARRAY,
    DECODE_MAX_MAP,
    FLOAT,
    INT,
    MAP,
    MAX_ID,
    MAX_LIST,
    MAX_MESSAGE_BYTES,
    MAX_PROMPT_BYTES,
    MAX_STRING_BYTES,
    MESSAGES,
    PROMPT,
    REF_CHARS,
    RING,
    RING_REPLY,
    STR,
    STR_LIST,
    STRUCTS,
    SUPPORTED_VERSIONS,
    UINT,
    UINT_LIST,
    VERSION,
    ErrorCode,
    Field,
)

RING_FIELDS = STRUCTS["ring"]
RING_REPLY_FIELDS = STRUCTS["ring_reply"]


class ProtocolError(Exception):
    """A message that cannot be accepted; becomes an ``error`` reply."""

    def __init__(self, code: ErrorCode, message: str, ref: str = "", request_id: int = 0):
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.ref = ref
        self.request_id = request_id


def _f(
    name: str,
    kind: str,
    required: bool = True,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Field:
    return Field(name, kind, required, low, high, choices)


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
        raise ProtocolError(ErrorCode.TOO_LARGE, f"message is {len(data)} bytes; the limit is {max_bytes}")
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=False,
            use_list=True,
            max_str_len=max_bytes,
            max_bin_len=max_bytes,
            max_array_len=DECODE_MAX_ARRAY,
            max_map_len=DECODE_MAX_MAP,
        )
    except Exception as exc:  # msgpack raises many types for bad input
        raise ProtocolError(
            ErrorCode.MALFORMED, f"not a msgpack message ({exc.__class__.__name__})"
        ) from None


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
    ref = t[:REF_CHARS]
    if "v" not in obj:
        raise ProtocolError(ErrorCode.MISSING_FIELD, f"'{ref}' has no 'v' (protocol version) field", ref, rid)
    v = obj["v"]
    if not isinstance(v, int) or isinstance(v, bool):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'v' must be an integer, got {_kind_name(v)}", ref, rid)
    if v not in SUPPORTED_VERSIONS:
        raise ProtocolError(
            ErrorCode.VERSION_MISMATCH,
            f"message is protocol v{v}; this side speaks v{', v'.join(map(str, SUPPORTED_VERSIONS))}",
            ref,
            rid,
        )
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


def fit(text: str, limit: int = MAX_STRING_BYTES) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes without splitting a character (a longer
    string field would make the receiver refuse the whole message)."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "..."


def error_reply(code: ErrorCode, message: str, ref: str = "", request_id: int = 0) -> dict[str, Any]:
    """An ``error`` message whose text fields always fit the string limit."""
    return make("error", request_id, code=code.value, message=fit(message), ref=fit(ref[:REF_CHARS]))


def error_message(err: ProtocolError) -> dict[str, Any]:
    return error_reply(err.code, err.message, err.ref, err.request_id)
