"""astra_otel.testing: in-memory capture for users' tests, reset, and the OTLP sink."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import metrics, trace

import astra_otel
from astra_otel.testing import OtlpHttpSink, capture_telemetry, reset


def test_capture_collects_spans_logs_and_metrics() -> None:
    """Inside capture_telemetry spans, log records and metrics are readable in memory."""
    with capture_telemetry(service_name="user-svc") as cap:
        with trace.get_tracer("t").start_as_current_span("checkout"):
            logging.getLogger("shop").warning("paid")
        metrics.get_meter("m").create_counter("orders").add(3)
        assert [s.name for s in cap.spans()] == ["checkout"]
        assert [r.log_record.body for r in cap.logs()] == ["paid"]
        assert cap.metric("orders").data.data_points[0].value == 3  # type: ignore[union-attr]
        assert cap.spans()[0].resource.attributes["service.name"] == "user-svc"


def test_clear_forgets_spans_and_logs() -> None:
    """Capture.clear() empties captured spans and logs."""
    with capture_telemetry(service_name="c") as cap:
        trace.get_tracer("t").start_span("one").end()
        logging.getLogger("x").warning("one")
        cap.clear()
        assert cap.spans() == []
        assert cap.logs() == []


def test_capture_ignores_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """capture_telemetry resolves settings from an empty environment unless given one."""
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    with capture_telemetry() as cap:
        assert cap.telemetry.settings.service_name == "unknown_service"
    with capture_telemetry(environ={"OTEL_SERVICE_NAME": "given"}) as cap:
        assert cap.telemetry.settings.service_name == "given"


def test_reset_uninstalls_everything() -> None:
    """reset() shuts the live setup down and leaves the API unset (no-op spans)."""
    with capture_telemetry(service_name="r"):
        pass
    astra_otel.setup(service_name="r2", endpoint="http://127.0.0.1:9", export_timeout=0.1)
    reset()
    assert not trace.get_tracer("t").start_span("s").is_recording()


def test_otlp_sink_receives_what_setup_exports() -> None:
    """OtlpHttpSink decodes spans, logs and metrics sent by setup() over OTLP/HTTP."""
    with OtlpHttpSink() as sink:
        handle = astra_otel.setup(service_name="sink", endpoint=sink.endpoint)
        try:
            with trace.get_tracer("t").start_as_current_span("sent"):
                logging.getLogger("app").warning("logged")
            assert handle.shutdown(5.0)
        finally:
            reset()
        assert sink.span_names() == ["sent"]
        assert sink.log_bodies() == ["logged"]
        assert "astra.telemetry.exported" in sink.metric_names()
