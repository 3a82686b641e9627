"""``astra-reliability``: circuit breakers, retries, chaos and recovery, health checks."""

from __future__ import annotations

from .metrics import metric
from .model import Dashboard, Json, Panel, Query, Row
from .promql import RI, SVC, percentiles, quantile, rate

__all__ = ["RELIABILITY"]

CB = metric("astra.circuit_breaker.state")
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
                            f"{metric('astra.circuit_breaker.transitions')}{{{SVC}}}{RI}))",
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
                                metric("astra.circuit_breaker.call.duration"),
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
                                metric("astra.retry.attempts"),
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
                                metric("astra.retry.overhead.duration"),
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
                            rate(metric("astra.chaos.injections"), "astra_chaos_kind"),
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
                                0.95,
                                metric("astra.chaos.recovery.duration"),
                                "astra_chaos_kind",
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
                                metric("astra.recovery.actions"),
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
                            rate(
                                metric("astra.health_check.failures"),
                                "astra_health_check_name",
                            ),
                            "{{astra_health_check_name}}",
                        ),
                    ),
                    "ops",
                ),
                Panel(
                    "Error resolution time (p50 / p95)",
                    "Time from an error until it was resolved.",
                    percentiles(
                        metric("astra.error.resolution.duration"),
                        "service_name",
                        "",
                        quantiles=(0.5, 0.95),
                        exemplar=False,
                    ),
                    "s",
                ),
            ),
        ),
    ),
)
