"""Structured log events: stdlib log records with an event name and typed attributes.

Each function logs one record on the ``astra_otel.events`` logger with ``extra`` holding
``event.name`` (:data:`EVENT_NAME_KEY`) and the event's typed attributes. The logging
bridge that ``astra_otel.setup()`` installs on the root logger turns the record into an
OpenTelemetry log record correlated with the active span (trace and span id) and exports it
over OTLP, once. Without ``setup()`` the records go wherever stdlib logging sends them.
Attribute values are str, bool, int or float; nothing secret belongs in them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry.util.types import AttributeValue

from astra_otel.catalogue import instruments as ins

__all__ = [
    "EVENT_NAMES",
    "EVENT_NAME_KEY",
    "LOGGER_NAME",
    "log_anomaly",
    "log_circuit_breaker_transition",
    "log_error",
    "log_performance",
    "log_recovery_action",
    "log_request",
    "log_retry",
]

LOGGER_NAME = "astra_otel.events"
EVENT_NAME_KEY = "event.name"
EVENT_NAMES = (
    "astra.request",
    "astra.error",
    "astra.anomaly.detected",
    "astra.circuit_breaker.transition",
    "astra.retry",
    "astra.recovery.action",
    "astra.performance",
)

_logger = logging.getLogger(LOGGER_NAME)

_SEVERITY_LEVEL = {
    "low": logging.INFO,
    "medium": logging.INFO,
    "high": logging.WARNING,
    "critical": logging.ERROR,
}


def _emit(
    level: int,
    event: str,
    message: str,
    attributes: Mapping[str, AttributeValue],
    exc: BaseException | None = None,
) -> None:
    if not _logger.isEnabledFor(level):
        return
    extra: dict[str, object] = {EVENT_NAME_KEY: event}
    extra.update(attributes)
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    # stacklevel 3: code.* attributes point at the caller of log_*, not at this module.
    _logger.log(level, message, extra=extra, exc_info=exc_info, stacklevel=3)


def log_request(method: str, route: str, status_code: int, duration_s: float) -> None:
    """One handled HTTP request (route template, not the raw path)."""
    _emit(
        logging.INFO,
        "astra.request",
        f"{method} {route} -> {status_code} in {duration_s * 1000:.1f} ms",
        {
            "http.request.method": method,
            ins.HTTP_ROUTE: route,
            "http.response.status_code": status_code,
            "astra.duration.seconds": duration_s,
        },
    )


def log_error(exc: BaseException, route: str, *, handled: bool = True) -> None:
    """An error the application handled (or not); includes the exception's stack trace."""
    _emit(
        logging.ERROR,
        "astra.error",
        f"{type(exc).__name__} on {route}: {exc}",
        {
            ins.ERROR_TYPE: type(exc).__qualname__,
            ins.HTTP_ROUTE: route,
            "astra.error.handled": handled,
        },
        exc,
    )


def log_anomaly(severity: str, score: float, model: str, source: str) -> None:
    """An anomaly detection: severity (low, medium, high, critical), score in [0, 1]."""
    _emit(
        _SEVERITY_LEVEL.get(severity, logging.WARNING),
        "astra.anomaly.detected",
        f"{severity} anomaly from {source} (score {score:.2f}, model {model})",
        {
            ins.ANOMALY_SEVERITY: severity,
            "astra.anomaly.score": score,
            ins.ANOMALY_MODEL: model,
            "astra.anomaly.source": source,
        },
    )


def log_circuit_breaker_transition(name: str, from_state: str, to_state: str, reason: str) -> None:
    """A circuit breaker changed state."""
    _emit(
        logging.WARNING if to_state == "open" else logging.INFO,
        "astra.circuit_breaker.transition",
        f"circuit breaker {name}: {from_state} -> {to_state} ({reason})",
        {ins.CB_NAME: name, ins.CB_FROM: from_state, ins.CB_TO: to_state, "astra.reason": reason},
    )


def log_retry(operation: str, attempt: int, outcome: str, delay_s: float, error_type: str) -> None:
    """An attempt of a retried operation failed (or the retries were exhausted)."""
    _emit(
        logging.ERROR if outcome == "exhausted" else logging.WARNING,
        "astra.retry",
        f"{operation} attempt {attempt}: {outcome} ({error_type}), next delay {delay_s:.3f} s",
        {
            ins.RETRY_OPERATION: operation,
            "astra.retry.attempt": attempt,
            ins.RETRY_OUTCOME: outcome,
            "astra.retry.delay.seconds": delay_s,
            ins.ERROR_TYPE: error_type,
        },
    )


def log_recovery_action(action: str, outcome: str, duration_s: float) -> None:
    """A recovery action ran."""
    _emit(
        logging.INFO if outcome == "success" else logging.WARNING,
        "astra.recovery.action",
        f"recovery action {action}: {outcome} in {duration_s * 1000:.1f} ms",
        {
            ins.RECOVERY_ACTION: action,
            ins.RECOVERY_OUTCOME: outcome,
            "astra.duration.seconds": duration_s,
        },
    )


def log_performance(operation: str, duration_s: float, **measurements: float | int) -> None:
    """A performance measurement of ``operation``; extra measurements become
    ``astra.performance.<name>`` attributes."""
    attrs: dict[str, AttributeValue] = {
        "astra.performance.operation": operation,
        "astra.duration.seconds": duration_s,
    }
    for key, value in measurements.items():
        attrs[f"astra.performance.{key}"] = value
    _emit(
        logging.INFO,
        "astra.performance",
        f"{operation} took {duration_s * 1000:.1f} ms",
        attrs,
    )
