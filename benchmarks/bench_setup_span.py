"""Span cost (start, 3 attributes, end): setup() vs the raw SDK wired by hand with the same
processor and exporter, interleaved rounds in one process, median per-span time."""

from __future__ import annotations

import statistics
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import astra_otel
from astra_otel._internal.batching import SignalStats
from astra_otel._internal.exporters import ExporterSlot
from astra_otel._internal.traces import QueueSpanProcessor
from astra_otel.testing import OtlpHttpSink, reset
from benchmarks.__main__ import Options, Result

TARGET = 1.10


def _round(tracer: Any, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        span = tracer.start_span("bench.op")
        span.set_attribute("a", i)
        span.set_attribute("b", "value")
        span.set_attribute("c", True)
        span.end()
    return (time.perf_counter() - start) / n


def run(options: Options) -> list[Result]:
    """Measure both tracers in alternating rounds; ratio of medians."""
    rounds, n = (8, 2_000) if options.quick else (20, 5_000)
    with OtlpHttpSink(decode=False) as sink:
        handle = astra_otel.setup(
            service_name="bench-span",
            endpoint=sink.endpoint,
            instrumentations=astra_otel.InstrumentationOptions(
                fastapi=False, requests=False, redis=False, sqlalchemy=False
            ),
        )
        ours = trace.get_tracer("bench")
        raw_provider = TracerProvider(resource=Resource({"service.name": "bench-raw"}))
        raw_processor = QueueSpanProcessor(
            ExporterSlot(lambda: OTLPSpanExporter(endpoint=f"{sink.endpoint}/v1/traces")),
            SignalStats("traces"),
            max_queue_size=2048,
            max_export_batch_size=512,
            schedule_delay=5.0,
        )
        raw_provider.add_span_processor(raw_processor)
        raw = raw_provider.get_tracer("bench")
        _round(ours, n)
        _round(raw, n)
        ours_t: list[float] = []
        raw_t: list[float] = []
        for i in range(rounds):  # ABBA order: neither side always runs first
            if i % 2:
                ours_t.append(_round(ours, n))
                raw_t.append(_round(raw, n))
            else:
                raw_t.append(_round(raw, n))
                ours_t.append(_round(ours, n))
        raw_processor.stop(5.0)
        raw_provider.shutdown()
        handle.shutdown(5.0)
        reset()
    o, r = statistics.median(ours_t) * 1e6, statistics.median(raw_t) * 1e6
    ratio = o / r
    return [
        Result(
            "span start+3 attrs+end",
            o,
            r,
            "µs",
            ratio,
            f"≤ {TARGET}",
            ratio <= TARGET,
            f"{rounds} x {n} spans each, interleaved ABBA, median of rounds",
        )
    ]
