"""Structured log events: event name, typed attributes, emitted synchronously in the span."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from astra_otel.catalogue import (
    log_anomaly,
    log_circuit_breaker_transition,
    log_error,
    log_performance,
    log_recovery_action,
    log_request,
    log_retry,
)
from astra_otel.catalogue.events import EVENT_NAME_KEY, EVENT_NAMES, LOGGER_NAME
from astra_otel.testing import capture_telemetry


class _Capture(logging.Handler):
    """Keeps each record and the span context that was current when it was emitted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[logging.LogRecord, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record, trace.get_current_span().get_span_context().span_id))


@pytest.fixture
def capture() -> Iterator[_Capture]:
    """A handler on the root logger at INFO, as setup()'s bridge is, removed afterwards."""
    handler = _Capture()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


def _boom() -> ValueError:
    try:
        raise ValueError("bad reading")
    except ValueError as exc:
        return exc


EVENTS: list[tuple[Callable[[], None], str, int, dict[str, object]]] = [
    (
        lambda: log_request("GET", "/api/v1/analyze/{satellite_id}", 200, 0.012),
        "astra.request",
        logging.INFO,
        {
            "http.request.method": "GET",
            "http.response.status_code": 200,
            "astra.duration.seconds": 0.012,
        },
    ),
    (
        lambda: log_error(_boom(), "/api/v1/analyze/{satellite_id}"),
        "astra.error",
        logging.ERROR,
        {
            "error.type": "ValueError",
            "http.route": "/api/v1/analyze/{satellite_id}",
            "astra.error.handled": True,
        },
    ),
    (
        lambda: log_anomaly("critical", 0.97, "iforest", "sat-1"),
        "astra.anomaly.detected",
        logging.ERROR,
        {"astra.anomaly.severity": "critical", "astra.anomaly.score": 0.97},
    ),
    (
        lambda: log_circuit_breaker_transition("detector", "closed", "open", "5 failures"),
        "astra.circuit_breaker.transition",
        logging.WARNING,
        {"astra.circuit_breaker.from_state": "closed", "astra.circuit_breaker.to_state": "open"},
    ),
    (
        lambda: log_retry("fetch", 2, "failure", 0.1, "TimeoutError"),
        "astra.retry",
        logging.WARNING,
        {
            "astra.retry.attempt": 2,
            "astra.retry.outcome": "failure",
            "astra.retry.delay.seconds": 0.1,
        },
    ),
    (
        lambda: log_recovery_action("restart", "success", 0.5),
        "astra.recovery.action",
        logging.INFO,
        {"astra.recovery.action": "restart", "astra.recovery.outcome": "success"},
    ),
    (
        lambda: log_performance("detect", 0.02, batch=16),
        "astra.performance",
        logging.INFO,
        {"astra.performance.operation": "detect", "astra.performance.batch": 16},
    ),
]


@pytest.mark.parametrize(("emit", "event", "level", "attrs"), EVENTS, ids=[e[1] for e in EVENTS])
def test_event_has_name_level_and_typed_attributes(
    capture: _Capture, emit: Callable[[], None], event: str, level: int, attrs: dict[str, object]
) -> None:
    """Each log_* function logs one record with its event name, level and typed attributes."""
    emit()
    ((record, _),) = [r for r in capture.records if r[0].name == LOGGER_NAME]
    assert getattr(record, EVENT_NAME_KEY) == event
    assert record.levelno == level
    for key, value in attrs.items():
        assert getattr(record, key) == value
        assert type(getattr(record, key)) is type(value)


def test_every_event_name_is_covered() -> None:
    """The test table covers every declared event name."""
    assert sorted(e[1] for e in EVENTS) == sorted(EVENT_NAMES)


def test_event_is_emitted_in_the_callers_span(capture: _Capture) -> None:
    """The record is handled synchronously while the caller's span is current."""
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work") as span:
        log_anomaly("low", 0.2, "iforest", "sat-2")
    ((_, span_id),) = [r for r in capture.records if r[0].name == LOGGER_NAME]
    assert span_id == span.get_span_context().span_id


def test_error_event_carries_the_exception(capture: _Capture) -> None:
    """log_error attaches exc_info so the bridge exports the exception type and stack trace."""
    log_error(_boom(), "/x")
    ((record, _),) = capture.records
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    assert record.pathname == __file__, "code.* attributes point at the caller"


def test_setup_lets_info_events_pass_a_warning_root_logger() -> None:
    """Under setup(), INFO events are exported although the root logger was at WARNING."""
    root = logging.getLogger()
    old = root.level
    root.setLevel(logging.WARNING)
    try:
        with capture_telemetry() as cap:
            log_request("GET", "/x", 200, 0.001)
            names = [(r.log_record.attributes or {}).get(EVENT_NAME_KEY) for r in cap.logs()]
    finally:
        root.setLevel(old)
    assert names == ["astra.request"]


def test_importing_the_events_sets_no_logger_level() -> None:
    """The events logger is left at NOTSET: levels are the application's (or setup()'s)."""
    assert logging.getLogger(LOGGER_NAME).level == logging.NOTSET
