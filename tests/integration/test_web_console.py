"""The web console in a real headless browser (Debian's Chromium, driven by Playwright), against
a real runtime with a real client streaming: the page lists the session, shows its frames, and
a prompt typed into it restyles what the client receives from the next frame; keys that are
wrong, missing, used or guessed get nothing."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lsd_runtime.backends import StyleRequest, create_backend
from lsd_runtime.client import RuntimeClient
from lsd_runtime.pipeline.frame_pipeline import FramePipeline
from lsd_runtime.pipeline.pixel_formats import RingSpec
from lsd_runtime.server.state_file import read_state
from lsd_runtime.tools.runtime_process import RuntimeProcess
from lsd_runtime.tools.scene import render

pytest.importorskip("aiohttp", reason="the web console needs aiohttp (the web extra)")
playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium)")

W, H = 320, 180
# the README's screenshot is taken only when asked (LSD_UPDATE_DOCS=1): a test run leaves the
# tree as it found it
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "web_console.png"
UPDATE_DOCS = os.environ.get("LSD_UPDATE_DOCS") == "1"


def expected(image: np.ndarray, style: str) -> np.ndarray:
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style=style))
    spec = RingSpec(W, H, "rgba8")
    return FramePipeline(spec, spec, W, H).run_array(backend, image)


class Streamer:
    """A real client streaming the demo scene, keeping what came back and when."""

    def __init__(self, rt: RuntimeProcess):
        self.client = RuntimeClient(rt.endpoint, rt.token, name="browser-test/1")
        self.client.connect()
        self.client.bind(W, H, "rgba8")
        self.client.set_style(style="toon")
        self.frames = [render(i, W, H) for i in range(8)]
        self.received: list[tuple[float, int, np.ndarray]] = []  # (time, source index, image)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="streamer")
        self._thread.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            out = self.client.process(self.frames[i % 8], timeout=10)
            self.received.append((time.monotonic(), i % 8, out))
            i += 1
            time.sleep(0.02)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(20)
        self.client.close()


@pytest.fixture(scope="module")
def console() -> Iterator[tuple[RuntimeProcess, Streamer]]:
    with RuntimeProcess(args=["--web"]) as rt:
        streamer = Streamer(rt)
        try:
            yield rt, streamer
        finally:
            streamer.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def login_url(rt: RuntimeProcess) -> str:
    url = read_state(rt.state_dir).console
    assert url.startswith("http://127.0.0.1:") and "/?key=" in url
    return url


def canvas_pixels(page, selector: str) -> np.ndarray:
    data = page.evaluate(
        """(sel) => { const c = document.querySelector(sel);
                      return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""",
        selector,
    )
    h, w = page.evaluate(
        "(sel) => [document.querySelector(sel).height, document.querySelector(sel).width]", selector
    )
    return np.array(data, np.uint8).reshape(h, w, 4)


def test_the_page_lists_the_session_shows_its_frames_and_restyles_it(console, browser):
    rt, streamer = console
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(login_url(rt))
    assert page.url.endswith("/")  # the key was swapped for a cookie
    row = page.locator("#sessions tbody tr", has_text="browser-test/1")
    row.wait_for(timeout=15000)
    assert "320x180 rgba8" in row.inner_text() and "toon" in row.inner_text()
    row.click()
    page.wait_for_function("() => Number(document.body.dataset.lastFrame || 0) > 0", timeout=15000)

    # the output canvas shows a restyled frame of the stream (JPEG, so within codec tolerance)
    shown = canvas_pixels(page, "#output-view")[..., :3].astype(np.int16)
    assert shown.shape == (H, W, 3)
    candidates = [expected(f, "toon")[..., :3] for f in streamer.frames]
    err = min(float(np.abs(shown - c).mean()) for c in candidates)
    assert err < 6.0, f"the page's frame is {err:.1f} levels from every restyled frame"
    shown_in = canvas_pixels(page, "#input-view")[..., :3].astype(np.int16)
    assert min(float(np.abs(shown_in - f[..., :3]).mean()) for f in streamer.frames) < 6.0

    # a prompt typed into the page: the client gets the new look from the next frame on
    page.select_option("#model", "")
    page.fill("#prompt", "a pencil sketch of the arena")
    t_apply = time.monotonic()
    page.click("#apply")
    page.wait_for_selector("#apply-result.ok", timeout=15000)
    assert "effects: sketch" in page.inner_text("#apply-result")
    time.sleep(0.5)
    after = [(i, img) for t, i, img in list(streamer.received) if t > t_apply + 0.3]
    assert after, "no frame came back after the change"
    for i, img in after[:10]:
        assert np.array_equal(img, expected(streamer.frames[i], "sketch")), "the client did not get sketch"
    page.wait_for_function(
        "() => document.querySelector('#numbers').textContent.includes('effects: sketch')", timeout=10000
    )
    if UPDATE_DOCS:
        page.wait_for_timeout(12000)  # some history in the plots, for the screenshot
        page.screenshot(path=str(SCREENSHOT))
    page.close()


def test_the_output_page_for_obs_shows_frames_and_no_controls(console, browser):
    rt, _ = console
    page = browser.new_page()
    page.goto(login_url(rt))
    row = page.locator("#sessions tbody tr", has_text="browser-test/1")
    row.wait_for(timeout=15000)
    row.click()
    out_url = page.locator("#output-url").get_attribute("href")
    assert out_url and "/out/" in out_url
    context_free = browser.new_context()  # a fresh profile: no cookie, as OBS would be
    view = context_free.new_page()
    view.goto(out_url)
    view.wait_for_function("() => Number(document.body.dataset.lastFrame || 0) > 0", timeout=15000)
    assert view.locator("form, input, button").count() == 0
    # its key opens that page only: the console and its API stay closed to it
    assert view.goto(out_url.rsplit("/out/", 1)[0] + "/api/sessions").status == 401
    context_free.close()
    page.close()


def test_wrong_missing_used_and_guessed_keys_get_nothing(console, browser):
    rt, _ = console
    url = login_url(rt)
    base = url.split("/?")[0]
    ctx = browser.new_context()
    page = ctx.new_page()
    assert page.goto(base + "/").status == 401  # no key, no cookie
    assert page.goto(base + "/?key=not-the-key").status == 401
    assert page.goto(base + "/api/sessions").status == 401
    assert page.goto(url).status == 200  # the real key, once
    ctx.close()
    ctx2 = browser.new_context()
    again = ctx2.new_page()
    response = again.goto(url)  # the same key again, from another browser
    assert response.status == 401 and "used already" in again.content()
    assert again.goto(base + "/out/not-a-view-key").status == 403
    ctx2.close()
    # signed in, a session key that is not one gets nothing
    ctx3 = browser.new_context()
    signed = ctx3.new_page()
    signed.goto(login_url(rt))
    api = signed.request
    assert api.post(base + "/api/sessions/s1-0000/style", data={"prompt": "x"}).status == 404
    assert api.get(base + "/ws/guessed-key").status == 404
    # a request naming another host (DNS rebinding) is refused
    assert api.get(base + "/api/sessions", headers={"Host": "evil.example:80"}).status == 403
    ctx3.close()
