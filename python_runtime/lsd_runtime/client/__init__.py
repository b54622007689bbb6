"""The Python client of the runtime (used by the SDK, the demo, the bench and the tests)."""

from .runtime_client import FrameResult, RuntimeClient, RuntimeGone, RuntimeReplyError

__all__ = ["FrameResult", "RuntimeClient", "RuntimeGone", "RuntimeReplyError"]
