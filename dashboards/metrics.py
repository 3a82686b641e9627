"""The metric names the dashboards query, as Prometheus stores them.

Application metrics are named from their OpenTelemetry instruments by the catalogue's
:func:`~astra_otel.catalogue.instruments.prometheus_name`: the AstraGuard catalogue's own,
and the instruments ``setup()`` creates beside it (the stable HTTP server conventions, the
SDK pipeline's ``astra.telemetry.*``). The collector names its own ``otelcol_*`` metrics;
they are spelled here, once.
"""

from __future__ import annotations

from astra_otel.catalogue.instruments import (
    SPECS_BY_NAME,
    InstrumentKind,
    InstrumentSpec,
    prometheus_name,
)

__all__ = [
    "COLLECTOR_MADE",
    "EXPORTER_COUNTER",
    "EXPORTER_QUEUE_CAPACITY",
    "EXPORTER_QUEUE_SIZE",
    "MASKED_LABEL",
    "PROCESS_HEAP",
    "PROCESS_RSS",
    "PROCESS_UPTIME",
    "RECEIVER_COUNTER",
    "REDACTED_SPANS",
    "SETUP_INSTRUMENTS",
    "SIGNALS",
    "metric",
]

SETUP_INSTRUMENTS = {
    spec.name: spec
    for spec in (
        InstrumentSpec("http.server.request.duration", InstrumentKind.HISTOGRAM, "s", ""),
        InstrumentSpec(
            "http.server.active_requests", InstrumentKind.UP_DOWN_COUNTER, "{request}", ""
        ),
        InstrumentSpec("http.server.request.body.size", InstrumentKind.HISTOGRAM, "By", ""),
        InstrumentSpec("http.server.response.body.size", InstrumentKind.HISTOGRAM, "By", ""),
        InstrumentSpec("astra.telemetry.exported", InstrumentKind.COUNTER, "{item}", ""),
        InstrumentSpec("astra.telemetry.dropped", InstrumentKind.COUNTER, "{item}", ""),
        InstrumentSpec("astra.telemetry.queue.size", InstrumentKind.GAUGE, "{item}", ""),
    )
}
"""Instruments ``setup()`` creates that are not in the AstraGuard catalogue."""


def metric(instrument: str) -> str:
    """The Prometheus name of the OpenTelemetry instrument ``instrument`` (a catalogue or
    ``setup()`` instrument: any other name is a KeyError, so a renamed one is caught)."""
    spec = SPECS_BY_NAME.get(instrument) or SETUP_INSTRUMENTS[instrument]
    return prometheus_name(spec)


# --- the collector's own metrics ------------------------------------------------------

RECEIVER_COUNTER = "otelcol_receiver_{name}_{signal}"
EXPORTER_COUNTER = "otelcol_exporter_{name}_{signal}"
EXPORTER_QUEUE_SIZE = "otelcol_exporter_queue_size"
EXPORTER_QUEUE_CAPACITY = "otelcol_exporter_queue_capacity"
PROCESS_UPTIME = "otelcol_process_uptime"
PROCESS_RSS = "otelcol_process_memory_rss"
PROCESS_HEAP = "otelcol_process_runtime_heap_alloc_bytes"
# Made by the collector's pipelines (collector/otel-collector.yaml, processors.redaction):
# spans the collector had to redact, counted by its spanmetrics/redaction connector, and the
# label its redaction processor puts on a metric series whose labels it masked. Both exist
# only once the collector has masked something.
REDACTED_SPANS = "astra_redaction_calls_total"
MASKED_LABEL = "redaction_masked_count"
COLLECTOR_MADE = ("otelcol_", REDACTED_SPANS)
"""Metric names (prefixes) the collector makes; no instrument names them."""
SIGNALS = (("spans", "spans"), ("metric_points", "metric points"), ("log_records", "log records"))
"""The ``{signal}`` of the collector's per-signal counters, and how a legend says it."""
