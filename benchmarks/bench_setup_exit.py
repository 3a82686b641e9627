"""Exit time with the collector down: setup() (5 s deadline) vs the raw SDK wired by hand
(batch processors, periodic reader, OTLP/HTTP exporters, SDK atexit hooks). Each program
does the same work, prints READY, then returns from main; we time READY -> process exit."""

from __future__ import annotations

from benchmarks.__main__ import Options, Result
from benchmarks.http_load import free_port
from tests._support.exit_timing import time_exit

DEADLINE = 5.0
MARGIN = 0.5
LIMIT_S = 120.0  # a raw SDK process still running after this is killed (reported as such)

WORK = """
import logging, time
from opentelemetry import metrics, trace
tracer = trace.get_tracer("bench")
for i in range(200):
    with tracer.start_as_current_span(f"op-{i}"):
        logging.getLogger("app").warning("line %d", i)
metrics.get_meter("bench").create_counter("c").add(1)
print("READY", flush=True)
"""

OURS = (
    """
import sys
import astra_otel
astra_otel.setup(service_name="bench-exit", endpoint=sys.argv[1])
"""
    + WORK
)

RAW = (
    """
import logging, sys
from opentelemetry import _logs, metrics, trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
base = sys.argv[1]
tp = TracerProvider()
tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=base + "/v1/traces")))
trace.set_tracer_provider(tp)
reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=base + "/v1/metrics"))
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
lp = LoggerProvider()
lp.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=base + "/v1/logs")))
_logs.set_logger_provider(lp)
import warnings
warnings.simplefilter("ignore")
logging.getLogger().addHandler(LoggingHandler(logger_provider=lp))
"""
    + WORK
)


def run(options: Options) -> list[Result]:
    """Time both programs against a port where nothing listens."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    ours = time_exit(OURS, endpoint, limit=LIMIT_S).seconds
    raw = time_exit(RAW, endpoint, limit=LIMIT_S).seconds
    return [
        Result(
            "exit time, collector down",
            ours,
            raw,
            "s",
            ours / raw,
            f"ours ≤ {DEADLINE + MARGIN:.1f} s",
            ours <= DEADLINE + MARGIN,
            f"deadline {DEADLINE:.0f} s (ASTRA_OTEL_SHUTDOWN_TIMEOUT); "
            f"raw SDK capped at {LIMIT_S:.0f} s",
        )
    ]
