"""A ``logging`` call through our bridge vs a plain ``StreamHandler`` to a null stream (and,
for reference, the SDK's ``LoggingHandler``), paced so every bridged record is exported."""

from __future__ import annotations

import logging
import os
import statistics
import time
import warnings

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

import astra_otel
from astra_otel.testing import OtlpHttpSink, reset
from benchmarks.__main__ import Options, Result

TARGET = 2.5
BURST = 200
PAUSE_S = 0.02


def _timed_bursts(logger: logging.Logger, total: int) -> float:
    """Seconds per call, counting only time inside bursts (the pauses pace the exporter)."""
    spent = 0.0
    for start in range(0, total, BURST):
        t0 = time.perf_counter()
        for i in range(start, min(start + BURST, total)):
            logger.info("order %d processed", i)
        spent += time.perf_counter() - t0
        time.sleep(PAUSE_S)
    return spent / total


def _isolated(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def run(options: Options) -> list[Result]:
    """Interleave rounds of plain / ours / SDK handler; medians and an arrival check."""
    rounds, per_round = (3, 2_000) if options.quick else (5, 6_000)
    devnull = open(os.devnull, "w")  # noqa: SIM115  # closed below
    plain = _isolated("bench.plain", logging.StreamHandler(devnull))
    with OtlpHttpSink(decode=False) as sink:
        handle = astra_otel.setup(
            service_name="bench-logging",
            endpoint=sink.endpoint,
            logs=astra_otel.LogsOptions(max_queue_size=4096, schedule_delay=0.05),
        )
        root = logging.getLogger()
        root.handlers[:] = list(handle.log_handlers)  # the bridge only
        ours = logging.getLogger("bench.ours")
        ours.setLevel(logging.INFO)
        provider = LoggerProvider()
        provider.add_log_record_processor(
            BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{sink.endpoint}/v1/logs"))
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            sdk = _isolated("bench.sdk", LoggingHandler(logger_provider=provider))
        times: dict[str, list[float]] = {"plain": [], "ours": [], "sdk": []}
        for _ in range(rounds):
            times["plain"].append(_timed_bursts(plain, per_round))
            times["ours"].append(_timed_bursts(ours, per_round))
            times["sdk"].append(_timed_bursts(sdk, per_round))
        handle.force_flush(10.0)
        health = handle.health().logs
        provider.shutdown()
        handle.shutdown(5.0)
        reset()
    devnull.close()
    med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
    sent = rounds * per_round
    arrived = health.exported == sent and health.dropped == 0
    ratio = med["ours"] / med["plain"]
    return [
        Result(
            "logging call: bridge vs plain StreamHandler",
            med["ours"],
            med["plain"],
            "µs",
            ratio,
            f"≤ {TARGET}, all arrive",
            ratio <= TARGET and arrived,
            f"{sent} records paced {BURST}/{PAUSE_S * 1000:.0f} ms: exported {health.exported}, "
            f"dropped {health.dropped}",
        ),
        Result(
            "logging call: SDK LoggingHandler vs plain (reference)",
            med["sdk"],
            med["plain"],
            "µs",
            med["sdk"] / med["plain"],
            "(stock)",
            True,
        ),
    ]
