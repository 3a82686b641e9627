"""The span emitter the pipeline benchmarks run as a child process (no ``run``: not a
benchmark itself): ``python -m benchmarks.bench_pipeline_emitter MODE ENDPOINT SERVICE
RATE SECONDS``.

MODE ``ours`` wires ``astra_otel.setup()`` with its defaults (instrumentations off);
``raw`` wires the OpenTelemetry SDK by hand with its defaults: ``TracerProvider`` +
``BatchSpanProcessor`` + the OTLP/HTTP span exporter (the protocol ``setup()`` defaults
to). Spans carry 5 attributes and are emitted paced in 10 ms ticks for SECONDS (bounded in
count and time), then the pipeline is shut down (flushing what is queued). Prints one JSON
line: spans emitted, emission seconds, whole-process CPU seconds (export thread included)
and the time the shutdown took. MODE ``metrics`` is for the freshness benchmark (below).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

TICK_S = 0.01


def set_attributes(span: Any, index: int) -> None:
    """The 5 attributes of a benchmark span (also the encoding benchmark's), one call each."""
    span.set_attribute("bench.index", index)
    span.set_attribute("bench.kind", "throughput")
    span.set_attribute("http.request.method", "GET")
    span.set_attribute("url.path", "/api/v1/items")
    span.set_attribute("http.response.status_code", 200)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _wire(mode: str, endpoint: str, service: str) -> tuple[Any, Any]:
    """(tracer, shutdown callable) for ``mode``."""
    if mode == "ours":
        import astra_otel  # noqa: PLC0415  # only in this mode

        handle = astra_otel.setup(
            service_name=service,
            endpoint=endpoint,
            instrumentations=astra_otel.InstrumentationOptions(
                fastapi=False, requests=False, redis=False, sqlalchemy=False
            ),
        )
        from opentelemetry import trace  # noqa: PLC0415

        return trace.get_tracer("bench.emitter"), lambda: handle.shutdown(60.0)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{endpoint}/v1/traces")))
    return provider.get_tracer("bench.emitter"), provider.shutdown


def _metrics(endpoint: str, service: str, rate: float, seconds: float) -> None:
    """MODE ``metrics``: ``setup()`` defaults; a counter incremented ``rate`` times a second;
    prints the wall-clock time of every increment (the k-th makes the counter k)."""
    from opentelemetry import metrics  # noqa: PLC0415

    import astra_otel  # noqa: PLC0415  # only in this mode

    handle = astra_otel.setup(
        service_name=service,
        endpoint=endpoint,
        instrumentations=astra_otel.InstrumentationOptions(
            fastapi=False, requests=False, redis=False, sqlalchemy=False
        ),
    )
    counter = metrics.get_meter("bench.emitter").create_counter("bench.freshness")
    times: list[float] = []
    start = time.monotonic()
    for k in range(int(rate * seconds)):  # bounded in count; pacing bounds the time
        due = start + k / rate
        if due > time.monotonic():
            time.sleep(due - time.monotonic())
        counter.add(1)
        times.append(time.time())
    handle.shutdown(10.0)
    print(json.dumps({"times": times}))


def main(argv: list[str]) -> None:
    mode, endpoint, service = argv[0], argv[1], argv[2]
    rate, seconds = float(argv[3]), float(argv[4])
    if mode == "metrics":
        _metrics(endpoint, service, rate, seconds)
        return
    tracer, shutdown = _wire(mode, endpoint, service)
    per_tick = rate * TICK_S
    ticks = int(seconds / TICK_S)
    emitted = 0
    owed = 0.0
    cpu0 = _cpu()
    start = time.perf_counter()
    for tick in range(ticks):  # bounded in count; pacing bounds the time
        owed += per_tick
        while owed >= 1.0:
            span = tracer.start_span("bench.op")
            set_attributes(span, emitted)
            span.end()
            emitted += 1
            owed -= 1.0
        due = start + (tick + 1) * TICK_S
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        if now - start > seconds * 3:
            break  # cannot keep up: stop rather than run on
    elapsed = time.perf_counter() - start
    before_shutdown = time.perf_counter()
    shutdown()
    shutdown_s = time.perf_counter() - before_shutdown
    print(
        json.dumps(
            {
                "emitted": emitted,
                "seconds": elapsed,
                "cpu": _cpu() - cpu0,
                "shutdown": shutdown_s,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
