"""The catalogue's instruments, created on an OpenTelemetry ``MeterProvider`` and guarded.

:class:`Catalogue` creates every instrument of :data:`~.instruments.SPECS` once and wraps
each in a :class:`CardinalityGuard`. Application code calls the typed ``record_*`` methods
(or the span helpers, which call them inside their span). :func:`get_catalogue` returns the
process-wide catalogue on the global providers; the OpenTelemetry API's proxy meter makes
it safe to create before ``astra_otel.setup()`` runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from opentelemetry import metrics, trace
from opentelemetry.metrics import Counter, MeterProvider
from opentelemetry.trace import TracerProvider
from opentelemetry.util.types import AttributeValue

from astra_otel._config.params import environ_snapshot
from astra_otel.catalogue import instruments as ins
from astra_otel.catalogue.guard import CARDINALITY_LIMIT, CardinalityGuard

__all__ = ["CB_STATES", "Catalogue", "GuardedInstrument", "get_catalogue", "set_catalogue"]

SCOPE = "astra_otel.catalogue"
CB_STATES = ("closed", "open", "half_open")

Attrs = Mapping[str, AttributeValue]
# An instrument's recording method: Counter/UpDownCounter.add, Histogram.record, Gauge.set.
_Record = Callable[[float, Attrs | None], None]


class GuardedInstrument:
    """One catalogue instrument behind its cardinality guard."""

    __slots__ = ("_fold", "_record", "spec")

    def __init__(self, spec: ins.InstrumentSpec, record: _Record, guard: CardinalityGuard):
        self.spec = spec
        self._record = record
        self._fold = guard.fold

    def record(self, value: float, attributes: Attrs | None = None) -> None:
        """Add (counter), record (histogram) or set (gauge) ``value`` with guarded attributes."""
        self._record(value, self._fold(attributes))


class Catalogue:
    """Every AstraGuard instrument, created once on ``meter_provider`` (global by default).

    ``cardinality_limit`` (else ``ASTRA_OTEL_CARDINALITY_LIMIT`` in ``environ``, else 100)
    caps the distinct attribute sets per instrument. ``tracer_provider`` is what the span
    helpers start spans on (global by default).
    """

    def __init__(
        self,
        *,
        meter_provider: MeterProvider | None = None,
        tracer_provider: TracerProvider | None = None,
        cardinality_limit: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = environ_snapshot() if environ is None else environ
        self.cardinality_limit = CARDINALITY_LIMIT.resolve(
            {"cardinality_limit": cardinality_limit}, env
        )
        meter = metrics.get_meter(SCOPE, meter_provider=meter_provider)
        self.tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        overflow_spec = ins.SPECS_BY_NAME["astra.cardinality.overflows"]
        self._overflows = meter.create_counter(
            overflow_spec.name, overflow_spec.unit, overflow_spec.description
        )
        self.instruments: dict[str, GuardedInstrument] = {}
        for spec in ins.SPECS:
            record = self._overflows.add if spec is overflow_spec else _create(meter, spec)
            guard = CardinalityGuard(
                self.cardinality_limit, spec.attributes, self._overflow_counter(spec.name)
            )
            self.instruments[spec.name] = GuardedInstrument(spec, record, guard)
        get = self.instruments.__getitem__
        self.cb_state = get("astra.circuit_breaker.state")
        self.cb_transitions = get("astra.circuit_breaker.transitions")
        self.cb_call_duration = get("astra.circuit_breaker.call.duration")
        self.retry_attempts = get("astra.retry.attempts")
        self.retry_overhead = get("astra.retry.overhead.duration")
        self.chaos_injections = get("astra.chaos.injections")
        self.chaos_recovery = get("astra.chaos.recovery.duration")
        self.recovery_actions = get("astra.recovery.actions")
        self.health_check_failures = get("astra.health_check.failures")
        self.anomaly_detections = get("astra.anomaly.detections")
        self.anomaly_duration = get("astra.anomaly.detection.duration")
        self.model_accuracy = get("astra.anomaly.model.accuracy")
        self.false_positives = get("astra.anomaly.false_positives")
        self.inference_duration = get("astra.model.inference.duration")
        self.memory_hits = get("astra.memory_engine.hits")
        self.memory_misses = get("astra.memory_engine.misses")
        self.memory_stored = get("astra.memory_engine.stored")
        self.memory_duration = get("astra.memory_engine.operation.duration")
        self.dependency_duration = get("astra.dependency.call.duration")
        self.errors = get("astra.errors")
        self.error_resolution = get("astra.error.resolution.duration")

    def _overflow_counter(self, name: str) -> _OverflowCount:
        return _OverflowCount(self._overflows, {ins.CARDINALITY_INSTRUMENT: name})

    # --- typed recorders: one per catalogue fact; the span helpers use them too ---

    def record_circuit_breaker_state(self, name: str, state: str) -> None:
        """Set the breaker's gauge: 1 for ``state``, 0 for its other states."""
        for candidate in CB_STATES:
            self.cb_state.record(
                1 if candidate == state else 0,
                {ins.CB_NAME: name, ins.CB_STATE: candidate},
            )

    def record_circuit_breaker_transition(self, name: str, from_state: str, to_state: str) -> None:
        """Count one transition and move the state gauge to ``to_state``."""
        self.cb_transitions.record(
            1, {ins.CB_NAME: name, ins.CB_FROM: from_state, ins.CB_TO: to_state}
        )
        self.record_circuit_breaker_state(name, to_state)

    def record_health_check_failure(self, check: str) -> None:
        """Count one failed health check."""
        self.health_check_failures.record(1, {ins.HEALTH_CHECK_NAME: check})

    def record_anomaly(self, severity: str) -> None:
        """Count one detected anomaly of ``severity`` (low, medium, high, critical)."""
        self.anomaly_detections.record(1, {ins.ANOMALY_SEVERITY: severity})

    def record_model_accuracy(self, model: str, accuracy: float) -> None:
        """Set the model's accuracy gauge (a value in [0, 1])."""
        self.model_accuracy.record(min(1.0, max(0.0, accuracy)), {ins.ANOMALY_MODEL: model})

    def record_false_positive(self) -> None:
        """Count one detection classified as a false positive."""
        self.false_positives.record(1)

    def record_memory_lookup(self, *, hit: bool) -> None:
        """Count one memory-engine lookup as a hit or a miss."""
        (self.memory_hits if hit else self.memory_misses).record(1)

    def record_memory_stored(self, size_bytes: int) -> None:
        """Set the bytes currently stored by the memory engine."""
        self.memory_stored.record(size_bytes)

    def record_error(self, error_type: str, route: str) -> None:
        """Count one handled error of ``error_type`` on ``route`` (the route template)."""
        self.errors.record(1, {ins.ERROR_TYPE: error_type, ins.HTTP_ROUTE: route})

    def record_error_resolution(self, seconds: float) -> None:
        """Record how long an error took to resolve."""
        self.error_resolution.record(seconds)


class _OverflowCount:
    """Callable that counts one folded measurement for one instrument."""

    __slots__ = ("_attributes", "_counter")

    def __init__(self, counter: Counter, attributes: dict[str, AttributeValue]) -> None:
        self._counter = counter
        self._attributes = attributes

    def __call__(self) -> None:
        self._counter.add(1, self._attributes)


def _create(meter: metrics.Meter, spec: ins.InstrumentSpec) -> _Record:
    """The new instrument's recording method (the API names the gauge class privately)."""
    kind = spec.kind
    if kind is ins.InstrumentKind.COUNTER:
        return meter.create_counter(spec.name, spec.unit, spec.description).add
    if kind is ins.InstrumentKind.UP_DOWN_COUNTER:
        return meter.create_up_down_counter(spec.name, spec.unit, spec.description).add
    if kind is ins.InstrumentKind.HISTOGRAM:
        return meter.create_histogram(
            spec.name,
            spec.unit,
            spec.description,
            explicit_bucket_boundaries_advisory=ins.DURATION_BUCKETS_S,
        ).record
    return meter.create_gauge(spec.name, spec.unit, spec.description).set


_default: Catalogue | None = None
_default_providers: tuple[object, object] | None = None
_default_lock = threading.Lock()


def _global_providers() -> tuple[object, object]:
    return metrics.get_meter_provider(), trace.get_tracer_provider()


def get_catalogue() -> Catalogue:
    """The process-wide catalogue on the global providers.

    Created on first use, and again whenever the global providers were replaced since (a
    ``setup()`` after first use, or ``astra_otel.testing`` resetting them between tests), so
    it never records into a provider that was shut down.
    """
    global _default, _default_providers  # noqa: PLW0603  # one cached default, like the OTel globals
    providers = _global_providers()
    current = _default
    if current is None or providers != _default_providers:
        with _default_lock:
            if _default is None or providers != _default_providers:
                _default = Catalogue()
                _default_providers = providers
            current = _default
    return current


def set_catalogue(catalogue: Catalogue | None) -> None:
    """Replace the process-wide catalogue (``None`` recreates it on next use); for tests.

    A catalogue set here is used until the global providers change.
    """
    global _default, _default_providers  # noqa: PLW0603  # see get_catalogue
    with _default_lock:
        _default = catalogue
        _default_providers = _global_providers() if catalogue is not None else None
