#!/usr/bin/env python3
"""Writes the golden vectors of protocol v1 (run once; the files are committed).

The bytes are produced with plain msgpack from maps written out key by key in the
canonical order of PROTOCOL.md, not through any project encoder, so the tests of every
language check their own encoder against them.

    python3 shared_protocol/vectors/make_vectors.py
"""

from __future__ import annotations

import json
from pathlib import Path

import msgpack

HERE = Path(__file__).resolve().parent


def ring(width: int, height: int, fmt: str, pitch: int, bottom_up: bool, color: str, slots: int) -> dict:
    return {
        "width": width,
        "height": height,
        "format": fmt,
        "pitch": pitch,
        "bottom_up": bottom_up,
        "color": color,
        "slots": slots,
    }


VALID: list[tuple[str, str, dict, str]] = [
    (
        "hello",
        "client",
        {
            "t": "hello",
            "v": 1,
            "id": 1,
            "token": "3f7a9c0e5b2d4e6f8a1b3c5d7e9f0a2b",
            "client": "unity/0.1.0",
            "transports": ["cuda_ipc", "shm"],
            "pid": 4242,
        },
        "first message of a session; transports in order of preference",
    ),
    (
        "hello_shm_kinds",
        "client",
        {
            "t": "hello",
            "v": 1,
            "id": 1,
            "token": "t0k3n",
            "client": "lsd-native/0.2.0",
            "transports": ["shm", "inline"],
            "pid": 77,
            "shm": ["memfd", "named"],
        },
        "the ways the client can open shm slots (a Linux runtime's are sealed memfds)",
    ),
    (
        "hello_minimal",
        "client",
        {"t": "hello", "v": 1, "id": 1, "token": "t0k3n", "client": "c", "transports": ["shm"]},
        "pid is optional",
    ),
    (
        "welcome",
        "runtime",
        {
            "t": "welcome",
            "v": 1,
            "id": 1,
            "session": "s-00000001",
            "server": "lsd-runtime/0.1.0",
            "transport": "shm",
            "transports": ["shm", "inline"],
            "backends": ["effects"],
            "styles": ["identity", "toon", "sketch"],
            "heartbeat_ms": 500,
            "timeout_ms": 2000,
            "max_message": 65536,
        },
        "answer to hello: the chosen transport and what the runtime offers",
    ),
    (
        "welcome_models",
        "runtime",
        {
            "t": "welcome",
            "v": 1,
            "id": 1,
            "session": "s-00000002",
            "server": "lsd-runtime/0.1.0",
            "transport": "shm",
            "transports": ["shm", "inline"],
            "backends": ["effects", "diffusion"],
            "styles": ["identity", "toon"],
            "heartbeat_ms": 500,
            "timeout_ms": 2000,
            "max_message": 65536,
            "default_model": "effects",
            "models": ["identity", "toon", "watercolor", "effects", "diffusion", "sd-turbo"],
        },
        "with the default model and the model names the runtime resolves",
    ),
    (
        "bind",
        "client",
        {
            "t": "bind",
            "v": 1,
            "id": 2,
            "transport": "shm",
            "input": ring(1920, 1080, "bgra8", 7680, True, "srgb", 3),
            "output": ring(1920, 1080, "rgba8", 7680, False, "srgb", 3),
            "model_width": 512,
            "model_height": 288,
        },
        "input and output rings with the model resolution",
    ),
    (
        "bind_planes",
        "client",
        {
            "t": "bind",
            "v": 1,
            "id": 2,
            "transport": "shm",
            "input": ring(1280, 720, "bgra8", 0, True, "srgb", 3),
            "output": ring(1280, 720, "bgra8", 0, True, "srgb", 3),
            "motion_format": "rg16f",
            "motion_units": "uv",
            "motion_sign": "current_minus_previous",
            "motion_y_up": True,
            "depth_format": "r32f",
            "depth_kind": "device",
            "depth_reversed_z": True,
            "depth_near": 0.3,
            "depth_far": 1000.0,
        },
        "a motion and a depth plane beside the input ring, described as Unity's built-in pipeline gives them",
    ),
    (
        "bind_minimal",
        "client",
        {
            "t": "bind",
            "v": 1,
            "id": 2,
            "transport": "shm",
            "input": {"width": 256, "height": 256, "format": "rgba16f"},
            "output": {"width": 256, "height": 256, "format": "rgba8"},
        },
        "pitch, bottom_up, color and slots take their defaults",
    ),
    (
        "bound",
        "runtime",
        {
            "t": "bound",
            "v": 1,
            "id": 2,
            "transport": "shm",
            "input": {
                "names": ["/lsd-1-s1-in-0", "/lsd-1-s1-in-1", "/lsd-1-s1-in-2"],
                "size": 8294400,
                "pitch": 7680,
            },
            "output": {
                "names": ["/lsd-1-s1-out-0", "/lsd-1-s1-out-1", "/lsd-1-s1-out-2"],
                "size": 8294400,
                "pitch": 7680,
            },
            "model_width": 512,
            "model_height": 288,
        },
        "slot names to open and their sizes",
    ),
    (
        "set_style",
        "client",
        {
            "t": "set_style",
            "v": 1,
            "id": 3,
            "backend": "effects",
            "style": "toon",
            "prompt": "underwater Roman empire, gold",
            "strength": 0.65,
            "seed": -7,
            "params": {"levels": 5},
        },
        "every optional field present",
    ),
    (
        "set_style_prompt",
        "client",
        {"t": "set_style", "v": 1, "id": 3, "backend": "effects", "prompt": "a neon cyberpunk city at night"},
        "style picked by words in the prompt",
    ),
    (
        "set_style_model",
        "client",
        {
            "t": "set_style",
            "v": 1,
            "id": 3,
            "prompt": "underwater Roman empire, gold",
            "strength": 0.5,
            "model": "watercolor",
        },
        "the runtime resolves the model name (an alias here); no backend given",
    ),
    (
        "style_set",
        "runtime",
        {"t": "style_set", "v": 1, "id": 3, "backend": "effects", "style": "neon_edges", "matched": "neon"},
        "the resolved style and the prompt word that chose it",
    ),
    (
        "style_set_model",
        "runtime",
        {
            "t": "style_set",
            "v": 1,
            "id": 3,
            "backend": "effects",
            "style": "watercolour",
            "matched": "",
            "model": "watercolour",
        },
        "with the canonical model name a client stores and sends again",
    ),
    (
        "style_set_by_console",
        "runtime",
        {
            "t": "style_set",
            "v": 1,
            "id": 0,
            "backend": "effects",
            "style": "sketch",
            "matched": "pencil",
            "model": "effects",
        },
        "id 0: not an answer; the runtime's web console changed the session's style",
    ),
    (
        "frame",
        "client",
        {"t": "frame", "v": 1, "id": 1000, "slot": 2, "time": 12.5, "flags": 1, "release": [0]},
        "input slot 2 is ready; output slot 0 is handed back",
    ),
    (
        "frame_with_planes",
        "client",
        {"t": "frame", "v": 1, "id": 1001, "slot": 0, "time": 12.516, "flags": 6},
        "flags 2 and 4: this frame's motion and depth planes are filled",
    ),
    (
        "frame_minimal",
        "client",
        {"t": "frame", "v": 1, "id": 18446744073709551615, "slot": 0, "time": 0.0},
        "largest frame id",
    ),
    (
        "frame_inline",
        "client",
        {"t": "frame", "v": 1, "id": 7, "slot": 0, "time": 1.25, "data": bytes(range(16))},
        "inline transport: pixels travel in data",
    ),
    (
        "bind_inline_codecs",
        "client",
        {
            "t": "bind",
            "v": 1,
            "id": 3,
            "transport": "inline",
            "input": {"width": 640, "height": 360, "format": "bgra8"},
            "output": {"width": 640, "height": 360, "format": "bgra8"},
            "codecs": ["lz4"],
        },
        "an inline bind offering LZ4 for the pixel data",
    ),
    (
        "bound_codec",
        "runtime",
        {
            "t": "bound",
            "v": 1,
            "id": 3,
            "transport": "inline",
            "input": {"names": [], "size": 921600, "pitch": 2560},
            "output": {"names": [], "size": 921600, "pitch": 2560},
            "model_width": 640,
            "model_height": 360,
            "codec": "lz4",
        },
        "the runtime agreed on LZ4; inline rings have no segment names",
    ),
    (
        "bound_planes",
        "runtime",
        {
            "t": "bound",
            "v": 1,
            "id": 2,
            "transport": "shm",
            "input": {"names": ["/proc/4242/fd/7"], "size": 3686400, "pitch": 5120},
            "output": {"names": ["/proc/4242/fd/9"], "size": 3686400, "pitch": 5120},
            "model_width": 1280,
            "model_height": 720,
            "motion": {"names": ["/proc/4242/fd/11"], "size": 3686400, "pitch": 5120},
            "depth": {"names": ["/proc/4242/fd/13"], "size": 3686400, "pitch": 5120},
        },
        "the planes' slots beside the rings' (one slot each here)",
    ),
    (
        "frame_inline_lz4",
        "client",
        {
            "t": "frame",
            "v": 1,
            "id": 8,
            "slot": 1,
            "time": 1.5,
            "data": bytes([0x1F, 0, 1, 0, 0x50, 0, 0]),
            "codec": "lz4",
        },
        "inline frame data sent as an LZ4 block",
    ),
    (
        "frame_done",
        "runtime",
        {
            "t": "frame_done",
            "v": 1,
            "id": 1000,
            "slot": 1,
            "in_slot": 2,
            "time": 12.5,
            "timings": {
                "queue_ms": 0.125,
                "input_ms": 0.5,
                "backend_ms": 3.25,
                "output_ms": 0.5,
                "total_ms": 4.375,
            },
        },
        "output slot 1 is ready, input slot 2 is free",
    ),
    (
        "dropped",
        "runtime",
        {"t": "dropped", "v": 1, "id": 999, "in_slot": 1, "reason": "superseded"},
        "a newer frame replaced this one in the queue",
    ),
    ("release", "client", {"t": "release", "v": 1, "id": 8, "slots": [0, 2]}, "output slots handed back"),
    ("get_stats", "client", {"t": "get_stats", "v": 1, "id": 9}, "no fields"),
    (
        "stats",
        "runtime",
        {
            "t": "stats",
            "v": 1,
            "id": 9,
            "frames_in": 300,
            "frames_done": 297,
            "frames_dropped": 3,
            "errors": 0,
            "latency_ms": {"total": [4.0, 6.5], "backend": [3.0, 5.25]},
            "style": "toon",
            "uptime_s": 10.5,
        },
        "latency_ms maps a stage to [p50, p99]",
    ),
    ("ping", "client", {"t": "ping", "v": 1, "id": 10, "time": 3.5}, "heartbeat"),
    ("pong", "runtime", {"t": "pong", "v": 1, "id": 10, "time": 3.5}, "echoes the ping's time"),
    (
        "error",
        "runtime",
        {
            "t": "error",
            "v": 1,
            "id": 4,
            "code": "bad_field",
            "message": "'bind' field 'input.width' is 0; the minimum is 8",
            "ref": "bind",
        },
        "error reply",
    ),
    ("bye", "client", {"t": "bye", "v": 1, "id": 11}, "client leaves"),
    (
        "bye_runtime",
        "runtime",
        {"t": "bye", "v": 1, "id": 11, "reason": "runtime shutting down"},
        "runtime leaves or acknowledges",
    ),
]


GPU_UUID = "GPU-5f3c0a1e-8b2d-4c6f-9e0a-1b2c3d4e5f60"


def handles(tag: int, slots: int) -> bytes:
    """Stand-in CUDA IPC handles: 64 recognisable bytes per slot (real ones are opaque)."""
    return b"".join(bytes([tag, k]) + bytes(range(2, 64)) for k in range(slots))


def cuda_ring(size: int, pitch: int, tag: int, slots: int) -> dict:
    return {
        "names": [],
        "size": size,
        "pitch": pitch,
        "ipc_handles": handles(tag, slots),
        "ipc_offsets": [0] * slots,
        "ipc_ready": handles(tag + 1, slots),
        "ipc_free": handles(tag + 2, slots),
    }


VALID += [
    (
        "hello_cuda",
        "client",
        {
            "t": "hello",
            "v": 1,
            "id": 1,
            "token": "t0k3n",
            "client": "lsd-native/0.4.0",
            "transports": ["cuda_ipc", "shm"],
            "pid": 4242,
            "shm": ["memfd"],
            "gpu": GPU_UUID,
        },
        "a client that can open CUDA IPC handles, and the GPU its frames are on",
    ),
    (
        "welcome_cuda",
        "runtime",
        {
            "t": "welcome",
            "v": 1,
            "id": 1,
            "session": "s1-a0b1",
            "server": "lsd-runtime/0.4.0",
            "transport": "cuda_ipc",
            "transports": ["shm", "cuda_ipc"],
            "backends": ["effects"],
            "styles": ["identity", "toon"],
            "heartbeat_ms": 500,
            "timeout_ms": 2000,
            "max_message": 65536,
            "gpu": GPU_UUID,
        },
        "cuda_ipc chosen: the runtime's CUDA device is the client's",
    ),
    (
        "welcome_fallback",
        "runtime",
        {
            "t": "welcome",
            "v": 1,
            "id": 1,
            "session": "s2-c3d4",
            "server": "lsd-runtime/0.4.0",
            "transport": "shm",
            "transports": ["shm"],
            "backends": ["effects"],
            "styles": ["identity", "toon"],
            "heartbeat_ms": 500,
            "timeout_ms": 2000,
            "max_message": 65536,
            "fallback": "cuda_ipc: this runtime has no CUDA device (torch 2.13.0+cpu has no CUDA support)",
        },
        "the client asked for cuda_ipc first; the runtime chose shm and says why",
    ),
    (
        "bind_cuda",
        "client",
        {
            "t": "bind",
            "v": 1,
            "id": 2,
            "transport": "cuda_ipc",
            "input": ring(1920, 1080, "rgba8", 7680, True, "srgb", 2),
            "output": ring(1920, 1080, "rgba8", 7680, True, "srgb", 2),
        },
        "device rings for a 1080p render target (OpenGL row order)",
    ),
    (
        "bound_cuda",
        "runtime",
        {
            "t": "bound",
            "v": 1,
            "id": 2,
            "transport": "cuda_ipc",
            "input": cuda_ring(8294400, 7680, 0x10, 2),
            "output": cuda_ring(8294400, 7680, 0x20, 2),
            "model_width": 1920,
            "model_height": 1080,
        },
        "per slot: the memory handle, its offset, and the ready/free event handles",
    ),
    (
        "bound_fallback",
        "runtime",
        {
            "t": "bound",
            "v": 1,
            "id": 2,
            "transport": "shm",
            "input": {"names": ["/proc/4242/fd/7", "/proc/4242/fd/8"], "size": 8294400, "pitch": 7680},
            "output": {"names": ["/proc/4242/fd/9", "/proc/4242/fd/10"], "size": 8294400, "pitch": 7680},
            "model_width": 1920,
            "model_height": 1080,
            "fallback": "cuda_ipc: the device slots could not be allocated "
            "(cuMemAlloc failed: CUDA_ERROR_OUT_OF_MEMORY); the rings are in shared memory",
        },
        "a cuda_ipc bind answered with shm rings: the runtime could not give device memory",
    ),
]


def pk(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


INVALID: list[tuple[str, bytes, str, int, str, str]] = [
    # name, bytes, code, id, ref, what
    ("not_msgpack", b"\xc1\xc1\xc1", "malformed", 0, "", "0xc1 is never used in msgpack"),
    ("truncated", pk({"t": "ping", "v": 1, "id": 1, "time": 1.0})[:-3], "malformed", 0, "", "cut short"),
    (
        "trailing_bytes",
        pk({"t": "ping", "v": 1, "id": 1, "time": 1.0}) + b"\x00",
        "malformed",
        0,
        "",
        "a second object after the map",
    ),
    ("not_a_map", pk([1, 2, 3]), "malformed", 0, "", "an array, not a map"),
    (
        "hello_gpu_not_string",
        pk(
            {
                "t": "hello",
                "v": 1,
                "id": 1,
                "token": "x",
                "client": "c",
                "transports": ["cuda_ipc", "shm"],
                "gpu": 0,
            }
        ),
        "bad_field",
        1,
        "hello",
        "hello.gpu is the device's UUID string, not an ordinal",
    ),
    ("empty", b"", "malformed", 0, "", "zero bytes"),
    ("no_type", pk({"v": 1, "id": 5}), "missing_field", 5, "", "no t"),
    ("type_not_string", pk({"t": 7, "v": 1, "id": 5}), "bad_field", 5, "", "t is an integer"),
    ("no_version", pk({"t": "ping", "id": 5, "time": 1.0}), "missing_field", 5, "ping", "no v"),
    (
        "version_2",
        pk({"t": "hello", "v": 2, "id": 5, "token": "x", "client": "future", "transports": ["shm"]}),
        "version_mismatch",
        5,
        "hello",
        "a v2 client talking to a v1 runtime",
    ),
    (
        "version_0",
        pk({"t": "ping", "v": 0, "id": 5, "time": 1.0}),
        "version_mismatch",
        5,
        "ping",
        "version 0 does not exist",
    ),
    (
        "version_string",
        pk({"t": "ping", "v": "1", "id": 5, "time": 1.0}),
        "bad_field",
        5,
        "ping",
        "v is a string",
    ),
    (
        "unknown_type",
        pk({"t": "teleport", "v": 1, "id": 5}),
        "unknown_type",
        5,
        "teleport",
        "no such message",
    ),
    (
        "wrong_direction",
        pk({"t": "welcome", "v": 1, "id": 5}),
        "unknown_type",
        5,
        "welcome",
        "a runtime message sent by a client",
    ),
    ("no_id", pk({"t": "ping", "v": 1, "time": 1.0}), "missing_field", 0, "ping", "no id"),
    (
        "negative_id",
        pk({"t": "ping", "v": 1, "id": -1, "time": 1.0}),
        "bad_field",
        0,
        "ping",
        "ids are unsigned",
    ),
    (
        "missing_token",
        pk({"t": "hello", "v": 1, "id": 5, "client": "c", "transports": ["shm"]}),
        "missing_field",
        5,
        "hello",
        "hello without token",
    ),
    (
        "token_wrong_type",
        pk({"t": "hello", "v": 1, "id": 5, "token": 12345, "client": "c", "transports": ["shm"]}),
        "bad_field",
        5,
        "hello",
        "token is an integer",
    ),
    (
        "width_zero",
        pk(
            {
                "t": "bind",
                "v": 1,
                "id": 5,
                "transport": "shm",
                "input": {"width": 0, "height": 64, "format": "rgba8"},
                "output": {"width": 64, "height": 64, "format": "rgba8"},
            }
        ),
        "bad_field",
        5,
        "bind",
        "resolution below the minimum",
    ),
    (
        "width_huge",
        pk(
            {
                "t": "bind",
                "v": 1,
                "id": 5,
                "transport": "shm",
                "input": {"width": 100000, "height": 64, "format": "rgba8"},
                "output": {"width": 64, "height": 64, "format": "rgba8"},
            }
        ),
        "bad_field",
        5,
        "bind",
        "resolution above the maximum",
    ),
    (
        "unknown_codec",
        pk({"t": "frame", "v": 1, "id": 5, "slot": 0, "time": 1.0, "data": b"\x00", "codec": "zstd"}),
        "bad_field",
        5,
        "frame",
        "a codec the protocol does not define",
    ),
    (
        "bad_format",
        pk(
            {
                "t": "bind",
                "v": 1,
                "id": 5,
                "transport": "shm",
                "input": {"width": 64, "height": 64, "format": "yuv420"},
                "output": {"width": 64, "height": 64, "format": "rgba8"},
            }
        ),
        "bad_field",
        5,
        "bind",
        "unsupported pixel format",
    ),
    (
        "too_many_slots",
        pk(
            {
                "t": "bind",
                "v": 1,
                "id": 5,
                "transport": "shm",
                "input": {"width": 64, "height": 64, "format": "rgba8", "slots": 9},
                "output": {"width": 64, "height": 64, "format": "rgba8"},
            }
        ),
        "bad_field",
        5,
        "bind",
        "ring longer than 8",
    ),
    (
        "strength_above_one",
        pk({"t": "set_style", "v": 1, "id": 5, "backend": "effects", "strength": 1.5}),
        "bad_field",
        5,
        "set_style",
        "strength is 0..1",
    ),
    (
        "strength_nan",
        pk({"t": "set_style", "v": 1, "id": 5, "backend": "effects", "strength": float("nan")}),
        "bad_field",
        5,
        "set_style",
        "NaN",
    ),
    (
        "prompt_too_long",
        pk({"t": "set_style", "v": 1, "id": 5, "backend": "effects", "prompt": "a" * 2049}),
        "bad_field",
        5,
        "set_style",
        "prompt over 2048 bytes",
    ),
    (
        "slot_string",
        pk({"t": "frame", "v": 1, "id": 5, "slot": "0", "time": 1.0}),
        "bad_field",
        5,
        "frame",
        "slot is a string",
    ),
    (
        "frame_no_time",
        pk({"t": "frame", "v": 1, "id": 5, "slot": 0}),
        "missing_field",
        5,
        "frame",
        "frame without time",
    ),
    (
        "release_not_list",
        pk({"t": "release", "v": 1, "id": 5, "slots": 1}),
        "bad_field",
        5,
        "release",
        "slots is not an array",
    ),
    (
        "bind_motion_format_unknown",
        pk(
            {
                "t": "bind",
                "v": 1,
                "id": 5,
                "transport": "shm",
                "input": ring(64, 64, "rgba8", 0, False, "srgb", 3),
                "output": ring(64, 64, "rgba8", 0, False, "srgb", 3),
                "motion_format": "rg8",
            }
        ),
        "bad_field",
        5,
        "bind",
        "motion_format is not a motion_format",
    ),
    (
        "bind_depth_near_negative",
        pk(
            {
                "t": "bind",
                "v": 1,
                "id": 5,
                "transport": "shm",
                "input": ring(64, 64, "rgba8", 0, False, "srgb", 3),
                "output": ring(64, 64, "rgba8", 0, False, "srgb", 3),
                "depth_format": "r32f",
                "depth_kind": "device",
                "depth_near": -0.1,
                "depth_far": 100.0,
            }
        ),
        "bad_field",
        5,
        "bind",
        "depth_near below 0",
    ),
    (
        "oversize",
        pk({"t": "ping", "v": 1, "id": 5, "time": 1.0, "pad": "x" * 70000}),
        "too_large",
        0,
        "",
        "over the 64 KiB control-message limit",
    ),
]


def as_json(value: object) -> object:
    """The vector's meaning in JSON: binary as ``{"$bin": hex}``, at any depth."""
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value


def main() -> None:
    for old in list(HERE.glob("*.msgpack")) + list(HERE.glob("*.json")) + list((HERE / "invalid").glob("*")):
        old.unlink()
    index = []
    for name, direction, msg, what in VALID:
        (HERE / f"{name}.msgpack").write_bytes(pk(msg))
        meaning = as_json(msg)
        (HERE / f"{name}.json").write_text(
            json.dumps({"name": name, "sender": direction, "what": what, "message": meaning}, indent=2) + "\n"
        )
        index.append(name)
    inv = HERE / "invalid"
    inv.mkdir(exist_ok=True)
    cases = []
    for name, data, code, rid, ref, what in INVALID:
        (inv / f"{name}.bin").write_bytes(data)
        cases.append(
            {
                "name": name,
                "file": f"{name}.bin",
                "sender": "client",
                "code": code,
                "id": rid,
                "ref": ref,
                "what": what,
            }
        )
    (inv / "cases.json").write_text(json.dumps(cases, indent=2) + "\n")
    print(f"wrote {len(index)} valid and {len(cases)} invalid vectors")


if __name__ == "__main__":
    main()
