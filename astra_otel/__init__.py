"""astra-otel: one ``setup()`` call wires traces, metrics and logs through OpenTelemetry."""

from __future__ import annotations

from astra_otel._internal.settings import (
    InstrumentationOptions,
    LogsOptions,
    MetricsOptions,
    Settings,
    TracesOptions,
)
from astra_otel._internal.setup import setup
from astra_otel._internal.telemetry import Health, SignalHealth, Telemetry
from astra_otel.errors import AstraOtelError, ConfigError, SettingsConflictError

__all__ = [
    "AstraOtelError",
    "ConfigError",
    "Health",
    "InstrumentationOptions",
    "LogsOptions",
    "MetricsOptions",
    "Settings",
    "SettingsConflictError",
    "SignalHealth",
    "Telemetry",
    "TracesOptions",
    "setup",
]
