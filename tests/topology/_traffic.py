"""Test traffic for the topology: synthetic traces sent over OTLP, and readers of what arrived.

Traces are built with the OpenTelemetry SDK (explicit start/end times, so a "slow" trace
costs no wall time), captured in memory and exported synchronously with the OTLP gRPC
exporter, so the test knows exactly which spans each agent accepted.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client.parser import text_string_to_metric_families

SPANS_PER_TRACE = 3
_MS = 1_000_000


@dataclass
class TraceFactory:
    """Builds traces of one service: ``plain`` (fast, ok), ``error`` or ``slow``."""

    service: str
    base_ns: int
    _exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    _provider: TracerProvider | None = None

    def __post_init__(self) -> None:
        self._provider = TracerProvider(resource=Resource.create({"service.name": self.service}))
        self._provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        self._tracer = self._provider.get_tracer("astra-otel.tests.topology")
        self._rng = random.Random(self.service)

    def make(self, kind: str) -> tuple[list[ReadableSpan], str]:
        """One trace of ``kind``: root SERVER span and two children; returns spans and trace id."""
        start = self.base_ns + self._rng.randrange(0, 1000) * _MS
        total = 2000 * _MS if kind == "slow" else 20 * _MS
        root = self._tracer.start_span("GET /orders", kind=SpanKind.SERVER, start_time=start)
        ctx = trace.set_span_in_context(root)
        for i, name in enumerate(("SELECT orders", "GET inventory")):
            child = self._tracer.start_span(
                name, context=ctx, kind=SpanKind.CLIENT, start_time=start + (i + 1) * _MS
            )
            if kind == "error" and i == 1:
                child.set_status(Status(StatusCode.ERROR, "inventory unavailable"))
            child.end(end_time=start + (i + 5) * _MS)
        root.end(end_time=start + total)
        spans = list(self._exporter.get_finished_spans())
        self._exporter.clear()
        return spans, format(root.get_span_context().trace_id, "032x")

    def shutdown(self) -> None:
        """Release the provider."""
        assert self._provider is not None
        self._provider.shutdown()


def span_key(span: ReadableSpan) -> tuple[str, str]:
    """(trace id, span id) in the hex form the OTLP-JSON files use."""
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


class Sender:
    """Synchronous OTLP/gRPC exports to each agent; counts what was accepted."""

    def __init__(self, endpoints: Iterable[str]) -> None:
        self._exporters = [
            OTLPSpanExporter(endpoint=f"http://{ep}", insecure=True, timeout=15) for ep in endpoints
        ]
        self.failed_spans = 0

    def send(self, agent: int, spans: list[ReadableSpan]) -> bool:
        """Export ``spans`` to agent ``agent``; True if accepted (the SDK retries UNAVAILABLE)."""
        if not spans:
            return True
        ok = self._exporters[agent].export(spans) == SpanExportResult.SUCCESS
        if not ok:
            self.failed_spans += len(spans)
        return ok

    def close(self) -> None:
        """Shut the exporters down."""
        for exp in self._exporters:
            exp.shutdown()


def _jsonl(telemetry_dir: Path, signal: str) -> Iterator[dict[str, object]]:
    # The live file plus rotated backups (traces-<timestamp>.jsonl).
    for path in sorted(telemetry_dir.glob(f"{signal}*.jsonl")):
        for line in path.read_text(errors="replace").splitlines():
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:  # a line being written right now
                    continue


def spans_in_files(telemetry_dir: Path) -> list[tuple[str, str]]:
    """Every (trace id, span id) in one gateway's trace files, duplicates included."""
    found = []
    for doc in _jsonl(telemetry_dir, "traces"):
        for rs in doc.get("resourceSpans", []):  # type: ignore[attr-defined]
            for ss in rs.get("scopeSpans", []):
                found.extend((s["traceId"], s["spanId"]) for s in ss.get("spans", []))
    return found


def span_metric_calls(metrics_text: str, service: str) -> float:
    """Sum of ``traces_span_metrics_calls_total`` for ``service`` in one scrape."""
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name != "traces_span_metrics_calls":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("service_name") == service:
                total += sample.value
    return total


def log_trace_ids(telemetry_dir: Path) -> list[str]:
    """The trace id of every log record in one gateway's log files ('' when none)."""
    found = []
    for doc in _jsonl(telemetry_dir, "logs"):
        for rl in doc.get("resourceLogs", []):  # type: ignore[attr-defined]
            for sl in rl.get("scopeLogs", []):
                found.extend(r.get("traceId", "") for r in sl.get("logRecords", []))
    return found


def metric_series(metrics_text: str, family_name: str) -> list[dict[str, str]]:
    """Label sets of every sample of ``family_name`` in one scrape."""
    return [
        dict(sample.labels)
        for family in text_string_to_metric_families(metrics_text)
        if family.name == family_name
        for sample in family.samples
    ]
