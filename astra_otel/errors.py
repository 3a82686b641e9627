"""Errors raised by astra-otel."""

from __future__ import annotations

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
    """``setup()`` was called again with settings that differ from the first call."""

    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        super().__init__(
            "astra_otel.setup() was already called with different settings; "
            f"differing fields: {', '.join(fields)}. Call handle.shutdown() first to reconfigure."
        )
