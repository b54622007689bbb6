"""Errors a user of the SDK can act on: each message says what went wrong and how to fix it."""

from __future__ import annotations


class StreamEngineError(Exception):
    """Base class: a problem with the user's input, machine or set-up (not a bug)."""


class SourceError(StreamEngineError):
    """The input (camera, video file, screen, iterator) cannot be opened or read."""


class SinkError(StreamEngineError):
    """An output (video file, virtual camera, callback) cannot be written."""


class DisplayUnavailableError(SinkError):
    """A preview window was asked for where no window can open (headless machine, GUI-less OpenCV)."""


class ModelUnavailableError(StreamEngineError):
    """The model or backend asked for is not installed or not available offline."""


class MissingDependencyError(StreamEngineError):
    """An optional package the requested feature needs is not installed."""
