"""OTLP encoding cost per span: our encoder (``astra_otel._internal.otlp_spans``) vs the
SDK's ``encode_spans(...).SerializeToString()`` on the same batches of finished spans (5
attributes each, batches of 512), alternating rounds in one process, thread CPU time.
Both must produce the same bytes; the benchmark checks that first."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from astra_otel._internal.otlp_spans import SpanEncoder
from astra_otel._internal.redaction import DEFAULT
from benchmarks.__main__ import Options, Result
from benchmarks.bench_pipeline_emitter import set_attributes

BATCH = 512


def _spans(n: int) -> tuple[ReadableSpan, ...]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench-encoding"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    for i in range(n):
        with tracer.start_as_current_span("bench.op") as span:
            set_attributes(span, i)
    provider.shutdown()
    return exporter.get_finished_spans()


def _round(
    encode: Callable[[Sequence[ReadableSpan]], bytes], spans: Sequence[ReadableSpan]
) -> float:
    start = time.thread_time()
    for i in range(0, len(spans), BATCH):
        encode(spans[i : i + BATCH])
    return (time.thread_time() - start) / len(spans)


def run(options: Options) -> list[Result]:
    """Per-span encoding CPU, ours vs the SDK's, median of alternating rounds."""
    n, rounds = (5_120, 4) if options.quick else (20_480, 8)
    spans = _spans(n)
    ours = SpanEncoder(DEFAULT.value, DEFAULT.text).encode

    def sdk(batch: Sequence[ReadableSpan]) -> bytes:
        return bytes(encode_spans(batch).SerializeToString())

    if ours(spans[:BATCH]) != sdk(spans[:BATCH]):
        msg = "our encoder's bytes differ from the SDK's"
        raise AssertionError(msg)
    ours_t: list[float] = []
    sdk_t: list[float] = []
    for i in range(rounds):  # ABBA order
        pair = ((ours, ours_t), (sdk, sdk_t)) if i % 2 else ((sdk, sdk_t), (ours, ours_t))
        for encode, times in pair:
            times.append(_round(encode, spans))
    o, s = statistics.median(ours_t) * 1e6, statistics.median(sdk_t) * 1e6
    return [
        Result(
            "OTLP encoding per span (5 attributes, batches of 512)",
            o,
            s,
            "µs",
            o / s,
            "reported",
            True,
            f"{rounds} alternating rounds over {n} spans, thread CPU; same bytes checked first",
        )
    ]
