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
from astra_otel.catalogue import (
    Catalogue,
    anomaly_detection,
    chaos_injection,
    circuit_breaker_call,
    dependency_call,
    get_catalogue,
    log_anomaly,
    log_circuit_breaker_transition,
    log_error,
    log_performance,
    log_recovery_action,
    log_request,
    log_retry,
    memory_engine_operation,
    model_inference,
    recovery_action,
    retry_attempt,
)
from astra_otel.errors import AstraOtelError, ConfigError, SettingsConflictError

__all__ = [
    "AstraOtelError",
    "Catalogue",
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
    "anomaly_detection",
    "chaos_injection",
    "circuit_breaker_call",
    "dependency_call",
    "get_catalogue",
    "log_anomaly",
    "log_circuit_breaker_transition",
    "log_error",
    "log_performance",
    "log_recovery_action",
    "log_request",
    "log_retry",
    "memory_engine_operation",
    "model_inference",
    "recovery_action",
    "retry_attempt",
    "setup",
]
