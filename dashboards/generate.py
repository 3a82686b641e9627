"""Writes the Grafana dashboards in dashboards/grafana/dashboards/ (dashboards as code).

Run ``.venv/bin/python dashboards/generate.py`` after changing a panel here; the JSON files
are committed (Grafana provisioning reads them) and tests/dashboards/ checks that they are
what this script writes, that they round-trip through the grafana-foundation-sdk's typed
models unchanged, and that every query returns data from the live stack.

Every dashboard has a ``datasource`` variable (Prometheus) and a ``service`` variable
(``service_name`` label, see docs/architecture.md "Prometheus naming contract"); rates use
``$__rate_interval``. Latency panels ask for exemplars, which the provisioned Prometheus
datasource links to the Jaeger datasource (dashboards/grafana/provisioning/datasources/).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARDS", "render", "write_all"]

OUT_DIR = Path(__file__).resolve().parent / "grafana" / "dashboards"
DS: dict[str, Any] = {"type": "prometheus", "uid": "${datasource}"}
SVC = 'service_name=~"$service"'
RI = "[$__rate_interval]"
COLLECTOR = 'job=~"$collector"'
Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One PromQL target: the expression, its legend, and whether it asks for exemplars."""

    expr: str
    legend: str
    exemplar: bool = False


@dataclass(frozen=True)
class Panel:
    """One panel: a time series (default) or a stat, ``width`` of 24 grid columns."""

    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str
    width: int = 12
    kind: str = "timeseries"
    mappings: tuple[Json, ...] = ()
    max_value: float | None = None


@dataclass(frozen=True)
class Row:
    """A titled row of panels."""

    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: its fixed uid, and the rows of panels under its variables."""

    uid: str
    title: str
    description: str
    service_metric: str
    rows: tuple[Row, ...]
    extra_variables: tuple[Json, ...] = field(default=())


# --- PromQL helpers -------------------------------------------------------------------


def rate(metric: str, by: str, selector: str = SVC) -> str:
    """Per-second rate of a counter summed by ``by`` labels."""
    return f"sum by ({by}) (rate({metric}{{{selector}}}{RI}))"


def agg(fn: str, by: str, metric: str, selector: str = SVC) -> str:
    """``fn by (by)`` over a gauge's current values."""
    return f"{fn} by ({by}) ({metric}{{{selector}}})"


def quantile(q: float, histogram: str, by: str, selector: str = SVC) -> str:
    """The ``q`` quantile of a histogram (``histogram`` is the name without ``_bucket``)."""
    return (
        f"histogram_quantile({q}, sum by (le, {by}) (rate({histogram}_bucket{{{selector}}}{RI})))"
    )


def percentiles(histogram: str, by: str, legend: str, exemplar: bool = True) -> tuple[Query, ...]:
    """p50, p95 and p99 of a histogram; the p99 query carries the exemplars."""
    return (
        Query(quantile(0.5, histogram, by), f"p50 {legend}"),
        Query(quantile(0.95, histogram, by), f"p95 {legend}"),
        Query(quantile(0.99, histogram, by), f"p99 {legend}", exemplar=exemplar),
    )


SIGNALS = (("spans", "spans"), ("metric_points", "metric points"), ("log_records", "log records"))


def per_signal(
    template: str, by: str, legend: str, selector: str, zero_from: str | None = None
) -> tuple[Query, ...]:
    """One rate query per signal for a collector counter named with ``{signal}``.

    The collector creates its failure counters on the first failure only; ``zero_from``
    (a counter that always exists, e.g. the sent items) then supplies a 0 for every
    exporter, so a healthy pipeline shows zero failures rather than "no data".
    """
    queries = []
    for signal, label in SIGNALS:
        expr = rate(template.format(signal=signal), by, selector)
        if zero_from is not None:
            expr = f"{expr} or {rate(zero_from.format(signal=signal), by, selector)} * 0"
        queries.append(Query(expr, f"{label} {legend}"))
    return tuple(queries)


def receiver_counter(name: str) -> tuple[Query, ...]:
    """``otelcol_receiver_<name>_<signal>`` per signal, by collector, receiver, transport."""
    return per_signal(
        f"otelcol_receiver_{name}_{{signal}}",
        "job, receiver, transport",
        "{{job}} {{receiver}}/{{transport}}",
        COLLECTOR,
    )


def exporter_counter(name: str, failure_only: bool = False) -> tuple[Query, ...]:
    """``otelcol_exporter_<name>_<signal>`` per signal, by collector and exporter."""
    return per_signal(
        f"otelcol_exporter_{name}_{{signal}}",
        "job, exporter",
        "{{job}} {{exporter}}",
        COLLECTOR,
        zero_from="otelcol_exporter_sent_{signal}" if failure_only else None,
    )


HTTP = "http_server_request_duration_seconds"
HTTP_COUNT = f"{HTTP}_count"
ERRORS_5XX = f'{SVC}, http_response_status_code=~"5.."'

# Gives 0 instead of no series for a route without 5xx, so the ratio exists for every route.
ERROR_RATIO_BY_ROUTE = (
    f"({rate(HTTP_COUNT, 'http_route', ERRORS_5XX)} or 0 * {rate(HTTP_COUNT, 'http_route')})"
    f" / {rate(HTTP_COUNT, 'http_route')}"
)
ERROR_RATIO = (
    f"(sum(rate({HTTP_COUNT}{{{ERRORS_5XX}}}{RI})) or 0 * sum(rate({HTTP_COUNT}{{{SVC}}}{RI})))"
    f" / sum(rate({HTTP_COUNT}{{{SVC}}}{RI}))"
)
CB = "astra_circuit_breaker_state"
# 0 closed, 1 half-open, 2 open: one series per breaker for a state timeline.
CB_STATE = (
    f'sum by (astra_circuit_breaker_name) (({CB}{{{SVC}, astra_circuit_breaker_state="open"}} * 2)'
    f' or {CB}{{{SVC}, astra_circuit_breaker_state="half_open"}}'
    f' or ({CB}{{{SVC}, astra_circuit_breaker_state="closed"}} * 0))'
)
CB_MAPPINGS: tuple[Json, ...] = (
    {
        "type": "value",
        "options": {
            "0": {"text": "closed", "color": "green", "index": 0},
            "1": {"text": "half-open", "color": "yellow", "index": 1},
            "2": {"text": "open", "color": "red", "index": 2},
        },
    },
)
HITS = f"sum(rate(astra_memory_engine_hits_total{{{SVC}}}{RI}))"
MISSES = f"sum(rate(astra_memory_engine_misses_total{{{SVC}}}{RI}))"
DETECTIONS = f"sum(rate(astra_anomaly_detections_total{{{SVC}}}{RI}))"
FALSE_POSITIVES = f"sum(rate(astra_anomaly_false_positives_total{{{SVC}}}{RI}))"
QUEUE_SIZE = f"max by (exporter, data_type) (otelcol_exporter_queue_size{{{COLLECTOR}}})"
QUEUE_CAP = f"max by (exporter, data_type) (otelcol_exporter_queue_capacity{{{COLLECTOR}}})"

# --- the dashboards -------------------------------------------------------------------

SERVICE_HEALTH = Dashboard(
    uid="astra-service-health",
    title="astra-otel / Service health",
    description="RED metrics of HTTP services from the stable semantic conventions "
    "(http.server.request.duration, http.server.active_requests): rate, errors, latency "
    "with exemplars that open the trace in Jaeger.",
    service_metric=HTTP_COUNT,
    rows=(
        Row(
            "Overview",
            (
                Panel(
                    "Request rate",
                    "Requests per second, all routes.",
                    (Query(f"sum(rate({HTTP_COUNT}{{{SVC}}}{RI}))", "requests/s"),),
                    "reqps",
                    width=8,
                    kind="stat",
                ),
                Panel(
                    "Error ratio (5xx)",
                    "Share of requests answered with a 5xx status, all routes.",
                    (Query(ERROR_RATIO, "5xx ratio"),),
                    "percentunit",
                    width=8,
                    kind="stat",
                ),
                Panel(
                    "p99 latency",
                    "99th percentile of the server-side request duration, all routes.",
                    (Query(quantile(0.99, HTTP, "service_name"), "p99"),),
                    "s",
                    width=8,
                    kind="stat",
                ),
            ),
        ),
        Row(
            "Traffic and errors",
            (
                Panel(
                    "Request rate by route",
                    "Requests per second by route and method.",
                    (
                        Query(
                            rate(HTTP_COUNT, "http_route, http_request_method"),
                            "{{http_request_method}} {{http_route}}",
                        ),
                    ),
                    "reqps",
                ),
                Panel(
                    "Error ratio by route (5xx)",
                    "Share of each route's requests answered with a 5xx status.",
                    (Query(ERROR_RATIO_BY_ROUTE, "{{http_route}}"),),
                    "percentunit",
                ),
                Panel(
                    "Responses by status code",
                    "Responses per second by HTTP status code.",
                    (
                        Query(
                            rate(HTTP_COUNT, "http_response_status_code"),
                            "{{http_response_status_code}}",
                        ),
                    ),
                    "reqps",
                ),
                Panel(
                    "Handled errors by type",
                    "Errors the application handled (astra.errors), by error.type and route.",
                    (
                        Query(
                            rate("astra_errors_total", "error_type, http_route"),
                            "{{error_type}} {{http_route}}",
                        ),
                    ),
                    "ops",
                ),
            ),
        ),
        Row(
            "Latency",
            (
                Panel(
                    "Latency by route (p50 / p95 / p99)",
                    "Server-side request duration percentiles by route. The dots are "
                    "exemplars: click one to open its trace in Jaeger.",
                    percentiles(HTTP, "http_route", "{{http_route}}"),
                    "s",
                    width=16,
                ),
                Panel(
                    "Active requests",
                    "Requests in flight (http.server.active_requests) by method.",
                    (
                        Query(
                            f"sum by (http_request_method) (http_server_active_requests{{{SVC}}})",
                            "{{http_request_method}}",
                        ),
                    ),
                    "short",
                    width=8,
                ),
            ),
        ),
        Row(
            "Payload sizes",
            (
                Panel(
                    "Request body size by route (p50 / p95)",
                    "http.server.request.body.size by route: requests that carry a body.",
                    (
                        Query(
                            quantile(0.5, "http_server_request_body_size_bytes", "http_route"),
                            "p50 {{http_route}}",
                        ),
                        Query(
                            quantile(0.95, "http_server_request_body_size_bytes", "http_route"),
                            "p95 {{http_route}}",
                        ),
                    ),
                    "bytes",
                    width=12,
                ),
                Panel(
                    "Response body size by route (p50 / p95)",
                    "http.server.response.body.size by route.",
                    (
                        Query(
                            quantile(0.5, "http_server_response_body_size_bytes", "http_route"),
                            "p50 {{http_route}}",
                        ),
                        Query(
                            quantile(0.95, "http_server_response_body_size_bytes", "http_route"),
                            "p95 {{http_route}}",
                        ),
                    ),
                    "bytes",
                    width=12,
                ),
            ),
        ),
        Row(
            "Dependencies and cache",
            (
                Panel(
                    "Dependency call latency (p50 / p95 / p99)",
                    "Outbound calls as the application sees them (astra.dependency.call."
                    "duration); the dots are exemplars linking to the traces.",
                    percentiles(
                        "astra_dependency_call_duration_seconds",
                        "astra_dependency_name",
                        "{{astra_dependency_name}}",
                    ),
                    "s",
                ),
                Panel(
                    "Memory engine hit ratio",
                    "Lookups that found an entry, over all lookups.",
                    (Query(f"{HITS} / ({HITS} + {MISSES})", "hit ratio"),),
                    "percentunit",
                    width=6,
                    max_value=1,
                ),
                Panel(
                    "Memory engine stored bytes",
                    "Bytes currently held by the memory engine.",
                    (
                        Query(
                            agg("sum", "service_instance_id", "astra_memory_engine_stored_bytes"),
                            "{{service_instance_id}}",
                        ),
                    ),
                    "bytes",
                    width=6,
                ),
                Panel(
                    "Memory engine operation latency (p95)",
                    "95th percentile of memory engine operations by operation.",
                    (
                        Query(
                            quantile(
                                0.95,
                                "astra_memory_engine_operation_duration_seconds",
                                "astra_memory_engine_operation",
                            ),
                            "{{astra_memory_engine_operation}}",
                        ),
                    ),
                    "s",
                    width=24,
                ),
            ),
        ),
    ),
)

RELIABILITY = Dashboard(
    uid="astra-reliability",
    title="astra-otel / Reliability and resilience",
    description="Circuit breakers, retries, chaos injections and recovery, recovery actions, "
    "health checks and error resolution (the AstraGuard catalogue).",
    service_metric=CB,
    rows=(
        Row(
            "Circuit breakers",
            (
                Panel(
                    "Circuit breaker state",
                    "Current state of each breaker: closed, half-open or open.",
                    (Query(CB_STATE, "{{astra_circuit_breaker_name}}"),),
                    "short",
                    width=24,
                    kind="state-timeline",
                    mappings=CB_MAPPINGS,
                ),
                Panel(
                    "Circuit breaker transitions",
                    "State changes per interval, by breaker and from/to state.",
                    (
                        Query(
                            "sum by (astra_circuit_breaker_name, astra_circuit_breaker_from_state, "
                            "astra_circuit_breaker_to_state) (increase("
                            f"astra_circuit_breaker_transitions_total{{{SVC}}}{RI}))",
                            "{{astra_circuit_breaker_name}}: {{astra_circuit_breaker_from_state}}"
                            " -> {{astra_circuit_breaker_to_state}}",
                        ),
                    ),
                    "short",
                ),
                Panel(
                    "Calls through breakers (p95)",
                    "95th percentile duration of calls made through each breaker.",
                    (
                        Query(
                            quantile(
                                0.95,
                                "astra_circuit_breaker_call_duration_seconds",
                                "astra_circuit_breaker_name",
                            ),
                            "{{astra_circuit_breaker_name}}",
                            exemplar=True,
                        ),
                    ),
                    "s",
                ),
            ),
        ),
        Row(
            "Retries",
            (
                Panel(
                    "Retry attempts by outcome",
                    "Attempts per second of retried operations, by operation and outcome.",
                    (
                        Query(
                            rate(
                                "astra_retry_attempts_total",
                                "astra_retry_operation, astra_retry_outcome",
                            ),
                            "{{astra_retry_operation}} {{astra_retry_outcome}}",
                        ),
                    ),
                    "ops",
                ),
                Panel(
                    "Retry overhead (p95)",
                    "Time spent in attempts after the first one, 95th percentile.",
                    (
                        Query(
                            quantile(
                                0.95,
                                "astra_retry_overhead_duration_seconds",
                                "astra_retry_operation",
                            ),
                            "{{astra_retry_operation}}",
                        ),
                    ),
                    "s",
                ),
            ),
        ),
        Row(
            "Chaos and recovery",
            (
                Panel(
                    "Chaos injections",
                    "Faults injected on purpose, per second, by kind.",
                    (
                        Query(
                            rate("astra_chaos_injections_total", "astra_chaos_kind"),
                            "{{astra_chaos_kind}}",
                        ),
                    ),
                    "ops",
                    width=8,
                ),
                Panel(
                    "Recovery time after chaos (p95)",
                    "Time from a fault injection until the system recovered, by kind.",
                    (
                        Query(
                            quantile(
                                0.95, "astra_chaos_recovery_duration_seconds", "astra_chaos_kind"
                            ),
                            "{{astra_chaos_kind}}",
                        ),
                    ),
                    "s",
                    width=8,
                ),
                Panel(
                    "Recovery actions",
                    "Recovery actions per second, by action and outcome.",
                    (
                        Query(
                            rate(
                                "astra_recovery_actions_total",
                                "astra_recovery_action, astra_recovery_outcome",
                            ),
                            "{{astra_recovery_action}} {{astra_recovery_outcome}}",
                        ),
                    ),
                    "ops",
                    width=8,
                ),
                Panel(
                    "Health check failures",
                    "Failed health checks per second, by check.",
                    (
                        Query(
                            rate("astra_health_check_failures_total", "astra_health_check_name"),
                            "{{astra_health_check_name}}",
                        ),
                    ),
                    "ops",
                ),
                Panel(
                    "Error resolution time (p50 / p95)",
                    "Time from an error until it was resolved.",
                    (
                        Query(
                            quantile(
                                0.5, "astra_error_resolution_duration_seconds", "service_name"
                            ),
                            "p50",
                        ),
                        Query(
                            quantile(
                                0.95, "astra_error_resolution_duration_seconds", "service_name"
                            ),
                            "p95",
                        ),
                    ),
                    "s",
                ),
            ),
        ),
    ),
)

ANOMALY = Dashboard(
    uid="astra-anomaly-detection",
    title="astra-otel / Anomaly detection",
    description="Detection rate by severity, detection and inference latency, model "
    "accuracy and false positives (the AstraGuard catalogue).",
    service_metric="astra_anomaly_detections_total",
    rows=(
        Row(
            "Detections",
            (
                Panel(
                    "Detections by severity",
                    "Anomalies detected per second, by severity.",
                    (
                        Query(
                            rate("astra_anomaly_detections_total", "astra_anomaly_severity"),
                            "{{astra_anomaly_severity}}",
                        ),
                    ),
                    "ops",
                ),
                Panel(
                    "Detection latency (p50 / p95 / p99)",
                    "Duration of one detection pass.",
                    percentiles(
                        "astra_anomaly_detection_duration_seconds",
                        "service_name",
                        "{{service_name}}",
                    ),
                    "s",
                ),
            ),
        ),
        Row(
            "Model quality",
            (
                Panel(
                    "Model accuracy",
                    "Accuracy of each detection model, in [0, 1].",
                    (
                        Query(
                            agg("max", "astra_anomaly_model", "astra_anomaly_model_accuracy_ratio"),
                            "{{astra_anomaly_model}}",
                        ),
                    ),
                    "percentunit",
                    width=8,
                    max_value=1,
                ),
                Panel(
                    "False positives",
                    "Detections later classified as false positives, per second, and their "
                    "share of all detections.",
                    (
                        Query(FALSE_POSITIVES, "false positives/s"),
                        Query(f"{FALSE_POSITIVES} / {DETECTIONS}", "false-positive share"),
                    ),
                    "short",
                    width=8,
                ),
                Panel(
                    "Model inference latency (p95)",
                    "95th percentile of one model inference, by model.",
                    (
                        Query(
                            quantile(
                                0.95,
                                "astra_model_inference_duration_seconds",
                                "astra_anomaly_model",
                            ),
                            "{{astra_anomaly_model}}",
                            exemplar=True,
                        ),
                    ),
                    "s",
                    width=8,
                ),
            ),
        ),
    ),
)

PIPELINE = Dashboard(
    uid="astra-pipeline-health",
    title="astra-otel / Pipeline health",
    description="Is telemetry being lost, and where? The SDK in each service (dropped, "
    "exported, queued), then the collector's receivers (accepted / refused), exporters "
    "(sent / failed / failed to enqueue) and sending queues, and Prometheus' scrapes.",
    service_metric="astra_telemetry_exported_total",
    extra_variables=(
        {
            "name": "collector",
            "label": "Collector job",
            "metric": "otelcol_process_uptime",
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
                                "astra_telemetry_dropped_total",
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
                            rate(
                                "astra_telemetry_exported_total",
                                "service_name, astra_telemetry_signal",
                            ),
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
                            "max by (service_name, astra_telemetry_signal) "
                            f"(astra_telemetry_queue_size{{{SVC}}})",
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
            "Collector process and scrapes",
            (
                Panel(
                    "Collector memory",
                    "Resident memory and live heap of each collector process.",
                    (
                        Query(
                            agg(
                                "max",
                                "job, instance",
                                "otelcol_process_memory_rss",
                                COLLECTOR,
                            ),
                            "RSS {{job}} {{instance}}",
                        ),
                        Query(
                            agg(
                                "max",
                                "job, instance",
                                "otelcol_process_runtime_heap_alloc_bytes",
                                COLLECTOR,
                            ),
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

DASHBOARDS: tuple[Dashboard, ...] = (SERVICE_HEALTH, RELIABILITY, ANOMALY, PIPELINE)

# --- rendering ------------------------------------------------------------------------


def _target(ref: str, query: Query) -> Json:
    return {
        "expr": query.expr,
        "refId": ref,
        "range": True,
        "exemplar": query.exemplar,
        "editorMode": "code",
        "legendFormat": query.legend,
        "datasource": DS,
    }


# Panel options by panel type: legends shown as tables with the last and max values, a
# shared tooltip; the rest is Grafana's defaults (the round-trip test fills them in).
_OPTIONS: dict[str, Json] = {
    "timeseries": {
        "legend": {
            "displayMode": "table",
            "placement": "bottom",
            "showLegend": True,
            "calcs": ["lastNotNull", "max"],
        },
        "tooltip": {"mode": "multi", "sort": "desc"},
    },
    "stat": {
        "reduceOptions": {"calcs": ["lastNotNull"]},
        "graphMode": "area",
        "colorMode": "value",
    },
    "state-timeline": {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "single", "sort": "none"},
        "mergeValues": True,
        "showValue": "auto",
    },
}
_CUSTOM: dict[str, Json] = {
    "timeseries": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"},
    "stat": {},
    "state-timeline": {"lineWidth": 0, "fillOpacity": 70},
}


def _field_config(panel: Panel) -> Json:
    defaults: Json = {"unit": panel.unit, "min": 0, "custom": _CUSTOM[panel.kind]}
    if panel.max_value is not None:
        defaults["max"] = panel.max_value
    if panel.mappings:
        defaults["mappings"] = list(panel.mappings)
    return {"defaults": defaults, "overrides": []}


def _panel(panel: Panel, pid: int, x: int, y: int) -> Json:
    refs = "ABCDEFGH"
    return {
        "type": panel.kind,
        "transparent": False,
        "transformations": [],
        "options": _OPTIONS[panel.kind],
        "fieldConfig": _field_config(panel),
        "id": pid,
        "targets": [_target(refs[i], q) for i, q in enumerate(panel.queries)],
        "title": panel.title,
        "description": panel.description,
        "datasource": DS,
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
    }


def _variables(dash: Dashboard) -> list[Json]:
    variables: list[Json] = [
        {
            "type": "datasource",
            "name": "datasource",
            "label": "Data source",
            "query": "prometheus",
            "current": {"text": "Prometheus", "value": "astra-prometheus"},
            "hide": 0,
            "skipUrlSync": False,
        },
        _query_variable("service", "Service", dash.service_metric, "service_name"),
    ]
    variables.extend(
        _query_variable(v["name"], v["label"], v["metric"], v["label_name"])
        for v in dash.extra_variables
    )
    return variables


def _query_variable(name: str, label: str, metric: str, label_name: str) -> Json:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "query": f"label_values({metric}, {label_name})",
        "datasource": DS,
        "current": {"text": "All", "value": "$__all"},
        "multi": True,
        "includeAll": True,
        "allValue": ".+",
        "refresh": 2,
        "sort": 1,
        "hide": 0,
        "skipUrlSync": False,
    }


def render(dash: Dashboard) -> Json:
    """The dashboard's JSON model, in the form Grafana's schema (v36+) describes."""
    panels: list[Json] = []
    pid, y = 1, 0
    for row in dash.rows:
        panels.append(
            {
                "type": "row",
                "collapsed": False,
                "id": pid,
                "panels": [],
                "title": row.title,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
            }
        )
        pid, y, x = pid + 1, y + 1, 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y = 0, y + 8
            panels.append(_panel(panel, pid, x, y))
            pid, x = pid + 1, x + panel.width
        y += 8
    return {
        "uid": dash.uid,
        "title": dash.title,
        "description": dash.description,
        "tags": ["astra-otel"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-30m", "to": "now"},
        "refresh": "10s",
        "schemaVersion": 39,
        "panels": panels,
        "templating": {"list": _variables(dash)},
        "annotations": {"list": []},
    }


def write_all(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write every dashboard as ``<uid>.json`` under ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for dash in DASHBOARDS:
        path = out_dir / f"{dash.uid}.json"
        path.write_text(json.dumps(render(dash), indent=2) + "\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR):
        print(written)  # noqa: T201 - a command-line script reports what it wrote
