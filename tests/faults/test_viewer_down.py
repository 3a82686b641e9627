"""The viewer down or hung: the service is never refused, Jaeger and the JSON file get every
span exactly once, even past the viewer's full queue; a hung viewer does not hold back a
collector restart; the viewer gets its data once back."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ._support import collector_metric, second_stack
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

TRACES = 24
SPANS_PER_TRACE = 1000  # 24 000 spans: more than the viewer's queue holds (20 000 items)


def _traces(service: str, traces: int, spans: int) -> list[list[ReadableSpan]]:
    """``traces`` finished traces of ``spans`` spans each (a root and its children)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("viewer-outage-test")
    batches = []
    for _ in range(traces):
        with tracer.start_as_current_span("root"):
            for i in range(spans - 1):
                with tracer.start_as_current_span(f"child-{i}"):
                    pass
        batches.append(list(memory.get_finished_spans()))
        memory.clear()
    provider.shutdown()
    return batches


def _trace_id(batch: list[ReadableSpan]) -> str:
    context = batch[0].context
    assert context is not None
    return format(context.trace_id, "032x")


def _file_spans(running: RunningStack, service: str) -> dict[str, int] | None:
    """Spans of ``service`` in traces.jsonl, counted by trace id (None before the file)."""
    if not running.traces_file.exists():
        return None
    counts: dict[str, int] = {}
    for line in running.traces_file.read_text().splitlines():
        for resource in json.loads(line).get("resourceSpans", []):
            attrs = {
                a["key"]: a["value"].get("stringValue")
                for a in resource["resource"].get("attributes", [])
            }
            if attrs.get("service.name") != service:
                continue
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    counts[span["traceId"]] = counts.get(span["traceId"], 0) + 1
    return counts


def _jaeger_spans(running: RunningStack, trace_id: str) -> int:
    resp = requests.get(f"{running.jaeger_url}/api/traces/{trace_id}", timeout=5)
    data = resp.json().get("data") or [] if resp.status_code == 200 else []
    return sum(len(t["spans"]) for t in data)


def _viewer_rpc(running: RunningStack, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    resp = requests.post(f"{running.viewer_url}/rpc", json=body, timeout=5)
    resp.raise_for_status()
    return resp.json().get("result")


def test_viewer_outage_holds_back_no_other_sink(tmp_path: Path) -> None:
    """With the viewer stopped, 24 exports of 1000 spans all succeed at once; the file and
    Jaeger get each span exactly once; the viewer's queue overflows and drops (counted)
    rather than refusing; restarted, the viewer receives the next trace."""
    service = "viewer-outage"
    batches = _traces(service, TRACES, SPANS_PER_TRACE)
    with second_stack(tmp_path / "state", components=("jaeger", "viewer", "collector")) as running:
        assert running.stack.components["collector"].env.get("OTELCOL_VIEWER_ENDPOINT")
        running.stack.stop("viewer")
        exporter = OTLPSpanExporter(endpoint=running.otlp_grpc, insecure=True, timeout=10)
        results = [exporter.export(batch) for batch in batches]
        assert results == [SpanExportResult.SUCCESS] * TRACES, "never refused, no retry"
        expected = {_trace_id(b): SPANS_PER_TRACE for b in batches}

        def in_file() -> dict[str, int] | None:
            counts = _file_spans(running, service)
            return (
                counts
                if counts
                and len(counts) == TRACES
                and all(n >= SPANS_PER_TRACE for n in counts.values())
                else None
            )

        assert wait_for(in_file, "every span in traces.jsonl", timeout=60) == expected
        for trace_id in expected:
            got = wait_for(
                lambda t=trace_id: _jaeger_spans(running, t) or None,
                f"trace {trace_id} in Jaeger",
                timeout=60,
            )
            assert got == SPANS_PER_TRACE, trace_id
        dropped = wait_for(
            lambda: (
                collector_metric(
                    running, "otelcol_exporter_enqueue_failed_spans", exporter="otlp_grpc/viewer"
                )
                or None
            ),
            "the viewer queue's overflow in the collector's metrics",
            timeout=30,
        )
        assert 0 < dropped < TRACES * SPANS_PER_TRACE

        running.stack.start("viewer")
        (after,) = _traces(service, 1, 3)
        assert exporter.export(after) == SpanExportResult.SUCCESS
        count = wait_for(
            lambda: _viewer_rpc(running, "getTraceSpanCount", _trace_id(after)) or None,
            "the next trace in the restarted viewer",
            timeout=90,
        )
        assert count == 3
        exporter.shutdown()


def test_hung_viewer_holds_back_no_collector_restart(tmp_path: Path) -> None:
    """With the viewer frozen (SIGSTOP: connections accepted, never answered) and a backlog
    queued for it, a SIGTERM stops the collector within the stop timeout (it waits for the
    one request in flight, not for the backlog); started again, it delivers the backlog to
    the viewer once that runs again."""
    service = "viewer-hung"
    batches = _traces(service, 8, SPANS_PER_TRACE)
    with second_stack(tmp_path / "state", components=("jaeger", "viewer", "collector")) as running:
        running.stack.kill("viewer", signal.SIGSTOP)
        try:
            exporter = OTLPSpanExporter(endpoint=running.otlp_grpc, insecure=True, timeout=10)
            assert all(exporter.export(b) == SpanExportResult.SUCCESS for b in batches)
            exporter.shutdown()
            # The other sinks done first: what is measured below is the viewer's share of
            # the shutdown (a batch still pending for the file queue takes its own time).
            expected = {_trace_id(b): SPANS_PER_TRACE for b in batches}
            wait_for(
                lambda: _file_spans(running, service) == expected or None,
                "every span in traces.jsonl",
                timeout=60,
            )
            wait_for(
                lambda: (
                    (
                        collector_metric(
                            running,
                            "otelcol_exporter_queue_size",
                            exporter="otlp_grpc/viewer",
                            data_type="traces",
                        )
                        or 0
                    )
                    >= 4 * SPANS_PER_TRACE
                    or None
                ),
                "a backlog queued for the viewer",
                timeout=30,
            )
            began = time.monotonic()
            running.stack.kill("collector", signal.SIGTERM)
            stopped_in = time.monotonic() - began
            assert running.stack.pid("collector") is None, "stopped within the stop timeout"
            assert stopped_in < running.stack.settings.stop_timeout
            running.stack.start("collector")
        finally:
            running.stack.kill("viewer", signal.SIGCONT)
        last = _trace_id(batches[-1])

        def whole() -> int | None:
            count = _viewer_rpc(running, "getTraceSpanCount", last) or 0
            return count if count >= SPANS_PER_TRACE else None

        # At least: the request in flight when the collector stopped may arrive twice.
        wait_for(whole, "the backlog's last trace, whole, in the viewer", timeout=120)
