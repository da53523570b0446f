"""The errors a user can meet, each able to say what to do next.

Every layer raises these; the CLI prints ``str(error)`` on one line and the API
maps them onto its own error shapes. None of them carries a traceback worth
showing to a user.
"""

from __future__ import annotations

from typing import Any

EXCERPT_CHARS = 60  # of a value quoted back in a message: enough to recognise it by


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """``repr(value)``, or for a long value its first ``limit`` characters and its length:
    a message quotes what it refuses, and a 50 MB prompt must not come back whole."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


class CinegenError(Exception):
    """Base class: the message is written for the person who made the request."""


class SpecError(CinegenError, ValueError):
    """A request field that cannot be served, named with its value (a long one cut to an
    excerpt) and what is allowed.

    ``field`` uses the request's own names (``width``, ``inpaint_items.0.frame_index``)
    so that the CLI and both HTTP dialects can point at the exact input.
    """

    def __init__(self, field: str, message: str, *, value: Any = None, allowed: str | None = None):
        self.field = field
        self.message = message
        self.value = value
        self.allowed = allowed
        text = f"{field}: {message}"
        if value is not None:
            text += f" (got {excerpt(value)})"
        if allowed:
            text += f"; allowed: {allowed}"
        super().__init__(text)


class ModelLoadError(CinegenError):
    """Weights could not be loaded; the message names the model and where it looked."""


class Cancelled(CinegenError):
    """The caller asked to stop; raised between denoising steps, never mid-write."""

    def __init__(self, message: str = "generation cancelled") -> None:
        super().__init__(message)
