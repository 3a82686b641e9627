"""What the fault tests share: span generation with known ids, counting spans in Jaeger,
the collector's own metrics, Prometheus queries, and a second stack of their own.

Spans are generated with the SDK (a tracer writing to an in-memory exporter) and sent in
batches with a plain OTLP exporter, whose result says whether the collector accepted the
batch: "sent" in these tests means *accepted by the collector*.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
import yaml
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id

from astra_otel._config.params import environ_snapshot
from astra_otel.stack.build import ensure_binaries
from astra_otel.stack.settings import load_stack_settings

from _support.jsonl import read_documents, signal_files, span_id_counts
from _support.stack import RunningStack, running_stack, start_on_free_offset

__all__ = [
    "SpanSource",
    "collector_metric",
    "derived_collector_config",
    "file_span_id_counts",
    "jaeger_span_id_counts",
    "jaeger_span_ids",
    "manual_meter_provider",
    "prom_query",
    "second_stack",
    "unique_service",
    "wait_for_spans",
]

REPO = Path(__file__).resolve().parents[2]
SPANS_PER_TRACE = 100


def unique_service(prefix: str) -> str:
    """A service name no other test (or earlier run) uses."""
    return f"fault-{prefix}-{uuid.uuid4().hex[:8]}"


class SpanSource:
    """Makes spans for one service (5 attributes each, ``SPANS_PER_TRACE`` per trace) and
    sends them over OTLP gRPC, remembering the span ids the collector accepted."""

    def __init__(
        self,
        endpoint: str,
        service: str,
        *,
        timeout: float = 10.0,
        pad: int = 0,
        credentials: grpc.ChannelCredentials | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.service = service
        self._pad = "x" * pad
        self._memory = InMemorySpanExporter()
        self._provider = TracerProvider(
            resource=Resource({"service.name": service, "service.namespace": "astra-faults"}),
            shutdown_on_exit=False,
        )
        self._provider.add_span_processor(SimpleSpanProcessor(self._memory))
        self._tracer = self._provider.get_tracer("astra.faults")
        self._exporter = OTLPSpanExporter(
            endpoint=endpoint,
            insecure=credentials is None,
            credentials=credentials,
            headers=headers,
            timeout=timeout,
        )
        self.accepted: list[str] = []
        self.rejected = 0
        self.given_up: list[str] = []
        """Span ids of the batches not accepted (the client gave up on them)."""
        self._made = 0

    @property
    def made(self) -> int:
        """How many spans this source has made (accepted, given up or not yet sent)."""
        return self._made

    def make(self, n: int) -> Sequence[ReadableSpan]:
        """``n`` finished spans: a root per ``SPANS_PER_TRACE`` and children under it."""
        self._memory.clear()
        left = n
        while left > 0:
            with self._tracer.start_as_current_span("fault.root", attributes=self._attrs(0)):
                left -= 1
                for i in range(min(left, SPANS_PER_TRACE - 1)):
                    attrs = self._attrs(i + 1)
                    with self._tracer.start_as_current_span("fault.child", attributes=attrs):
                        pass
                    left -= 1
        self._made += n
        return self._memory.get_finished_spans()

    def send(self, n: int) -> bool:
        """Make and export ``n`` spans in one request; True if the collector accepted them."""
        spans = self.make(n)
        result = self._exporter.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.accepted.extend(format_span_id(s.context.span_id) for s in spans)
            return True
        self.rejected += len(spans)
        self.given_up.extend(format_span_id(s.context.span_id) for s in spans)
        return False

    def _attrs(self, i: int) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "fault.index": i,
            "fault.kind": "load",
            "http.request.method": "GET",
            "url.path": "/fault",
            "server.port": 8000,
        }
        if self._pad:
            attrs["fault.payload"] = self._pad
        return attrs

    def close(self) -> None:
        """Release the exporter's channel."""
        self._exporter.shutdown()
        self._provider.shutdown()


def manual_meter_provider(endpoint: str, service: str) -> MeterProvider:
    """A meter provider for ``service`` exporting over OTLP gRPC only when flushed (its
    periodic reader waits an hour), so a test decides when each export happens."""
    exporter = OTLPMetricExporter(endpoint=endpoint, insecure=True, timeout=10)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    return MeterProvider(
        resource=Resource({"service.name": service, "service.namespace": "astra-faults"}),
        metric_readers=[reader],
        shutdown_on_exit=False,
    )


def jaeger_span_id_counts(stack: RunningStack, service: str) -> Counter[str]:
    """How often Jaeger's query API returns each span id of ``service`` (empty if Jaeger
    does not answer); Jaeger's query side removes most exact duplicates itself."""
    try:
        resp = requests.get(
            f"{stack.jaeger_url}/api/traces",
            params={"service": service, "limit": "20000", "lookback": "1h"},
            timeout=20,
        )
    except requests.RequestException:
        return Counter()
    if resp.status_code != 200:
        return Counter()
    data = resp.json().get("data") or []
    return Counter(span["spanID"] for trace in data for span in trace["spans"])


def jaeger_span_ids(stack: RunningStack, service: str) -> set[str]:
    """Every span id Jaeger holds for ``service`` (empty if Jaeger does not answer)."""
    return set(jaeger_span_id_counts(stack, service))


def file_span_id_counts(telemetry_dir: Path, service: str) -> Counter[str]:
    """How often each span id of ``service`` occurs in ``traces.jsonl`` and its backups."""
    return span_id_counts(read_documents(signal_files(telemetry_dir, "traces")).documents, service)


def wait_for_spans(stack: RunningStack, service: str, expected: set[str], timeout: float) -> None:
    """Wait until Jaeger holds every span id in ``expected``; fail with the count missing."""
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        found = jaeger_span_ids(stack, service)
        if expected <= found:
            return
        time.sleep(1.0)
    missing = len(expected - found)
    pytest.fail(f"{missing} of {len(expected)} spans sent are not in Jaeger after {timeout:.0f} s")


def prom_query(stack: RunningStack, query: str) -> list[dict[str, Any]]:
    """An instant query; an unreachable Prometheus gives an empty result."""
    try:
        resp = requests.get(
            f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=5
        )
    except requests.RequestException:
        return []
    if resp.status_code != 200:
        return []
    result: list[dict[str, Any]] = resp.json()["data"]["result"]
    return result


def collector_metric(stack: RunningStack, name: str, **labels: str) -> float | None:
    """``stack.collector_metric``, or None while the collector does not answer (the fault
    tests poll it across restarts and overloads)."""
    try:
        return stack.collector_metric(name, **labels)
    except requests.RequestException:
        return None


@contextmanager
def second_stack(
    state_dir: Path,
    *,
    components: tuple[str, ...] = ("jaeger", "collector"),
    collector_config: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningStack]:
    """A stack of its own (free port offset, own state directory) for faults that need a
    different configuration; started through the stack's own API and stopped afterwards."""
    environ = {**environ_snapshot(), **(env or {})}
    base = load_stack_settings(environ, state_dir=str(state_dir))
    binaries = ensure_binaries(base, environ, lambda _: None)
    handle = start_on_free_offset(
        base, environ, components, binaries=binaries, collector_config=collector_config
    )
    try:
        yield running_stack(handle)
    finally:
        handle.down()


def derived_collector_config(path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Write the shipped collector config, changed by ``edit``, to ``path``."""
    config = yaml.safe_load((REPO / "collector" / "otel-collector.yaml").read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
