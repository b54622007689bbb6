"""The web console's parts without a browser: sign-in keys, host and origin checks, how a
console change is merged onto a session's style, and the frame encoding."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

pytest.importorskip("aiohttp", reason="the web console needs aiohttp (the web extra)")

from lsd_runtime.backends import StyleRequest  # noqa: E402
from lsd_runtime.protocol import ProtocolError  # noqa: E402
from lsd_runtime.tools.scene import render  # noqa: E402
from lsd_runtime.web.access import ConsoleAccess  # noqa: E402
from lsd_runtime.web.console import _style_message  # noqa: E402
from lsd_runtime.web.tap import Encoder, Pair, jpeg, rgb8  # noqa: E402


def test_a_login_key_works_once_and_the_next_is_published() -> None:
    published: list[str] = []
    access = ConsoleAccess("http://127.0.0.1:8123", {"127.0.0.1:8123"}, published.append)
    first = access.login_url
    key = first.split("key=")[1]
    assert access.log_in("wrong") is None
    cookie = access.log_in(key)
    assert cookie and access.signed_in(cookie)
    assert access.log_in(key) is None  # used
    assert published == [access.login_url] and access.login_url != first
    assert not access.signed_in(None) and not access.signed_in("forged")


def test_hosts_and_origins_are_this_consoles_own() -> None:
    access = ConsoleAccess("http://127.0.0.1:8123", {"127.0.0.1:8123", "localhost:8123"})
    assert access.host_ok("127.0.0.1:8123") and access.host_ok("LOCALHOST:8123")
    assert not access.host_ok("evil.example:8123") and not access.host_ok(None)
    assert not access.host_ok("127.0.0.1:8124")
    assert access.origin_ok("http://127.0.0.1:8123") and access.origin_ok(None)
    assert not access.origin_ok("http://evil.example") and not access.origin_ok("https://127.0.0.1:8123")


class FakeSession:
    def __init__(self, request: StyleRequest | None):
        self.style_request = request


def test_a_console_change_keeps_the_rest_of_the_sessions_style() -> None:
    s = FakeSession(StyleRequest(model="sd-turbo", prompt="a cat", strength=0.4, seed=7, params={"steps": 2}))
    msg = _style_message(s, {"prompt": "a dog"})
    assert msg["model"] == "sd-turbo" and msg["prompt"] == "a dog"
    assert (msg["strength"], msg["seed"], msg["params"]) == (0.4, 7, {"steps": 2})
    msg = _style_message(s, {"steps": 3, "glide": 12, "strength": 1})
    assert msg["params"] == {"steps": 3, "interp_frames": 12} and msg["prompt"] == "a cat"
    # "" as the model: the effects look follows the prompt's words again
    effects = FakeSession(StyleRequest(backend="effects", style="toon"))
    msg = _style_message(effects, {"model": "", "prompt": "a pencil sketch"})
    assert "model" not in msg and "style" not in msg and msg["prompt"] == "a pencil sketch"
    assert _style_message(effects, {"prompt": "x"})["style"] == "toon"  # kept when not changed
    with pytest.raises(ProtocolError, match="strength"):
        _style_message(effects, {"strength": 3})
    with pytest.raises(ProtocolError, match="prompt"):
        _style_message(effects, {"prompt": "p" * 5000})


def test_frames_are_encoded_small_and_tagged() -> None:
    rgb = np.ascontiguousarray(render(4, 1280, 720)[..., :3])
    assert rgb8(rgb) is not None and rgb8(rgb).shape == (720, 1280, 3)
    tensor = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float() / 255
    assert np.abs(rgb8(tensor).astype(int) - rgb).max() <= 1
    data = jpeg(rgb)
    import cv2

    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (360, 640, 3)  # scaled down to the preview width
    messages = Encoder.encode(Pair(2**33 + 5, rgb, rgb, 123.5, 4.25), outputs_only=False)
    kinds = [m[:1] for m in messages]
    assert kinds == [b"I", b"O"]
    kind, done_at, fid, ms = struct.unpack_from("<cdIf", messages[1])
    assert (kind, done_at, fid, round(ms, 2)) == (b"O", 123.5, 5, 4.25)
    assert [m[:1] for m in Encoder.encode(Pair(1, rgb, rgb, 0.0, 0.0), outputs_only=True)] == [b"O"]
