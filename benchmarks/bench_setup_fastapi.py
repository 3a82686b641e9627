"""A trivial FastAPI endpoint that logs one line, under uvicorn (one worker), loaded by wrk
from a second process: bare app vs stock OpenTelemetry (FastAPIInstrumentor + SDK defaults +
LoggingHandler, same three signals) vs ``astra_otel.setup()``, side by side in one run.

Telemetry goes over OTLP/HTTP to a local sink started by the benchmark. Each wrk run is
bounded in time. ``python -m benchmarks.bench_setup_fastapi serve MODE PORT SINK`` is the
server program the benchmark starts.
"""

# Imports inside functions are deliberate: each server mode must load only its own wiring,
# and fastapi must be imported after setup() patched it.
# ruff: noqa: PLC0415

from __future__ import annotations

import socket
import statistics
import sys
import time
from typing import Any

from benchmarks.__main__ import Options, Result
from benchmarks.http_load import WrkRun, free_port, server, wrk

MODES = ("bare", "stock", "ours", "ours-no-gc-freeze")
RPS_TARGET = 1.5
ROUNDS = 3
P99_TARGET = 10.0


# --- the server program -------------------------------------------------------------------


def _bare_logging() -> None:
    import logging
    import os

    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115  # process lifetime
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)


def _stock(sink: str) -> None:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from benchmarks.stock import wire_stock

    wire_stock(
        "bench-stock",
        OTLPSpanExporter(endpoint=f"{sink}/v1/traces"),
        OTLPMetricExporter(endpoint=f"{sink}/v1/metrics"),
        OTLPLogExporter(endpoint=f"{sink}/v1/logs"),
    )


def _ours(sink: str, gc_freeze: bool) -> None:
    import astra_otel

    astra_otel.setup(
        service_name="bench-ours",
        endpoint=sink,
        instrumentations=astra_otel.InstrumentationOptions(requests=False, redis=False),
        gc_freeze=gc_freeze,
    )


def make_app(mode: str, sink: str) -> Any:
    """The benchmark app, wired for ``mode`` (bare, stock, ours)."""
    import logging

    if mode == "bare":
        _bare_logging()
    elif mode == "stock":
        _stock(sink)
    else:
        _ours(sink, gc_freeze=mode == "ours")
    import fastapi  # after setup(): FastAPIInstrumentor patches the class

    app = fastapi.FastAPI()
    log = logging.getLogger("bench.app")

    @app.get("/")
    async def index() -> dict[str, bool]:
        log.info("handled request")
        return {"ok": True}

    if mode == "stock":
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app)
    return app


def serve(mode: str, port: int, sink: str) -> None:
    """Run the app under uvicorn, one worker, on 127.0.0.1:``port``."""
    import uvicorn

    uvicorn.run(
        make_app(mode, sink), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


# --- the load side ----------------------------------------------------------------------------


def _wait_up(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    msg = f"server on port {port} did not start within {timeout:.0f} s"
    raise RuntimeError(msg)


def _load(port: int, connections: int, seconds: int) -> WrkRun:
    """One bounded wrk run against the server (up to 2 threads, 5 s request timeout)."""
    url = f"http://127.0.0.1:{port}/"
    return wrk(url, connections, seconds, threads=min(connections, 2), timeout="5s")


def _measure(mode: str, sink: str, seconds: int) -> tuple[float, float]:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.bench_setup_fastapi", "serve", mode]
    with server([*command, str(port), sink]):
        _wait_up(port)
        _load(port, 16, 2)  # warm-up
        rps = _load(port, 16, seconds).rps
        p99 = _load(port, 1, seconds).p99_s
    return rps, p99


def run(options: Options) -> list[Result]:
    """Bare, stock and ours in alternating rounds with the same load; medians per mode."""
    from astra_otel.testing import OtlpHttpSink

    seconds = 4 if options.quick else 8
    rounds = 1 if options.quick else ROUNDS
    runs: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    with OtlpHttpSink(decode=False) as sink:
        for _ in range(rounds):  # alternating, so a busy spell hits every mode alike
            for mode in MODES:
                rps, p99 = _measure(mode, sink.endpoint, seconds)
                runs[mode].append((rps, p99))
                print(f"  {mode}: {rps:.0f} req/s at 16 conns, p99 {p99 * 1e3:.2f} ms at 1 conn")
    results = {
        mode: (
            statistics.median(r for r, _ in measured),
            statistics.median(p for _, p in measured),
        )
        for mode, measured in runs.items()
    }
    bare_rps, bare_p99 = results["bare"]
    stock_rps, stock_p99 = results["stock"]
    ours_rps, ours_p99 = results["ours"]
    nogc_rps, nogc_p99 = results["ours-no-gc-freeze"]
    rps_ratio = ours_rps / stock_rps
    p99_ratio = ours_p99 / bare_p99
    note = (
        f"req/s at 16 conns: bare {bare_rps:.0f}, stock {stock_rps:.0f}, ours {ours_rps:.0f}; "
        f"p99 at 1 conn: bare {bare_p99 * 1e3:.2f} ms, stock {stock_p99 * 1e3:.2f} ms, "
        f"ours {ours_p99 * 1e3:.2f} ms; medians of {rounds} alternating rounds, wrk {seconds} s"
    )
    nogc_note = (
        f"setup(gc_freeze=False): {nogc_rps:.0f} req/s at 16 conns, "
        f"p99 {nogc_p99 * 1e3:.2f} ms at 1 conn"
    )
    return [
        Result(
            "FastAPI req/s at 16 conns: ours vs stock",
            ours_rps,
            stock_rps,
            "req/s",
            rps_ratio,
            f"≥ {RPS_TARGET}",
            rps_ratio >= RPS_TARGET,
            note,
        ),
        Result(
            "FastAPI p99 at 1 conn: ours vs bare",
            ours_p99 * 1e3,
            bare_p99 * 1e3,
            "ms",
            p99_ratio,
            f"≤ {P99_TARGET:.0f}",
            p99_ratio <= P99_TARGET,
        ),
        Result(
            "FastAPI p99 at 1 conn: stock vs bare (reference)",
            stock_p99 * 1e3,
            bare_p99 * 1e3,
            "ms",
            stock_p99 / bare_p99,
            "(stock)",
            True,
        ),
        Result(
            "FastAPI p99 at 1 conn: ours with vs without gc.freeze (reference)",
            ours_p99 * 1e3,
            nogc_p99 * 1e3,
            "ms",
            ours_p99 / nogc_p99,
            "(measure)",
            True,
            nogc_note,
        ),
        Result(
            "FastAPI req/s at 16 conns: stock vs bare (reference)",
            stock_rps,
            bare_rps,
            "req/s",
            stock_rps / bare_rps,
            "(stock)",
            True,
        ),
    ]


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "serve":
    serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
