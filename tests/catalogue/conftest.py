"""Fixtures: a catalogue on in-memory SDK providers (no globals touched)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from astra_otel.catalogue import Catalogue


@dataclass
class Captured:
    """A catalogue wired to in-memory span and metric capture."""

    catalogue: Catalogue
    reader: InMemoryMetricReader
    exporter: InMemorySpanExporter

    def metrics(self) -> dict[str, Metric]:
        """Every metric collected so far, by name."""
        data = self.reader.get_metrics_data()
        found: dict[str, Metric] = {}
        if data is None:
            return found
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    found[metric.name] = metric
        return found

    def spans(self) -> tuple[ReadableSpan, ...]:
        """Every finished span so far."""
        return self.exporter.get_finished_spans()


def make_captured(
    cardinality_limit: int | None = None,
) -> tuple[Captured, MeterProvider, TracerProvider]:
    """Build a catalogue on fresh in-memory providers."""
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    catalogue = Catalogue(
        meter_provider=meter_provider,
        tracer_provider=tracer_provider,
        cardinality_limit=cardinality_limit,
        environ={},
    )
    return Captured(catalogue, reader, exporter), meter_provider, tracer_provider


@pytest.fixture
def make() -> Iterator[Callable[[int | None], Captured]]:
    """A factory for captured catalogues with a given cardinality limit."""
    providers: list[tuple[MeterProvider, TracerProvider]] = []

    def build(cardinality_limit: int | None) -> Captured:
        cap, meter_provider, tracer_provider = make_captured(cardinality_limit)
        providers.append((meter_provider, tracer_provider))
        return cap

    yield build
    for meter_provider, tracer_provider in providers:
        meter_provider.shutdown()
        tracer_provider.shutdown()


@pytest.fixture
def captured() -> Iterator[Captured]:
    """A catalogue on in-memory providers, shut down after the test."""
    cap, meter_provider, tracer_provider = make_captured()
    yield cap
    meter_provider.shutdown()
    tracer_provider.shutdown()
