"""The Python SDK: StreamEngine from sources (iterator, video file) through the in-process or a
running runtime to sinks (callback, video file), checked exactly against the effect reference."""

from __future__ import annotations

import functools
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from lsd_runtime import StreamEngine
from lsd_runtime.backends import StyleRequest, create_backend
from lsd_runtime.pipeline.frame_pipeline import FramePipeline
from lsd_runtime.pipeline.pixel_formats import RingSpec
from lsd_runtime.sdk import (
    DisplayUnavailableError,
    FrameInfo,
    IteratorSource,
    ModelUnavailableError,
    SourceError,
    StreamEngineError,
)
from lsd_runtime.sdk.preview import display_problem
from lsd_runtime.server.config import ServerConfig
from lsd_runtime.server.router import RuntimeServer
from lsd_runtime.tools.scene import render
from support.slots import held_slots

W, H = 96, 64


@functools.lru_cache(maxsize=4)
def scene_rgb(count: int, width: int = W, height: int = H) -> tuple[np.ndarray, ...]:
    """``count`` distinct RGB frames of the moving scene (every 4th rendered, the rest shifted)."""
    frames = []
    base = render(0, width, height)
    for i in range(count):
        if i % 4 == 0:
            base = render(i, width, height)
        frames.append(np.ascontiguousarray(np.roll(base, i % 4, axis=1)[..., :3]))
    return tuple(frames)


def write_video(path: Path, frames: tuple[np.ndarray, ...], fps: float = 24.0) -> None:
    """A lossless FFV1 AVI (checked: decoding gives the written pixels back exactly)."""
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), fps, (w, h))
    assert writer.isOpened(), "this OpenCV cannot write FFV1"
    for f in frames:
        writer.write(np.ascontiguousarray(f[..., ::-1]))
    writer.release()


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame as RGB, and the file's fps."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(frame[..., ::-1]))
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return frames, fps


def reference(
    rgb: np.ndarray, style: str, strength: float | None = None, model: tuple[int, int] | None = None
) -> np.ndarray:
    """The effect applied in-process to an RGB frame (alpha 255, as the engine sends it), RGB out."""
    h, w = rgb.shape[:2]
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = 255
    backend = create_backend("effects")
    backend.set_style(StyleRequest(style=style, strength=strength))
    spec = RingSpec(w, h, "rgba8")
    mw, mh = model or (w, h)
    return FramePipeline(spec, spec, mw, mh).run_array(backend, rgba)[..., :3]


def own_segments() -> list[str]:
    """The slot memory this process holds as a runtime (the SDK's in-process one)."""
    return held_slots(os.getpid())


def sdk_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lsd-")]


class Collector:
    """An ``on_frame`` callback that keeps everything it is given."""

    def __init__(self, delay: float = 0.0):
        self.frames: list[np.ndarray] = []
        self.infos: list[FrameInfo] = []
        self.delay = delay

    def __call__(self, frame: np.ndarray, info: FrameInfo) -> None:
        self.frames.append(frame.copy())
        self.infos.append(info)
        if self.delay:
            time.sleep(self.delay)


@pytest.fixture
def clean_exit():
    """After the test: no SDK thread left, no shared-memory segment of this process left."""
    yield
    assert sdk_threads() == []
    assert own_segments() == []


# --- sources and sinks ----------------------------------------------------------------------


def test_video_file_in_restyled_video_file_out(tmp_path: Path, clean_exit):
    src, dst = tmp_path / "in.avi", tmp_path / "out.avi"
    write_video(src, scene_rgb(48), fps=24.0)
    decoded, _ = read_video(src)
    assert len(decoded) == 48
    with StreamEngine(model="toon") as engine:
        stats = engine.run(src, output=dst)
    assert stats["delivered"] == 48 and stats["dropped"] == 0
    out, fps = read_video(dst)
    assert fps == pytest.approx(24.0) and len(out) == 48
    for i, (got, image) in enumerate(zip(out, decoded, strict=True)):
        assert got.shape == (H, W, 3)
        expected = reference(image, "toon")
        assert np.array_equal(got, expected), f"frame {i} differs at {np.argwhere(got != expected)[:3]}"


def test_iterator_every_frame_in_order_at_a_model_resolution(clean_exit):
    frames = scene_rgb(12)
    sink = Collector()
    with StreamEngine(model="thermal", resolution=(32, 48)) as engine:  # (height, width)
        engine.start(iter(frames), sink)
        assert engine.wait(30)
    assert [i.index for i in sink.infos] == list(range(12))
    assert all(i.dropped == () and i.style == "thermal" and i.latency_ms > 0 for i in sink.infos)
    for frame, info in zip(sink.frames, sink.infos, strict=True):
        assert frame.shape == (H, W, 3)  # the source's size, restyled at 48x32
        assert np.array_equal(info.input, frames[info.index])
        assert np.array_equal(frame, reference(frames[info.index], "thermal", model=(48, 32)))


def test_engine_frames_bring_their_exact_depth_and_motion(clean_exit):
    # an iterator of EngineFrames (the demo scene with its exact planes, as a renderer has them);
    # the `planes` style shows what the backend received: red/green 128 + motion, blue depth.
    # Frame 2 brings only depth, frame 3 only motion, so each plane is its own.
    from lsd_runtime.sdk import EngineFrame
    from lsd_runtime.tools.scene import render_frame

    scenes = [render_frame(i + 1, W, H) for i in range(5)]
    frames = [
        EngineFrame(
            sc.rgba[..., :3],
            motion=None if i == 2 else sc.motion,
            depth=None if i == 3 else np.minimum(sc.depth, 200.0),
            camera_cut=i == 4,
        )
        for i, sc in enumerate(scenes)
    ]
    sink = Collector()
    with StreamEngine(model="planes") as engine:
        engine.start(iter(frames), sink)
        assert engine.wait(30)
    assert [i.index for i in sink.infos] == list(range(5))
    for got, f in zip(sink.frames, frames, strict=True):
        expected = np.empty((H, W, 3), np.uint8)
        rg = np.full((H, W, 2), 128.0) if f.motion is None else f.motion + 128.0
        expected[..., :2] = np.clip(np.rint(rg), 0, 255)
        expected[..., 2] = 0 if f.depth is None else np.clip(np.rint(f.depth), 0, 255)
        assert np.array_equal(got, expected)
    assert np.abs(scenes[1].motion).max() > 1.0  # the scene moves: the check is not of zeros


def test_latest_frame_wins_every_frame_delivered_or_reported(clean_exit):
    frames = scene_rgb(40)
    sink = Collector(delay=0.02)  # a slow consumer: the source runs ahead
    with StreamEngine(model="sketch") as engine:
        engine.start(IteratorSource(frames, live=True), sink)  # live: latest frame wins
        assert engine.wait(30)
    delivered = [i.index for i in sink.infos]
    assert delivered == sorted(delivered) and len(set(delivered)) == len(delivered)
    reported = [d.index for i in sink.infos for d in i.dropped]
    trailing = [d.index for d in engine.dropped_frames[len(reported) :]]
    assert [d.index for d in engine.dropped_frames[: len(reported)]] == reported
    assert sorted(delivered + reported + trailing) == list(range(40))
    assert reported, "a consumer this slow must have skipped stale frames"
    assert {d.reason for d in engine.dropped_frames} <= {"stale", "superseded"}
    for frame, info in zip(sink.frames, sink.infos, strict=True):
        assert np.array_equal(frame, reference(frames[info.index], "sketch"))
    stats = engine.stats()
    assert stats["delivered"] == len(delivered) and stats["dropped"] == 40 - len(delivered)


def test_live_source_latency_stays_bounded_behind_a_slow_backend(clean_exit, monkeypatch):
    """A live source far faster than the backend: frames are dropped, never queued, so a frame's
    capture-to-delivery latency stays near one restyle (queueing would make it two or more)."""
    from lsd_runtime.backends.effects import EffectsBackend

    delay = 0.04  # a restyle that takes 40 ms, as a GPU model might
    slow_image, slow_tensor = EffectsBackend.process_image, EffectsBackend.process

    def slow_process_image(self, image, **kwargs):
        time.sleep(delay)
        return slow_image(self, image, **kwargs)

    def slow_process(self, *args, **kwargs):
        time.sleep(delay)
        return slow_tensor(self, *args, **kwargs)

    monkeypatch.setattr(EffectsBackend, "process_image", slow_process_image)
    monkeypatch.setattr(EffectsBackend, "process", slow_process)
    frames = scene_rgb(8)
    count = 150

    def camera():  # 100 frames a second: 4 arrive during each restyle
        due = time.monotonic()
        for i in range(count):
            time.sleep(max(0.0, due - time.monotonic()))
            due += 0.01
            yield frames[i % len(frames)]

    sink = Collector()
    with StreamEngine(model="toon") as engine:
        engine.start(IteratorSource(camera(), live=True), sink)
        assert engine.wait(60)
        stats = engine.stats()
    delivered = [i.index for i in sink.infos]
    dropped = [d.index for d in engine.dropped_frames]
    assert sorted(delivered + dropped) == list(range(count)), "every frame delivered or reported"
    assert len(dropped) > count // 2, "a source 4x faster than the backend must drop frames"
    restyle = [i.timings["input_ms"] + i.timings["backend_ms"] + i.timings["output_ms"] for i in sink.infos]
    p50_restyle = float(np.percentile(restyle, 50))
    assert p50_restyle >= delay * 1e3
    # one restyle plus the 10 ms a frame may wait for capture: bounded, whatever the load
    bound = 1.5 * (p50_restyle + 10.0)
    assert stats["latency_ms"]["p50"] <= bound, (stats["latency_ms"], p50_restyle)
    assert stats["display_latency_ms"]["p50"] >= stats["latency_ms"]["p50"] * 0.99
    assert all(i.display_latency_ms is not None for i in sink.infos[1:])


def test_style_prompt_and_strength_changes_take_effect_on_the_next_frame(clean_exit):
    frames = scene_rgb(24)
    sink = Collector()

    def on_frame(frame: np.ndarray, info: FrameInfo) -> None:
        sink(frame, info)
        if info.index == 5:
            engine.set_style("thermal")
        elif info.index == 11:
            engine.set_prompt("a pencil drawing of a city")  # effects: 'pencil' picks sketch
        elif info.index == 17:
            engine.set_strength(0.5)

    with StreamEngine(model="toon") as engine:
        engine.start(iter(frames), on_frame)
        assert engine.wait(30)
    styles = [(i.style, i.strength) for i in sink.infos]
    assert (
        styles
        == [("toon", None)] * 6 + [("thermal", None)] * 6 + [("sketch", None)] * 6 + [("sketch", 0.5)] * 6
    )
    assert sink.infos[12].prompt == "a pencil drawing of a city"
    for frame, info in zip(sink.frames, sink.infos, strict=True):
        expected = reference(frames[info.index], info.style, info.strength)
        assert np.array_equal(frame, expected), f"frame {info.index} is not {info.style}"


def test_stop_is_prompt_and_frees_everything(clean_exit):
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield scene_rgb(8)[i % 8]
                i += 1
        finally:
            closed.set()

    sink = Collector()
    engine = StreamEngine(model="neon")
    engine.start(IteratorSource(endless(), live=True), sink)
    deadline = time.monotonic() + 20
    while len(sink.infos) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(sink.infos) >= 10 and engine.running
    assert own_segments(), "the session's slots exist while streaming"
    t0 = time.perf_counter()
    engine.stop()
    took = time.perf_counter() - t0
    assert took < 1.0, f"stop() took {took:.2f} s"
    assert not engine.running and closed.is_set()
    assert engine._runtime is not None and not engine._runtime.alive
    # clean_exit checks threads and /dev/shm


def test_connects_to_a_running_runtime(tmp_path: Path, clean_exit):
    server = RuntimeServer(ServerConfig(endpoint="tcp://127.0.0.1:0", state_dir=tmp_path))
    server.publish()
    thread = threading.Thread(target=server.serve_forever, name="test-runtime", daemon=True)
    thread.start()
    try:
        frames = scene_rgb(6)
        sink = Collector()
        with StreamEngine(model="pixel_art", state_dir=tmp_path) as engine:
            engine.start(frames, sink)
            assert engine.wait(30)
            assert engine.stats()["runtime"]["frames_done"] == 6
        assert engine._runtime is None and thread.is_alive()  # the runtime is not ours to stop
        for frame, info in zip(sink.frames, sink.infos, strict=True):
            assert np.array_equal(frame, reference(frames[info.index], "pixel_art"))
    finally:
        server.stop()
        thread.join(5)


def test_a_failing_callback_stops_the_stream_and_is_raised(clean_exit):
    def broken(frame: np.ndarray, info: FrameInfo) -> None:
        raise KeyError("boom")

    engine = StreamEngine(model="toon")
    engine.start(scene_rgb(6), broken)
    with pytest.raises(KeyError, match="boom"):
        engine.wait(30)
    engine.stop()
    assert not engine.running


# --- errors a user meets --------------------------------------------------------------------


def test_no_camera_at_that_index(clean_exit):
    with pytest.raises(SourceError, match=r"^no camera at index 7\b.*give a video file instead"):
        StreamEngine(model="toon").start(7, Collector())


def test_missing_and_undecodable_files(tmp_path: Path, clean_exit):
    with pytest.raises(SourceError, match=r"cannot open video '.*nope\.mp4': no such file"):
        StreamEngine().start(tmp_path / "nope.mp4", Collector())
    junk = tmp_path / "junk.avi"
    junk.write_bytes(os.urandom(5000))
    with pytest.raises(SourceError, match=r"cannot read video '.*junk\.avi': OpenCV could not decode"):
        StreamEngine().start(junk, Collector())


def test_no_display_says_what_to_do_instead(monkeypatch: pytest.MonkeyPatch, clean_exit):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    engine = StreamEngine(model="toon")
    with pytest.raises(DisplayUnavailableError, match=r"no display.*output='out\.avi'.*on_frame callback"):
        engine.start(scene_rgb(4), on_frame=engine.render)
    assert not engine.running


def test_display_problem_names_a_gui_less_opencv():
    import cv2

    assert "DISPLAY" in display_problem(None, env={}, platform="linux")
    assert display_problem(None, env={"WAYLAND_DISPLAY": "wayland-0"}, platform="linux") == ""
    if "GUI:                           NONE" in cv2.getBuildInformation():
        assert "no GUI support" in display_problem(cv2, env={"DISPLAY": ":0"}, platform="linux")


def test_model_names_and_unavailable_diffusion(monkeypatch: pytest.MonkeyPatch, clean_exit):
    with pytest.raises(ModelUnavailableError, match="unknown model 'no-such-model'.*toon.*sd-turbo"):
        StreamEngine(model="no-such-model")
    assert StreamEngine(model="Neon").choice.style == "neon_edges"
    assert StreamEngine(model="sd-turbo").choice.backend == "diffusion"
    import lsd_runtime.backends as backends

    monkeypatch.setattr(backends, "available_backends", lambda: ["effects"])
    fix = r"pip install 'lsd-bridge\[diffusion\]'.*fallback='effects'"
    with pytest.raises(ModelUnavailableError, match=fix):
        StreamEngine(model="sd-turbo").start(scene_rgb(2), Collector())
    sink = Collector()
    with StreamEngine(model="sd-turbo", prompt="a thermal image", fallback="effects") as engine:
        engine.run(scene_rgb(3), sink)
    assert [i.style for i in sink.infos] == ["thermal"] * 3 and "diffusion" in engine.errors[0]


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match=r"either resolution=\(height, width\) or size"):
        StreamEngine(resolution=(720, 1280), size=(1280, 720))
    assert StreamEngine(resolution=(720, 1280)).model_size == (1280, 720)
    assert StreamEngine(size="1280x720").model_size == (1280, 720)
    with pytest.raises(ValueError, match="strength must be a number from 0 to 1"):
        StreamEngine().set_strength(2)
    with pytest.raises(ValueError, match="unknown style 'plaid'"):
        StreamEngine().set_style("plaid")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(StreamEngineError, match="sees no CUDA device; use device='cpu'"):
            StreamEngine(model="toon", device="cuda")
