"""Errors of the local stack: each message is one line naming the problem and the fix."""

from __future__ import annotations

from astra_otel.errors import AstraOtelError

__all__ = ["PortInUseError", "StackError"]


class StackError(AstraOtelError):
    """An expected failure of ``astra-otel stack ...`` (port in use, bad config, build)."""


class PortInUseError(StackError):
    """A port a component needs is taken: found before the start, or the component could
    not bind it. Callers that choose the ports (test sessions) try other ones."""
