"""End to end through the real collector: one span, counter, histogram and log record sent
by the OpenTelemetry SDK over OTLP (gRPC and HTTP) come out in Jaeger, Prometheus and the
JSON files with exactly the values and attributes sent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as GrpcLogExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import (
    OTLPLogExporter as HttpLogExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import format_span_id, format_trace_id

from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

NAMESPACE = "astra-e2e"


@dataclass(frozen=True)
class Sent:
    """What one test sent: identities to find it by and the ids of the span."""

    service: str
    instance: str
    trace_id: str
    span_id: str


@pytest.fixture(params=["grpc", "http"])
def sent(request: pytest.FixtureRequest, stack: RunningStack) -> Iterator[Sent]:
    """Send one span, one counter (3), one histogram (0.25 s, 0.75 s) and one log record."""
    proto = str(request.param)
    service = f"e2e-{proto}-{uuid.uuid4().hex[:8]}"
    instance = uuid.uuid4().hex
    resource = Resource(
        {
            "service.name": service,
            "service.namespace": NAMESPACE,
            "service.instance.id": instance,
            "deployment.environment.name": "e2e",
            "host.name": "e2e-host",
            "process.pid": 4242,
        }
    )
    if proto == "grpc":
        span_exp: Any = GrpcSpanExporter(endpoint=stack.otlp_grpc, insecure=True)
        metric_exp: Any = GrpcMetricExporter(endpoint=stack.otlp_grpc, insecure=True)
        log_exp: Any = GrpcLogExporter(endpoint=stack.otlp_grpc, insecure=True)
    else:
        span_exp = HttpSpanExporter(endpoint=f"{stack.otlp_http}/v1/traces")
        metric_exp = HttpMetricExporter(endpoint=f"{stack.otlp_http}/v1/metrics")
        log_exp = HttpLogExporter(endpoint=f"{stack.otlp_http}/v1/logs")
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exp))
    # One export only, on force_flush: the files then hold exactly one copy of each metric.
    reader = PeriodicExportingMetricReader(metric_exp, export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exp))

    tracer = tracer_provider.get_tracer("astra.e2e", "1.0")
    meter = meter_provider.get_meter("astra.e2e", "1.0")
    requests_counter = meter.create_counter("astra.e2e.requests", unit="{request}")
    duration = meter.create_histogram(
        "astra.e2e.duration", unit="s", explicit_bucket_boundaries_advisory=[0.1, 0.5, 1.0]
    )
    logger = logger_provider.get_logger("astra.e2e", "1.0")
    with tracer.start_as_current_span(
        "e2e.operation", attributes={"astra.case": proto, "http.request.method": "GET"}
    ) as span:
        ctx = span.get_span_context()
        requests_counter.add(3, {"outcome": "ok"})
        duration.record(0.25, {"outcome": "ok"})
        duration.record(0.75, {"outcome": "ok"})
        logger.emit(
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body="e2e log record",
            attributes={"astra.case": proto},
        )
    assert meter_provider.force_flush(10_000)
    assert tracer_provider.force_flush(10_000)
    assert logger_provider.force_flush(10_000)
    yield Sent(service, instance, format_trace_id(ctx.trace_id), format_span_id(ctx.span_id))
    meter_provider.shutdown()
    tracer_provider.shutdown()
    logger_provider.shutdown()


# --- Jaeger -----------------------------------------------------------------------------


def _jaeger_trace(stack: RunningStack, trace_id: str) -> dict[str, Any] | None:
    resp = requests.get(f"{stack.jaeger_url}/api/traces/{trace_id}", timeout=5)
    if resp.status_code != 200:
        return None
    data = resp.json().get("data") or []
    return data[0] if data and data[0].get("spans") else None


def test_span_reaches_jaeger_with_its_attributes(stack: RunningStack, sent: Sent) -> None:
    """The span is in Jaeger under its trace id, once, with its service and attributes."""
    trace = wait_for(lambda: _jaeger_trace(stack, sent.trace_id), "the span in Jaeger")
    assert len(trace["spans"]) == 1
    span = trace["spans"][0]
    assert span["spanID"] == sent.span_id
    assert span["operationName"] == "e2e.operation"
    tags = {t["key"]: t["value"] for t in span["tags"]}
    assert tags["astra.case"] in ("grpc", "http")
    assert sent.service.startswith(f"e2e-{tags['astra.case']}-")
    assert tags["http.request.method"] == "GET"
    process = trace["processes"][span["processID"]]
    assert process["serviceName"] == sent.service
    ptags = {t["key"]: t["value"] for t in process["tags"]}
    assert ptags["service.instance.id"] == sent.instance
    assert ptags["host.name"] == "e2e-host"


# --- Prometheus ---------------------------------------------------------------------------


def _prom_vector(stack: RunningStack, query: str) -> list[dict[str, Any]] | None:
    resp = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=5)
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()["data"]["result"]
    return result or None


def _labels_without_scope(metric: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in metric.items() if not k.startswith("otel_scope_")}


def test_metrics_reach_prometheus_with_translated_names(stack: RunningStack, sent: Sent) -> None:
    """Counter and histogram arrive as ``_total`` and ``_seconds_*`` with exact values and
    exactly the four resource labels (host/process attributes only in target_info)."""
    sel = f'service_name="{sent.service}"'
    common = {
        "job": f"{NAMESPACE}/{sent.service}",
        "instance": sent.instance,
        "service_name": sent.service,
        "service_namespace": NAMESPACE,
        "service_instance_id": sent.instance,
        "deployment_environment_name": "e2e",
        "outcome": "ok",
    }
    counter = wait_for(lambda: _prom_vector(stack, f"astra_e2e_requests_total{{{sel}}}"), "counter")
    assert len(counter) == 1
    assert _labels_without_scope(counter[0]["metric"]) == {
        "__name__": "astra_e2e_requests_total",
        **common,
    }
    assert counter[0]["metric"]["otel_scope_name"] == "astra.e2e"
    assert float(counter[0]["value"][1]) == 3.0

    hist = "astra_e2e_duration_seconds"
    count = wait_for(lambda: _prom_vector(stack, f"{hist}_count{{{sel}}}"), "count")
    assert [float(s["value"][1]) for s in count] == [2.0]
    total = wait_for(lambda: _prom_vector(stack, f"{hist}_sum{{{sel}}}"), "sum")
    assert [float(s["value"][1]) for s in total] == [1.0]
    buckets = wait_for(lambda: _prom_vector(stack, f"{hist}_bucket{{{sel}}}"), "buckets")
    by_le = {float(s["metric"]["le"]): float(s["value"][1]) for s in buckets}
    assert by_le == {0.1: 0.0, 0.5: 1.0, 1.0: 2.0, float("inf"): 2.0}
    assert _labels_without_scope(buckets[0]["metric"]).keys() == {
        "__name__",
        "le",
        *common,
    }

    info = wait_for(
        lambda: _prom_vector(stack, f'target_info{{instance="{sent.instance}"}}'), "info"
    )
    assert len(info) == 1
    assert info[0]["metric"]["host_name"] == "e2e-host"
    assert info[0]["metric"]["job"] == f"{NAMESPACE}/{sent.service}"


def _exemplars(stack: RunningStack, service: str) -> list[dict[str, Any]] | None:
    return stack.exemplars(f'astra_e2e_duration_seconds_bucket{{service_name="{service}"}}') or None


def test_histogram_exemplars_carry_the_trace_id(stack: RunningStack, sent: Sent) -> None:
    """Exemplars reach Prometheus (OpenMetrics) and point at the span they were recorded in."""
    exemplars = wait_for(lambda: _exemplars(stack, sent.service), "exemplars")
    assert {e["labels"]["trace_id"] for e in exemplars} == {sent.trace_id}
    assert {e["labels"]["span_id"] for e in exemplars} == {sent.span_id}
    assert sorted(float(e["value"]) for e in exemplars) == [0.25, 0.75]


# --- JSON files ---------------------------------------------------------------------------


def _attrs(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values())) for a in items}


def _for_service(path: Path, key: str, service: str) -> list[dict[str, Any]]:
    """The resource entries (resourceSpans etc.) in the JSON-lines file for ``service``."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        for entry in json.loads(line).get(key, []):
            if _attrs(entry["resource"]["attributes"]).get("service.name") == service:
                found.append(entry)
    return found


def _scoped(entries: list[dict[str, Any]], scope_key: str, item_key: str) -> list[dict[str, Any]]:
    return [item for e in entries for s in e[scope_key] for item in s[item_key]]


def test_all_three_signals_are_in_the_json_files(stack: RunningStack, sent: Sent) -> None:
    """traces/metrics/logs.jsonl hold exactly one span, two metrics and one log record."""

    def spans() -> list[dict[str, Any]] | None:
        entries = _for_service(stack.traces_file, "resourceSpans", sent.service)
        return _scoped(entries, "scopeSpans", "spans") or None

    def metrics() -> list[dict[str, Any]] | None:
        entries = _for_service(stack.metrics_file, "resourceMetrics", sent.service)
        found = _scoped(entries, "scopeMetrics", "metrics")
        return found if len(found) >= 2 else None

    def logs() -> list[dict[str, Any]] | None:
        entries = _for_service(stack.logs_file, "resourceLogs", sent.service)
        return _scoped(entries, "scopeLogs", "logRecords") or None

    [span] = wait_for(spans, "the span in traces.jsonl")
    assert (span["traceId"], span["spanId"], span["name"]) == (
        sent.trace_id,
        sent.span_id,
        "e2e.operation",
    )
    assert _attrs(span["attributes"])["http.request.method"] == "GET"

    found = {m["name"]: m for m in wait_for(metrics, "the metrics in metrics.jsonl")}
    assert sorted(found) == ["astra.e2e.duration", "astra.e2e.requests"]
    counter = found["astra.e2e.requests"]
    assert counter["unit"] == "{request}"
    assert counter["sum"]["isMonotonic"] is True
    [point] = counter["sum"]["dataPoints"]
    assert (int(point["asInt"]), _attrs(point["attributes"])) == (3, {"outcome": "ok"})
    [hist] = found["astra.e2e.duration"]["histogram"]["dataPoints"]
    assert int(hist["count"]) == 2
    assert float(hist["sum"]) == 1.0
    assert [int(c) for c in hist["bucketCounts"]] == [0, 1, 1, 0]
    assert hist["explicitBounds"] == [0.1, 0.5, 1.0]

    [record] = wait_for(logs, "the log record in logs.jsonl")
    assert record["body"] == {"stringValue": "e2e log record"}
    assert (record["severityNumber"], record["severityText"]) == (13, "WARN")
    assert (record["traceId"], record["spanId"]) == (sent.trace_id, sent.span_id)
    assert _attrs(record["attributes"])["astra.case"] in ("grpc", "http")
