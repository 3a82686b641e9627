"""Metrics: cumulative temporality, seconds buckets, exemplars, self-metrics names."""

from __future__ import annotations

import socket

import pytest
import requests
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics.export import AggregationTemporality, HistogramDataPoint

from astra_otel import MetricsOptions
from astra_otel.catalogue.instruments import DURATION_BUCKETS_S
from astra_otel.testing import capture_telemetry


def test_counters_are_cumulative() -> None:
    """Two collections of a counter report the running total (cumulative temporality)."""
    with capture_telemetry(service_name="m") as cap:
        counter = metrics.get_meter("app").create_counter("orders", unit="{order}")
        counter.add(2)
        assert cap.metric("orders").data.data_points[0].value == 2  # type: ignore[union-attr]
        counter.add(3)
        data = cap.metric("orders").data
        assert data.data_points[0].value == 5  # type: ignore[union-attr]
        assert data.aggregation_temporality == AggregationTemporality.CUMULATIVE  # type: ignore[union-attr]


def test_seconds_histograms_use_second_buckets() -> None:
    """A histogram with unit s gets explicit buckets in seconds (0.005 ... 10)."""
    with capture_telemetry(service_name="m") as cap:
        hist = metrics.get_meter("app").create_histogram("op.duration", unit="s")
        hist.record(0.2)
        point = cap.metric("op.duration").data.data_points[0]
        assert isinstance(point, HistogramDataPoint)
        assert tuple(point.explicit_bounds) == DURATION_BUCKETS_S


def test_exemplars_come_from_the_active_span() -> None:
    """A measurement inside a sampled span carries that span's ids as an exemplar."""
    with capture_telemetry(service_name="m") as cap:
        hist = metrics.get_meter("app").create_histogram("req.duration", unit="s")
        with trace.get_tracer("t").start_as_current_span("req") as span:
            hist.record(0.05)
        hist.record(0.07)  # outside a span: no exemplar
        point = cap.metric("req.duration").data.data_points[0]
        ctx = span.get_span_context()
        assert [(e.trace_id, e.span_id) for e in point.exemplars] == [(ctx.trace_id, ctx.span_id)]


def test_self_metrics_have_the_agreed_names_and_units() -> None:
    """astra.telemetry.exported/dropped/queue.size exist with unit {item} and signal labels."""
    with capture_telemetry(service_name="m") as cap:
        with trace.get_tracer("t").start_as_current_span("s"):
            pass
        cap.telemetry.force_flush(5.0)
        for name in (
            "astra.telemetry.exported",
            "astra.telemetry.dropped",
            "astra.telemetry.queue.size",
        ):
            metric = cap.metric(name)
            assert metric.unit == "{item}"
            signals = {p.attributes["astra.telemetry.signal"] for p in metric.data.data_points}  # type: ignore[union-attr]
            assert signals == {"traces", "metrics", "logs"}
        exported = cap.metric("astra.telemetry.exported")
        by_signal = {
            p.attributes["astra.telemetry.signal"]: p.value for p in exported.data.data_points
        }  # type: ignore[union-attr]
        assert by_signal["traces"] == 1
        reasons = {
            p.attributes["astra.telemetry.reason"]
            for p in cap.metric("astra.telemetry.dropped").data.data_points
        }  # type: ignore[union-attr]
        assert reasons == {"queue_full", "export_failed"}


def test_prometheus_pull_endpoint_serves_self_metrics_on_loopback() -> None:
    """metrics.prometheus_port serves OpenMetrics on 127.0.0.1 with the agreed names."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with capture_telemetry(service_name="prom", metrics=MetricsOptions(prometheus_port=port)):
        metrics.get_meter("app").create_counter("jobs.done", unit="{job}").add(2)
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'astra_telemetry_dropped_total{astra_telemetry_reason="queue_full"' in body
    assert "astra_telemetry_exported_total" in body
    assert "astra_telemetry_queue_size" in body
    assert "jobs_done_total" in body
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
