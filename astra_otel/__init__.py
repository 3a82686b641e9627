"""astra-otel: one ``setup()`` call wires traces, metrics and logs through OpenTelemetry."""

from __future__ import annotations

from astra_otel.errors import AstraOtelError, ConfigError, SettingsConflictError

__all__ = ["AstraOtelError", "ConfigError", "SettingsConflictError"]
