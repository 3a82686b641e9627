"""Errors of the local stack: each message is one line naming the problem and the fix."""

from __future__ import annotations

from astra_otel.errors import AstraOtelError

__all__ = ["StackError"]


class StackError(AstraOtelError):
    """An expected failure of ``astra-otel stack ...`` (port in use, bad config, build)."""
