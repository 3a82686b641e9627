"""The catalogue's instruments: names, units, types, attribute keys, buckets, Prometheus names."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from opentelemetry.sdk.metrics.export import Gauge, Histogram, Sum

from astra_otel.catalogue import SPECS, InstrumentKind, InstrumentSpec, prometheus_name
from astra_otel.catalogue.instruments import DURATION_BUCKETS_S, SPECS_BY_NAME

if TYPE_CHECKING:
    from tests.catalogue.conftest import Captured

_DATA_TYPE = {
    InstrumentKind.COUNTER: Sum,
    InstrumentKind.UP_DOWN_COUNTER: Sum,
    InstrumentKind.HISTOGRAM: Histogram,
    InstrumentKind.GAUGE: Gauge,
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_instrument_has_declared_name_unit_type_and_attributes(
    captured: Captured, spec: InstrumentSpec
) -> None:
    """Recording on a catalogue instrument yields a metric with the declared shape."""
    attributes = {key: "v" for key in spec.attributes}
    captured.catalogue.instruments[spec.name].record(0.5, attributes)
    metric = captured.metrics()[spec.name]
    assert metric.unit == spec.unit
    assert isinstance(metric.data, _DATA_TYPE[spec.kind])
    if isinstance(metric.data, Sum):
        assert metric.data.is_monotonic is (spec.kind is InstrumentKind.COUNTER)
    points = list(metric.data.data_points)
    assert len(points) == 1
    assert set(points[0].attributes or {}) == set(spec.attributes)


def test_histograms_use_second_buckets(captured: Captured) -> None:
    """Every duration histogram uses the catalogue's explicit bucket boundaries in seconds."""
    histograms = [s for s in SPECS if s.kind is InstrumentKind.HISTOGRAM]
    assert histograms
    for spec in histograms:
        assert spec.unit == "s"
        assert spec.name.endswith(".duration")
        captured.catalogue.instruments[spec.name].record(0.003, dict.fromkeys(spec.attributes, "v"))
    found = captured.metrics()
    for spec in histograms:
        data = found[spec.name].data
        assert isinstance(data, Histogram)
        assert tuple(data.data_points[0].explicit_bounds) == DURATION_BUCKETS_S


def test_names_are_unique_and_prefixed() -> None:
    """Every catalogue name is unique and under the astra. prefix (HTTP metrics are not ours)."""
    names = [s.name for s in SPECS]
    assert len(names) == len(set(names))
    assert all(n.startswith("astra.") for n in names)
    assert not any(n.startswith("astra.http") for n in names)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("astra.circuit_breaker.state", "astra_circuit_breaker_state"),
        ("astra.retry.attempts", "astra_retry_attempts_total"),
        ("astra.retry.overhead.duration", "astra_retry_overhead_duration_seconds"),
        ("astra.anomaly.model.accuracy", "astra_anomaly_model_accuracy_ratio"),
        ("astra.memory_engine.stored", "astra_memory_engine_stored_bytes"),
        ("astra.memory_engine.misses", "astra_memory_engine_misses_total"),
        ("astra.errors", "astra_errors_total"),
    ],
)
def test_prometheus_name_adds_unit_and_total_suffixes(name: str, expected: str) -> None:
    """The Prometheus name follows the collector exporter's unit and counter suffix rules."""
    assert prometheus_name(SPECS_BY_NAME[name]) == expected


def test_circuit_breaker_state_gauge_marks_only_current_state(captured: Captured) -> None:
    """The state gauge is 1 for the breaker's current state and 0 for the other two."""
    captured.catalogue.record_circuit_breaker_transition("detector", "closed", "open")
    metrics = captured.metrics()
    gauge = metrics["astra.circuit_breaker.state"].data
    values = {p.attributes["astra.circuit_breaker.state"]: p.value for p in gauge.data_points}  # type: ignore[index]
    assert values == {"closed": 0, "open": 1, "half_open": 0}
    transitions = metrics["astra.circuit_breaker.transitions"].data
    (point,) = transitions.data_points
    assert point.attributes == {
        "astra.circuit_breaker.name": "detector",
        "astra.circuit_breaker.from_state": "closed",
        "astra.circuit_breaker.to_state": "open",
    }


def test_typed_recorders_feed_their_instruments(captured: Captured) -> None:
    """Each typed recorder writes its instrument with the expected value and attributes."""
    cat = captured.catalogue
    cat.record_health_check_failure("redis")
    cat.record_anomaly("high")
    cat.record_model_accuracy("isolation_forest", 1.7)
    cat.record_false_positive()
    cat.record_memory_lookup(hit=True)
    cat.record_memory_lookup(hit=False)
    cat.record_memory_lookup(hit=False)
    cat.record_memory_stored(4096)
    cat.record_error("TimeoutError", "/api/v1/analyze/{satellite_id}")
    cat.record_error_resolution(0.2)
    m = captured.metrics()

    def only(name: str) -> tuple[object, object]:
        (point,) = m[name].data.data_points
        return getattr(point, "value", getattr(point, "sum", None)), dict(point.attributes or {})

    assert only("astra.health_check.failures") == (1, {"astra.health_check.name": "redis"})
    assert only("astra.anomaly.detections") == (1, {"astra.anomaly.severity": "high"})
    assert only("astra.anomaly.model.accuracy") == (
        1.0,
        {"astra.anomaly.model": "isolation_forest"},
    )
    assert only("astra.anomaly.false_positives") == (1, {})
    assert only("astra.memory_engine.hits") == (1, {})
    assert only("astra.memory_engine.misses") == (2, {})
    assert only("astra.memory_engine.stored") == (4096, {})
    assert only("astra.errors") == (
        1,
        {"error.type": "TimeoutError", "http.route": "/api/v1/analyze/{satellite_id}"},
    )
    assert only("astra.error.resolution.duration") == (0.2, {})
