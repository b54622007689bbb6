"""The Python SDK: ``StreamEngine`` restyles a webcam, video file, screen or numpy frames
through the runtime and hands the result to a window, a video file, a virtual camera or a
callback.

```python
from lsd_runtime import StreamEngine

engine = StreamEngine(model="toon", resolution=(360, 640))   # (height, width)
engine.start(input_source=0, on_frame=engine.render)          # webcam 0 in a window
```
"""

from __future__ import annotations

from .engine import StreamEngine
from .errors import (
    DisplayUnavailableError,
    MissingDependencyError,
    ModelUnavailableError,
    SinkError,
    SourceError,
    StreamEngineError,
)
from .frames import EngineFrame
from .info import DroppedFrame, FrameInfo
from .sinks import CallbackSink, Sink, VideoFileSink, VirtualCameraSink
from .sources import CameraSource, FrameSource, IteratorSource, ScreenSource, SourceInfo, VideoFileSource

__all__ = [
    "CallbackSink",
    "CameraSource",
    "DisplayUnavailableError",
    "DroppedFrame",
    "EngineFrame",
    "FrameInfo",
    "FrameSource",
    "IteratorSource",
    "MissingDependencyError",
    "ModelUnavailableError",
    "ScreenSource",
    "Sink",
    "SinkError",
    "SourceError",
    "SourceInfo",
    "StreamEngine",
    "StreamEngineError",
    "VideoFileSink",
    "VideoFileSource",
    "VirtualCameraSink",
]
