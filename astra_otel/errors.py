"""Errors raised by astra-otel."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["AstraOtelError", "ConfigError", "SettingsConflictError"]


class AstraOtelError(Exception):
    """Base class for every error astra-otel raises on purpose."""


class ConfigError(AstraOtelError, ValueError):
    """A setting has a value astra-otel cannot use.

    The message names the argument or environment variable, the value given and what is
    accepted, e.g. ``OTEL_TRACES_SAMPLER_ARG='1.5': expected a number in [0, 1]``.
    """

    def __init__(self, source: str, value: object, expected: str) -> None:
        self.source = source
        self.value = value
        self.expected = expected
        super().__init__(f"{source}={value!r}: expected {expected}")


class SettingsConflictError(AstraOtelError):
    """``setup()`` was called again with settings that differ from the first call.

    ``changes`` maps each differing argument (``service_name``, ``traces.endpoint`` for
    ``TracesOptions.endpoint``; the variable for an environment-only setting) to its
    ``(old, new)`` values; ``fields`` lists those names.
    """

    def __init__(self, changes: Mapping[str, tuple[object, object]]) -> None:
        self.changes = dict(changes)
        self.fields = list(changes)
        listed = "; ".join(f"{name}: {old!r} -> {new!r}" for name, (old, new) in changes.items())
        super().__init__(
            "astra_otel.setup() was already called with different settings "
            f"({listed}). Call handle.shutdown() first to reconfigure."
        )
