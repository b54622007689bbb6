"""``StreamEngine``: frames from a source, restyled by the runtime, handed to sinks.

One background thread (the pump) moves frames: it takes the newest decoded frame, submits
it to the runtime with at most ``window`` frames unanswered, and hands each result to the
sinks in order. Style changes wait for the frames already in the runtime, so every frame is
restyled with exactly the style ``info.style`` names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .. import protocol
from ..backends.effects import EFFECTS
from ..client.runtime_client import FrameResult, RuntimeClient, RuntimeGone, RuntimeReplyError
from ..pipeline.latency import percentiles
from ..pipeline.planes import DepthPlane, MotionPlane
from .errors import ModelUnavailableError, StreamEngineError
from .frames import resolve_size, rgb_of
from .info import DroppedFrame, FrameInfo
from .model_choice import BackendChoice, check_backend_available, choose_backend
from .preview import PreviewWindow, check_display
from .reader import END, FrameReader, SourceFrame
from .runtime_link import InProcessRuntime, connect_client, resolve_device
from .sink_worker import SinkWorker
from .sinks import CallbackSink, Sink, VideoFileSink, VirtualCameraSink
from .sources import SourceInfo, open_source
from .style_state import StyleState, check_seed, check_strength

log = logging.getLogger("lsd_runtime.sdk")

DEFAULT_PROMPTS = (
    "a cartoon, cel shaded",
    "a pencil sketch",
    "a thermal camera",
    "neon cyberpunk city",
    "a watercolor painting",
    "night vision goggles",
    "8-bit pixel art",
    "a vintage photo",
)
STYLE_CYCLE = tuple(EFFECTS)
LATENCY_HISTORY = 2048  # latencies kept for stats(), not a protocol limit
LOAD_TIMEOUT_S = 600.0  # loading a diffusion model the first time can take minutes


class StreamEngine:
    """Restyle a live stream (webcam, video file, screen, numpy frames) through the runtime.

    ``model``: an effects style (``"toon"``, ``"thermal"``...; None = chosen from the prompt)
    or a diffusion model (``"sd-turbo"``, ``"sdxl-turbo"``, a hub id or a local folder).
    ``resolution=(height, width)`` (numpy order, as in the documented call) or
    ``size=(width, height)`` / ``size="WxH"``: the resolution the model works at; frames keep
    their own size in and out (the runtime resizes). Neither: the backend's choice.
    ``endpoint``/``state_dir``: connect to a running ``lsd-runtime serve``; neither: the runtime
    runs inside this process. ``fallback="effects"``: use effects when the diffusion model is
    unavailable (otherwise that is an error).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        prompt: str | None = None,
        strength: float | None = None,
        seed: int | None = None,
        device: str | None = None,
        fp16: bool = True,
        max_steps: int | None = None,
        resolution: tuple[int, int] | None = None,
        size: tuple[int, int] | str | None = None,
        endpoint: str | None = None,
        token: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        fallback: str | None = None,
        prompts: Iterable[str] | None = None,
        params: dict[str, Any] | None = None,
        window: int | None = None,
    ):
        if fallback not in (None, "effects"):
            raise ValueError(f"fallback must be None or 'effects', got {fallback!r}")
        if max_steps is not None and not (isinstance(max_steps, int) and 1 <= max_steps <= 8):
            raise ValueError(f"max_steps must be an integer from 1 to 8, got {max_steps!r}")
        if window not in (None, 1, 2):
            raise ValueError("window must be 1 or 2 (the runtime keeps one frame in flight, one queued)")
        self.choice: BackendChoice = choose_backend(model)
        self.model_size = resolve_size(resolution, size)
        self.fallback = fallback
        self.fp16 = fp16
        self.max_steps = max_steps
        self.window = window
        self.endpoint, self.token = endpoint, token
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._connect = endpoint is not None or state_dir is not None
        self.device = None if self._connect else resolve_device(device)
        self.prompts = list(prompts or DEFAULT_PROMPTS)
        extra = dict(params or {})
        if self.choice.backend == "diffusion" and max_steps is not None:
            extra.setdefault("steps", max_steps)
        wanted = StyleState(
            self.choice.backend, self.choice.style, None, check_strength(strength), check_seed(seed), extra
        )
        self._lock = threading.Lock()
        if prompt is not None:  # an explicit effects style wins over the prompt's words
            wanted = (
                dataclasses.replace(wanted, prompt=prompt)
                if wanted.style is not None
                else wanted.with_prompt(prompt)
            )
        self._wanted = wanted
        self._wanted_version = 1
        self._applied = self._wanted
        self._applied_version = 0
        self._prompt_index = -1
        self._stop = threading.Event()
        self._done = threading.Event()
        self._started = False
        self._runtime: InProcessRuntime | None = None
        self._client: RuntimeClient | None = None
        self._reader: FrameReader | None = None
        self._pump_thread: threading.Thread | None = None
        self._sinks: list[Sink] = []
        self._sink_worker: SinkWorker | None = None
        self._preview: PreviewWindow | None = None
        self._inflight: dict[int, tuple[SourceFrame, StyleState]] = {}
        self._unreported: list[DroppedFrame] = []
        self._bound: tuple[int, int] | None = None
        self._bound_planes: tuple[bool, bool] = (False, False)  # the session has motion, depth planes
        self._failure: BaseException | None = None
        self._failure_raised = False
        self._teardown_lock = threading.Lock()
        self._torn_down = False
        self.source_info: SourceInfo | None = None
        self.dropped_frames: list[DroppedFrame] = []
        self.errors: list[str] = []  # style changes the runtime refused mid-stream, and the like
        self.delivered = 0
        self.submitted = 0
        self._latencies: list[float] = []
        self._display_latencies: list[float] = []
        self._fps = 0.0
        self._last_delivery = 0.0
        self._runtime_stats: dict[str, Any] = {}

    # --- public API ------------------------------------------------------------------------

    def start(
        self,
        input_source: Any = 0,
        on_frame: Callable[[np.ndarray, FrameInfo], Any] | None = None,
        *,
        output: str | os.PathLike[str] | None = None,
        preview: bool = False,
        virtual_camera: bool = False,
        drop_stale: bool | None = None,
        max_frames: int | None = None,
        fps: float | None = None,
    ) -> StreamEngine:
        """Open the source and sinks, start the runtime and begin streaming (returns at once).

        ``on_frame(frame, info)`` gets each restyled RGB ``[H, W, 3]`` frame; pass
        ``engine.render`` for a preview window. ``output``: a video file to write. ``drop_stale``:
        skip frames the runtime could not keep up with (default: yes for cameras and the screen,
        no for files and iterators, which deliver every frame). Errors a user can fix (no camera,
        unreadable file, no display, model unavailable) raise ``StreamEngineError`` subclasses here.
        """
        if self._started:
            raise StreamEngineError("this engine was already started; create a new StreamEngine")
        self._started = True
        try:
            source = open_source(input_source, fps=fps)
            self._open_sinks(on_frame, output, preview, virtual_camera, fps)
            self.source_info = source.open()
            for sink in self._sinks:
                if isinstance(sink, VideoFileSink | VirtualCameraSink) and fps is None:
                    sink.fps = self.source_info.fps or sink.fps
            stale = self.source_info.live if drop_stale is None else drop_stale
            self._reader = FrameReader(source, max_frames=max_frames, drop_stale=stale)
            if self.window is None:
                # one frame unanswered. Every frame (files, iterators): the runtime's latest-frame-wins
                # queue may replace a queued frame even with two unanswered. Live sources: a frame queued
                # behind the one in flight waits a whole restyle before its own, so two unanswered double
                # the latency for no more frames (a 50 ms backend: p50 111 ms with two, 62 ms with one)
                self.window = 1
            self._open_runtime()
            self._apply_initial_style()
            threaded = [k for k in self._sinks if not self._on_pump_thread(k)]
            if threaded:
                self._sink_worker = SinkWorker(threaded, self._shown)
            self._reader.start()
            self._pump_thread = threading.Thread(target=self._pump, name="lsd-sdk-pump")
            self._pump_thread.start()
        except BaseException:
            if self._reader is not None and not self._reader.alive:
                self._reader.source.close()
            self._teardown()
            raise
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the source ends or the stream stops; True if it did. A failure in the
        stream (a sink or callback raising, the runtime going away) is raised here."""
        finished = self._done.wait(timeout) if self._started else True
        if finished:
            self._raise_failure()
        return finished

    def run(
        self,
        input_source: Any = 0,
        on_frame: Callable[[np.ndarray, FrameInfo], Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``start``, wait for the end of the source (or 'q' in the preview), ``stop``; returns
        ``stats()``."""
        self.start(input_source, on_frame, **kwargs)
        try:
            self.wait()
        finally:
            self.stop()
        return self.stats()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop streaming and free everything: threads joined, slots unmapped and unlinked, the
        in-process runtime shut down. Frames still in the runtime are reported dropped ("stopped")."""
        self._stop.set()
        thread = self._pump_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if thread is None or not thread.is_alive():
            self._teardown()
        self._raise_failure()

    @property
    def running(self) -> bool:
        return self._started and not self._done.is_set()

    def set_prompt(self, prompt: str) -> None:
        """Change the prompt; frames submitted after the change use it (effects: words pick the style)."""
        self._update(lambda s: s.with_prompt(prompt))

    def set_style(self, name: str) -> None:
        """Switch the effects style by name (or, on diffusion, the model)."""
        self._update(lambda s: s.with_style(name))

    def set_strength(self, strength: float) -> None:
        """0 = the input unchanged, 1 = fully restyled."""
        value = check_strength(strength)
        self._update(lambda s: dataclasses.replace(s, strength=value))

    def set_seed(self, seed: int) -> None:
        value = check_seed(seed)
        self._update(lambda s: dataclasses.replace(s, seed=value))

    def next_style(self, step: int = 1) -> None:
        """Cycle through the effects styles (diffusion: through ``prompts``)."""
        if self.style.backend != "effects":
            self.next_prompt(step)
            return
        current = self.style.style or self._applied.applied or STYLE_CYCLE[0]
        i = STYLE_CYCLE.index(current) if current in STYLE_CYCLE else -1
        self.set_style(STYLE_CYCLE[(i + step) % len(STYLE_CYCLE)])

    def next_prompt(self, step: int = 1) -> None:
        self._prompt_index = (self._prompt_index + step) % len(self.prompts)
        self.set_prompt(self.prompts[self._prompt_index])

    @property
    def style(self) -> StyleState:
        """The style last asked for (``info.style`` says what each frame got)."""
        with self._lock:
            return self._wanted

    def render(self, frame: np.ndarray, info: FrameInfo) -> None:
        """An ``on_frame`` sink that shows frames in a window with FPS and latency; keys: n/b next or
        previous style, p next prompt, +/- strength, q or Esc quit."""
        if self._preview is None:
            self._preview = PreviewWindow(on_key=self._on_key)
        self._preview.show(frame, info)

    def stats(self) -> dict[str, Any]:
        reasons = Counter(d.reason for d in self.dropped_frames)
        p50, p99 = percentiles(self._latencies[-1024:])
        d50, d99 = percentiles(self._display_latencies[-1024:])
        runtime = self._runtime_stats
        client = self._client
        if client is not None and not self._torn_down:
            with contextlib.suppress(TimeoutError, RuntimeGone, RuntimeReplyError):
                runtime = client.stats()
        return {
            "running": self.running,
            "frames_read": self._reader.frames_read if self._reader else 0,
            "submitted": self.submitted,
            "delivered": self.delivered,
            "dropped": len(self.dropped_frames),
            "dropped_by_reason": dict(reasons),
            "fps": round(self._fps, 2),
            "latency_ms": {"p50": p50, "p99": p99},
            "display_latency_ms": {"p50": d50, "p99": d99},
            "backend": self._applied.backend,
            "style": self._applied.applied,
            "prompt": self._applied.prompt,
            "runtime": runtime,
        }

    def __enter__(self) -> StreamEngine:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is not None:
            self._failure_raised = True  # do not mask the exception already on its way
        self.stop()

    # --- setting up ------------------------------------------------------------------------

    def _open_sinks(
        self,
        on_frame: Callable[[np.ndarray, FrameInfo], Any] | None,
        output: str | os.PathLike[str] | None,
        preview: bool,
        virtual_camera: bool,
        fps: float | None,
    ) -> None:
        wants_window = preview or (on_frame is not None and on_frame == self.render)
        if wants_window:
            check_display()
        if output is not None:
            self._sinks.append(VideoFileSink(output, fps=fps))
        if virtual_camera:
            self._sinks.append(VirtualCameraSink(fps=fps))
        if preview and on_frame != self.render:
            self._sinks.append(CallbackSink(self.render))
        if on_frame is not None:
            self._sinks.append(CallbackSink(on_frame))

    def _open_runtime(self) -> None:
        if self._connect:
            self._client = connect_client(self.endpoint, self.token, self.state_dir)
            available = list(self._client.welcome.get("backends", []))
        else:
            from ..backends import available_backends

            assert self.device is not None
            if self.choice.backend == "diffusion" and "diffusion" in available_backends():
                self._configure_diffusion()
            self._runtime = InProcessRuntime(self.device)
            self._client = connect_client(self._runtime.endpoint, self._runtime.token, None)
            available = available_backends()
        try:
            check_backend_available(self.choice, available)
        except ModelUnavailableError as exc:
            if self.fallback != "effects":
                raise
            self._fall_back(str(exc))

    def _configure_diffusion(self) -> None:
        """In-process runtime: fp16 is a process-wide diffusion default, not a per-session field."""
        from ..backends.diffusion.config import default_config, set_default_config

        if default_config().fp16 != self.fp16:
            set_default_config(default_config().with_params(fp16=self.fp16))

    def _fall_back(self, why: str) -> None:
        log.warning("%s; falling back to the effects backend (fallback='effects')", why)
        self.errors.append(why)
        with self._lock:
            prompt = self._wanted.prompt
            state = StyleState("effects", None, None, self._wanted.strength, self._wanted.seed)
            self._wanted = state.with_prompt(prompt) if prompt else state
            self._wanted_version += 1
        self.choice = BackendChoice("effects", None)

    def _apply_initial_style(self) -> None:
        assert self._client is not None
        try:
            self._apply_style(raise_errors=True, timeout=LOAD_TIMEOUT_S)
        except RuntimeReplyError as exc:
            if self.choice.backend != "diffusion":
                raise StreamEngineError(f"the runtime refused the style: {exc.message}") from None
            why = f"cannot load model '{self.choice.style or 'diffusion'}': {exc.message}"
            if self.fallback != "effects":
                raise ModelUnavailableError(
                    why + " (or pass fallback='effects' to use effects instead)"
                ) from None
            self._fall_back(why)
            self._apply_style(raise_errors=True, timeout=LOAD_TIMEOUT_S)

    # --- the pump thread -----------------------------------------------------------------

    def _pump(self) -> None:
        reader, client, window = self._reader, self._client, self.window
        assert reader is not None and client is not None and window is not None
        try:
            while not self._stop.is_set():
                self._apply_style()
                if len(self._inflight) < window:
                    item = reader.get(timeout=0.005 if self._inflight else 0.05)
                    if item is END:
                        self._drain()
                        break
                    if isinstance(item, SourceFrame):
                        self._submit(item)
                self._collect(block=len(self._inflight) >= window)
        except BaseException as exc:
            self._failure = exc
            log.error("the stream stopped: %s", exc)
        finally:
            self._teardown()

    def _submit(self, frame: SourceFrame) -> None:
        assert self._client is not None and self._reader is not None
        self._note_drops(self._reader.take_stale(), "stale")
        h, w = frame.rgba.shape[:2]
        # planes travel in shared memory; a session over inline messages sends colour only
        planes = self._client.transport == "shm"
        with_motion, with_depth = planes and frame.motion is not None, planes and frame.depth is not None
        layout = (w, h, with_motion or self._bound_planes[0], with_depth or self._bound_planes[1])
        if self._bound != layout[:2] or layout[2:] != self._bound_planes:
            self._drain()
            self._client.bind(
                w,
                h,
                "rgba8",
                model_size=self.model_size,
                motion=MotionPlane("rg32f") if layout[2] else None,
                depth=DepthPlane("r32f") if layout[3] else None,
            )
            self._bound, self._bound_planes = (w, h), (layout[2], layout[3])
        fid = self._client.submit(
            frame.rgba,
            capture_time=frame.capture_time,
            wait=self._client.timeout,
            motion=frame.motion if with_motion else None,
            depth=frame.depth if with_depth else None,
            flags=protocol.FLAG_RESET if frame.camera_cut else 0,
        )
        self.submitted += 1
        if fid is None:
            self._note_drops([frame.index], "no_input_slot")
            return
        self._inflight[fid] = (frame, self._applied)

    def _collect(self, block: bool) -> None:
        assert self._client is not None
        if block:
            try:
                self._deliver(self._client.receive(timeout=0.05))
            except TimeoutError:
                return
        for result in self._client.poll_results():
            self._deliver(result)

    def _drain(self) -> None:
        """Wait for every frame in the runtime (unless stopping)."""
        assert self._client is not None
        while self._inflight and not self._stop.is_set():
            self._collect(block=True)

    def _deliver(self, result: FrameResult) -> None:
        entry = self._inflight.pop(result.frame_id, None)
        if entry is None:
            return
        frame, state = entry
        if result.image is None:
            self._note_drops([frame.index], result.dropped or "dropped")
            return
        now = time.perf_counter()
        if self._last_delivery:
            rate = 1.0 / max(now - self._last_delivery, 1e-6)
            self._fps = rate if self._fps == 0.0 else 0.9 * self._fps + 0.1 * rate
        self._last_delivery = now
        latency = (now - frame.captured_at) * 1e3
        self._latencies.append(latency)
        if len(self._latencies) > 2 * LATENCY_HISTORY:
            del self._latencies[:LATENCY_HISTORY]
        dropped, self._unreported = tuple(self._unreported), []
        info = FrameInfo(
            index=frame.index,
            frame_id=result.frame_id,
            input=rgb_of(frame.rgba),
            backend=state.backend,
            style=state.applied,
            prompt=state.prompt,
            strength=state.strength,
            seed=state.seed,
            latency_ms=latency,
            fps=self._fps,
            timings=dict(result.timings),
            dropped=dropped,
            capture_time=frame.capture_time,
            source_fps=self.source_info.fps if self.source_info else None,
            display_latency_ms=self._display_latencies[-1] if self._display_latencies else None,
        )
        self.delivered += 1
        image = rgb_of(result.image)
        for sink in self._sinks:
            if self._on_pump_thread(sink):
                sink.write(image, info)
        if self._sink_worker is not None:
            # files, cameras and the preview window on their own thread: encoding or drawing this
            # frame overlaps the next restyle
            self._sink_worker.put(image, info, frame.captured_at, self._stop)
        else:
            self._shown((time.perf_counter() - frame.captured_at) * 1e3)

    def _on_pump_thread(self, sink: Sink) -> bool:
        """A user's ``on_frame`` runs on the pump thread, before the next frame is submitted, so a
        style it changes applies from the very next frame (the preview window is not one)."""
        return isinstance(sink, CallbackSink) and sink.fn != self.render

    def _shown(self, ms: float) -> None:
        """Capture → every sink done with the frame (a preview window: on screen); the sink thread."""
        self._display_latencies.append(ms)
        if len(self._display_latencies) > 2 * LATENCY_HISTORY:
            del self._display_latencies[:LATENCY_HISTORY]

    def _note_drops(self, indices: list[int], reason: str) -> None:
        drops = [DroppedFrame(i, reason) for i in indices]
        self.dropped_frames.extend(drops)
        self._unreported.extend(drops)

    def _update(self, change: Callable[[StyleState], StyleState]) -> None:
        with self._lock:
            self._wanted = change(self._wanted)
            self._wanted_version += 1

    def _apply_style(self, raise_errors: bool = False, timeout: float | None = None) -> None:
        """Send the wanted style if it changed, after the frames in flight came back."""
        with self._lock:
            wanted, version = self._wanted, self._wanted_version
        if version == self._applied_version:
            return
        assert self._client is not None
        self._drain()
        if self._stop.is_set():
            return
        try:
            reply = self._client.set_style(**wanted.request(), timeout=timeout)
        except RuntimeReplyError as exc:
            if raise_errors:
                raise
            message = f"style change refused, keeping '{self._applied.applied}': {exc.message}"
            log.warning(message)
            self.errors.append(message)
            self._applied_version = version
            with self._lock:
                if self._wanted_version == version:
                    self._wanted = self._applied
            return
        self._applied = dataclasses.replace(wanted, backend=reply["backend"], applied=reply["style"])
        self._applied_version = version

    def _on_key(self, key: str) -> None:
        if key in ("q", "\x1b"):
            self._stop.set()
        elif key == "n":
            self.next_style(1)
        elif key == "b":
            self.next_style(-1)
        elif key == "p":
            self.next_prompt()
        elif key in ("+", "=", "-"):
            current = self.style.strength if self.style.strength is not None else 1.0
            self.set_strength(round(min(1.0, max(0.0, current + (0.1 if key != "-" else -0.1))), 2))

    # --- tearing down ----------------------------------------------------------------------

    def _teardown(self) -> None:
        with self._teardown_lock:
            if self._torn_down:
                return
            self._torn_down = True
        try:
            for frame, _ in self._inflight.values():
                self._note_drops([frame.index], "stopped")
            self._inflight.clear()
            if self._reader is not None:
                self._reader.stop()
            if self._sink_worker is not None:
                # a sink still busy after the timeout keeps its files open: closing them under it is unsafe
                self._sink_worker.close(finish=self._close_sinks)
                self._failure = self._failure or self._sink_worker.error
            else:
                self._close_sinks()
            if self._client is not None:
                with contextlib.suppress(TimeoutError, RuntimeGone, RuntimeReplyError):
                    self._runtime_stats = self._client.stats() if not self._stop.is_set() else {}
                self._client.close()
            if self._runtime is not None:
                self._runtime.stop()
        finally:
            self._done.set()

    def _close_sinks(self) -> None:
        closing: list[Sink | PreviewWindow] = [*self._sinks, *([self._preview] if self._preview else [])]
        for sink in closing:
            try:
                sink.close()
            except Exception as exc:  # one sink failing to close must not keep the rest open
                self._failure = self._failure or exc

    def _raise_failure(self) -> None:
        if self._failure is not None and not self._failure_raised:
            self._failure_raised = True
            raise self._failure
