"""The AstraGuard metric catalogue as data: every instrument's name, kind, unit and attributes.

This table is the contract dashboards and alert rules are built on. ``docs/catalogue.md``
renders it (a test keeps the two identical) and :func:`prometheus_name` states the name each
instrument gets after the collector's ``prometheus`` exporter (unit and ``_total`` suffixes).
HTTP server metrics are not here: they come from the FastAPI instrumentation's stable
semantic conventions (``http.server.request.duration`` and friends).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "DURATION_BUCKETS_S",
    "SPECS",
    "SPECS_BY_NAME",
    "InstrumentKind",
    "InstrumentSpec",
    "prometheus_name",
]

# Bucket boundaries in seconds, 5 ms .. 10 s: the semantic conventions' advice for
# durations. setup()'s View gives them to every histogram in ``s`` and the HTTP server
# middleware advises them, so the catalogue's advisory matters only under another SDK
# configuration.
DURATION_BUCKETS_S: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)


class InstrumentKind(Enum):
    """The OpenTelemetry instrument type; the value is what the catalogue table shows."""

    COUNTER = "Counter"
    UP_DOWN_COUNTER = "UpDownCounter"
    HISTOGRAM = "Histogram"
    GAUGE = "Gauge"


@dataclass(frozen=True)
class InstrumentSpec:
    """One catalogue instrument: OpenTelemetry name, kind, UCUM unit and attribute keys."""

    name: str
    kind: InstrumentKind
    unit: str
    description: str
    attributes: tuple[str, ...] = ()


# Attribute keys (bounded value sets; the cardinality guard enforces the bound anyway).
CB_NAME = "astra.circuit_breaker.name"
CB_STATE = "astra.circuit_breaker.state"
CB_FROM = "astra.circuit_breaker.from_state"
CB_TO = "astra.circuit_breaker.to_state"
RETRY_OPERATION = "astra.retry.operation"
RETRY_OUTCOME = "astra.retry.outcome"
CHAOS_KIND = "astra.chaos.kind"
RECOVERY_ACTION = "astra.recovery.action"
RECOVERY_OUTCOME = "astra.recovery.outcome"
HEALTH_CHECK_NAME = "astra.health_check.name"
ANOMALY_SEVERITY = "astra.anomaly.severity"
ANOMALY_MODEL = "astra.anomaly.model"
MEMORY_OPERATION = "astra.memory_engine.operation"
DEPENDENCY_NAME = "astra.dependency.name"
CARDINALITY_INSTRUMENT = "astra.cardinality.instrument"
ERROR_TYPE = "error.type"
HTTP_ROUTE = "http.route"

_C = InstrumentKind.COUNTER
_H = InstrumentKind.HISTOGRAM
_G = InstrumentKind.GAUGE

SPECS: tuple[InstrumentSpec, ...] = (
    # --- reliability: circuit breakers, retries, chaos, recovery, health checks ---
    InstrumentSpec(
        "astra.circuit_breaker.state",
        _G,
        "{state}",
        "1 for the breaker's current state, 0 for its other states",
        (CB_NAME, CB_STATE),
    ),
    InstrumentSpec(
        "astra.circuit_breaker.transitions",
        _C,
        "{transition}",
        "Circuit breaker state transitions",
        (CB_NAME, CB_FROM, CB_TO),
    ),
    InstrumentSpec(
        "astra.circuit_breaker.call.duration",
        _H,
        "s",
        "Duration of calls made through a circuit breaker",
        (CB_NAME,),
    ),
    InstrumentSpec(
        "astra.retry.attempts",
        _C,
        "{attempt}",
        "Attempts of retried operations, by outcome (success, failure, exhausted)",
        (RETRY_OPERATION, RETRY_OUTCOME),
    ),
    InstrumentSpec(
        "astra.retry.overhead.duration",
        _H,
        "s",
        "Time spent in attempts after the first one",
        (RETRY_OPERATION,),
    ),
    InstrumentSpec(
        "astra.chaos.injections",
        _C,
        "{injection}",
        "Faults injected on purpose",
        (CHAOS_KIND,),
    ),
    InstrumentSpec(
        "astra.chaos.recovery.duration",
        _H,
        "s",
        "Time from a fault injection until the system recovered",
        (CHAOS_KIND,),
    ),
    InstrumentSpec(
        "astra.recovery.actions",
        _C,
        "{action}",
        "Recovery actions taken, by outcome (success, failure)",
        (RECOVERY_ACTION, RECOVERY_OUTCOME),
    ),
    InstrumentSpec(
        "astra.health_check.failures",
        _C,
        "{failure}",
        "Failed health checks",
        (HEALTH_CHECK_NAME,),
    ),
    # --- anomaly detection ---
    InstrumentSpec(
        "astra.anomaly.detections",
        _C,
        "{detection}",
        "Anomalies detected, by severity (low, medium, high, critical)",
        (ANOMALY_SEVERITY,),
    ),
    InstrumentSpec(
        "astra.anomaly.detection.duration",
        _H,
        "s",
        "Duration of one anomaly detection pass",
    ),
    InstrumentSpec(
        "astra.anomaly.model.accuracy",
        _G,
        "1",
        "Detection model accuracy, in [0, 1]",
        (ANOMALY_MODEL,),
    ),
    InstrumentSpec(
        "astra.anomaly.false_positives",
        _C,
        "{detection}",
        "Detections later classified as false positives",
    ),
    InstrumentSpec(
        "astra.model.inference.duration",
        _H,
        "s",
        "Duration of one model inference",
        (ANOMALY_MODEL,),
    ),
    # --- memory engine (cache) ---
    InstrumentSpec(
        "astra.memory_engine.hits",
        _C,
        "{lookup}",
        "Memory engine lookups that found an entry",
    ),
    InstrumentSpec(
        "astra.memory_engine.misses",
        _C,
        "{lookup}",
        "Memory engine lookups that found nothing",
    ),
    InstrumentSpec(
        "astra.memory_engine.stored",
        _G,
        "By",
        "Bytes currently stored by the memory engine",
    ),
    InstrumentSpec(
        "astra.memory_engine.operation.duration",
        _H,
        "s",
        "Duration of memory engine operations",
        (MEMORY_OPERATION,),
    ),
    # --- dependencies and errors ---
    InstrumentSpec(
        "astra.dependency.call.duration",
        _H,
        "s",
        "Duration of outbound dependency calls, as the application sees them",
        (DEPENDENCY_NAME,),
    ),
    InstrumentSpec(
        "astra.errors",
        _C,
        "{error}",
        "Errors handled by the application",
        (ERROR_TYPE, HTTP_ROUTE),
    ),
    InstrumentSpec(
        "astra.error.resolution.duration",
        _H,
        "s",
        "Time from an error until it was resolved",
    ),
    # --- the catalogue's own health ---
    InstrumentSpec(
        "astra.cardinality.overflows",
        _C,
        "{measurement}",
        "Measurements whose attributes were folded into the overflow series",
        (CARDINALITY_INSTRUMENT,),
    ),
)

SPECS_BY_NAME: dict[str, InstrumentSpec] = {spec.name: spec for spec in SPECS}

# The collector's prometheus exporter appends these for the unit (UCUM -> Prometheus words);
# annotation units such as ``{lookup}`` add nothing.
_UNIT_SUFFIX = {"s": "seconds", "By": "bytes", "ms": "milliseconds"}


def prometheus_name(spec: InstrumentSpec) -> str:
    """The metric family name the collector's ``prometheus`` exporter gives ``spec``.

    Dots become underscores, the unit adds its word (``s`` -> ``seconds``, ``By`` ->
    ``bytes``, ``1`` on a gauge -> ``ratio``), a counter adds ``_total``. Histogram series
    are this name plus ``_bucket``, ``_sum`` and ``_count``.
    """
    base = spec.name.replace(".", "_")
    parts = [base]
    if spec.unit in _UNIT_SUFFIX:
        parts.append(_UNIT_SUFFIX[spec.unit])
    elif spec.unit == "1" and spec.kind is InstrumentKind.GAUGE:
        parts.append("ratio")
    if spec.kind is InstrumentKind.COUNTER:
        parts.append("total")
    return "_".join(parts)
