"""The AstraGuard telemetry catalogue: metrics, span helpers, log events, cardinality guard.

Built on the OpenTelemetry API only; ``astra_otel.setup()`` wires the SDK behind it. The
metric table is :data:`~astra_otel.catalogue.instruments.SPECS` (rendered in
``docs/catalogue.md``).
"""

from __future__ import annotations

from astra_otel.catalogue.events import (
    log_anomaly,
    log_circuit_breaker_transition,
    log_error,
    log_performance,
    log_recovery_action,
    log_request,
    log_retry,
)
from astra_otel.catalogue.guard import OVERFLOW_VALUE, CardinalityGuard
from astra_otel.catalogue.instruments import SPECS, InstrumentKind, InstrumentSpec, prometheus_name
from astra_otel.catalogue.metrics import Catalogue, get_catalogue, set_catalogue
from astra_otel.catalogue.spans import (
    Operation,
    anomaly_detection,
    chaos_injection,
    circuit_breaker_call,
    dependency_call,
    memory_engine_operation,
    model_inference,
    recovery_action,
    retry_attempt,
)

__all__ = [
    "OVERFLOW_VALUE",
    "SPECS",
    "CardinalityGuard",
    "Catalogue",
    "InstrumentKind",
    "InstrumentSpec",
    "Operation",
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
    "prometheus_name",
    "recovery_action",
    "retry_attempt",
    "set_catalogue",
]
