"""``astra-service-health``: RED metrics of HTTP services, dependencies and the cache."""

from __future__ import annotations

from .metrics import metric
from .model import Dashboard, Panel, Query, Row
from .promql import RI, SVC, agg, percentiles, quantile, rate

__all__ = ["SERVICE_HEALTH"]

HTTP = metric("http.server.request.duration")
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
HITS = f"sum(rate({metric('astra.memory_engine.hits')}{{{SVC}}}{RI}))"
MISSES = f"sum(rate({metric('astra.memory_engine.misses')}{{{SVC}}}{RI}))"


def _body_size(direction: str, description: str) -> Panel:
    """p50 and p95 of ``http.server.<direction>.body.size`` by route."""
    instrument = f"http.server.{direction}.body.size"
    return Panel(
        f"{direction.capitalize()} body size by route (p50 / p95)",
        f"{instrument} by route{description}.",
        percentiles(
            metric(instrument),
            "http_route",
            "{{http_route}}",
            quantiles=(0.5, 0.95),
            exemplar=False,
        ),
        "bytes",
        width=12,
    )


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
            tuple(
                Panel(title, description, (query,), unit, width=8, kind="stat")
                for title, description, query, unit in (
                    (
                        "Request rate",
                        "Requests per second, all routes.",
                        Query(f"sum(rate({HTTP_COUNT}{{{SVC}}}{RI}))", "requests/s"),
                        "reqps",
                    ),
                    (
                        "Error ratio (5xx)",
                        "Share of requests answered with a 5xx status, all routes.",
                        Query(ERROR_RATIO, "5xx ratio"),
                        "percentunit",
                    ),
                    (
                        "p99 latency",
                        "99th percentile of the server-side request duration, all routes.",
                        Query(quantile(0.99, HTTP, "service_name"), "p99"),
                        "s",
                    ),
                )
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
                            rate(metric("astra.errors"), "error_type, http_route"),
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
                    "exemplars: click one to open its trace in Jaeger. Without Grafana, "
                    "`astra-otel stack exemplars` lists the slowest as links into the viewer "
                    "(/traces/<trace_id>?span=<span_id>).",
                    percentiles(HTTP, "http_route", "{{http_route}}"),
                    "s",
                    width=16,
                ),
                Panel(
                    "Active requests",
                    "Requests in flight (http.server.active_requests) by method.",
                    (
                        Query(
                            agg(
                                "sum",
                                "http_request_method",
                                metric("http.server.active_requests"),
                            ),
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
                _body_size("request", ": requests that carry a body"),
                _body_size("response", ""),
            ),
        ),
        Row(
            "Dependencies and cache",
            (
                Panel(
                    "Dependency call latency (p50 / p95 / p99)",
                    "Outbound calls as the application sees them (astra.dependency.call."
                    "duration); the dots are exemplars linking to the traces (without "
                    "Grafana: `astra-otel stack exemplars`, links into the viewer).",
                    percentiles(
                        metric("astra.dependency.call.duration"),
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
                            agg(
                                "sum",
                                "service_instance_id",
                                metric("astra.memory_engine.stored"),
                            ),
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
                                metric("astra.memory_engine.operation.duration"),
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
