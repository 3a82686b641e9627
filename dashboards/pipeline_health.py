"""``astra-pipeline-health``: is telemetry being lost, and where (SDK, collector, scrapes)?"""

from __future__ import annotations

from .metrics import (
    EXPORTER_QUEUE_CAPACITY,
    EXPORTER_QUEUE_SIZE,
    MASKED_LABEL,
    PROCESS_HEAP,
    PROCESS_RSS,
    PROCESS_UPTIME,
    REDACTED_SPANS,
    metric,
)
from .model import Dashboard, Panel, Query, Row
from .promql import COLLECTOR, SVC, agg, exporter_counter, rate, receiver_counter

__all__ = ["PIPELINE_HEALTH"]

QUEUE_SIZE = agg("max", "exporter, data_type", EXPORTER_QUEUE_SIZE, COLLECTOR)
QUEUE_CAP = agg("max", "exporter, data_type", EXPORTER_QUEUE_CAPACITY, COLLECTOR)
EXPORTED = metric("astra.telemetry.exported")
# A zero per service while the collector has masked nothing (its counters do not exist yet).
NOTHING_MASKED = f"{rate(EXPORTED, 'service_name')} * 0"
# Series whose labels the collector masked; its own span counter carries the label too (as
# the number of values masked per span), and is not one of them.
MASKED_SERIES = f'{{{MASKED_LABEL}!="", __name__!="{REDACTED_SPANS}", {SVC}}}'

PIPELINE_HEALTH = Dashboard(
    uid="astra-pipeline-health",
    title="astra-otel / Pipeline health",
    description="Is telemetry being lost, and where? The SDK in each service (dropped, "
    "exported, queued), then the collector's receivers (accepted / refused), exporters "
    "(sent / failed / failed to enqueue) and sending queues, and Prometheus' scrapes.",
    service_metric=EXPORTED,
    extra_variables=(
        {
            "name": "collector",
            "label": "Collector job",
            "metric": PROCESS_UPTIME,
            "label_name": "job",
        },
    ),
    rows=(
        Row(
            "Services (OpenTelemetry SDK)",
            (
                Panel(
                    "SDK dropped telemetry",
                    "Spans, metric points and log records the SDK dropped before they reached "
                    "the collector, by reason. Anything above zero is lost data.",
                    (
                        Query(
                            rate(
                                metric("astra.telemetry.dropped"),
                                "service_name, astra_telemetry_signal, astra_telemetry_reason",
                            ),
                            "{{service_name}} {{astra_telemetry_signal}} "
                            "({{astra_telemetry_reason}})",
                        ),
                    ),
                    "ops",
                    width=8,
                ),
                Panel(
                    "SDK exported telemetry",
                    "Items the SDK exported to the collector per second, by signal.",
                    (
                        Query(
                            rate(EXPORTED, "service_name, astra_telemetry_signal"),
                            "{{service_name}} {{astra_telemetry_signal}}",
                        ),
                    ),
                    "ops",
                    width=8,
                ),
                Panel(
                    "SDK export queue",
                    "Items waiting in the SDK's export queues.",
                    (
                        Query(
                            agg(
                                "max",
                                "service_name, astra_telemetry_signal",
                                metric("astra.telemetry.queue.size"),
                            ),
                            "{{service_name}} {{astra_telemetry_signal}}",
                        ),
                    ),
                    "short",
                    width=8,
                ),
            ),
        ),
        Row(
            "Collector receivers",
            (
                Panel(
                    "Accepted by receivers",
                    "Items per second the receivers pushed into the pipelines.",
                    receiver_counter("accepted"),
                    "ops",
                ),
                Panel(
                    "Refused by receivers",
                    "Items per second the receivers refused (memory limiter or full queue "
                    "pushing back): the senders see errors and may drop them.",
                    receiver_counter("refused"),
                    "ops",
                ),
            ),
        ),
        Row(
            "Collector exporters",
            (
                Panel(
                    "Sent by exporters",
                    "Items per second the exporters delivered to their backends.",
                    exporter_counter("sent"),
                    "ops",
                    width=8,
                ),
                Panel(
                    "Failed to send",
                    "Items per second that did not reach the backend after all retries, or "
                    "that it rejected for good: lost (0 while nothing failed).",
                    exporter_counter("send_failed", failure_only=True),
                    "ops",
                    width=8,
                ),
                Panel(
                    "Failed to enqueue (dropped)",
                    "Items per second dropped because the sending queue was full "
                    "(0 while none were).",
                    exporter_counter("enqueue_failed", failure_only=True),
                    "ops",
                    width=8,
                ),
                Panel(
                    "Sending queue: size and capacity",
                    "Batches waiting in each exporter's sending queue, against its capacity.",
                    (
                        Query(QUEUE_SIZE, "size {{exporter}} {{data_type}}"),
                        Query(QUEUE_CAP, "capacity {{exporter}} {{data_type}}"),
                    ),
                    "short",
                ),
                Panel(
                    "Sending queue fill ratio",
                    "Queue size over capacity; the AstraExporterQueueNearlyFull alert fires "
                    "above 70%.",
                    (Query(f"{QUEUE_SIZE} / {QUEUE_CAP}", "{{exporter}} {{data_type}}"),),
                    "percentunit",
                    max_value=1,
                ),
            ),
        ),
        Row(
            "Redaction by the collector",
            (
                Panel(
                    "Spans the collector had to redact",
                    "Spans per second in which the collector masked a value (****): a "
                    "service sent a secret its own process did not redact (one that does "
                    "not use astra_otel.setup(), or a secret setup()'s patterns miss). 0 is "
                    "the goal; Jaeger finds the spans by their tag redaction.masked.count. "
                    "Log records carry that attribute too but are not counted here (counting "
                    "them needs the count connector, which this build does not include).",
                    (
                        Query(
                            f"{rate(REDACTED_SPANS, 'service_name')} or {NOTHING_MASKED}",
                            "{{service_name}}",
                        ),
                    ),
                    "ops",
                ),
                Panel(
                    "Metric series with masked labels",
                    "Series whose labels the collector masked (they carry the label "
                    f"{MASKED_LABEL}): a metric attribute held a secret.",
                    (
                        Query(
                            f"count by (service_name) ({MASKED_SERIES}) or {NOTHING_MASKED}",
                            "{{service_name}}",
                        ),
                    ),
                    "short",
                ),
            ),
        ),
        Row(
            "Collector process and scrapes",
            (
                Panel(
                    "Collector memory",
                    "Resident memory and live heap of each collector process.",
                    (
                        Query(
                            agg("max", "job, instance", PROCESS_RSS, COLLECTOR),
                            "RSS {{job}} {{instance}}",
                        ),
                        Query(
                            agg("max", "job, instance", PROCESS_HEAP, COLLECTOR),
                            "heap {{job}} {{instance}}",
                        ),
                    ),
                    "bytes",
                ),
                Panel(
                    "Scrape targets up",
                    "1 when Prometheus' last scrape of the target succeeded.",
                    (Query('max by (job, instance) (up{job=~".+"})', "{{job}} {{instance}}"),),
                    "short",
                    max_value=1,
                ),
            ),
        ),
    ),
)
