"""Span helpers: context manager and decorator, sync and async, nesting, errors, exemplars."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from opentelemetry.sdk.metrics.export import Histogram, Sum
from opentelemetry.trace import StatusCode

from astra_otel.catalogue import (
    Catalogue,
    Operation,
    anomaly_detection,
    chaos_injection,
    circuit_breaker_call,
    dependency_call,
    memory_engine_operation,
    model_inference,
    recovery_action,
    retry_attempt,
)

if TYPE_CHECKING:
    from tests.catalogue.conftest import Captured

# helper factory, span name, the metric it records, that metric's attributes
HELPERS: list[tuple[Callable[[Catalogue], Operation], str, str, dict[str, object]]] = [
    (
        lambda c: anomaly_detection("iforest", catalogue=c),
        "astra.anomaly.detection",
        "astra.anomaly.detection.duration",
        {},
    ),
    (
        lambda c: model_inference("iforest", catalogue=c),
        "astra.model.inference",
        "astra.model.inference.duration",
        {"astra.anomaly.model": "iforest"},
    ),
    (
        lambda c: circuit_breaker_call("detector", catalogue=c),
        "astra.circuit_breaker.call detector",
        "astra.circuit_breaker.call.duration",
        {"astra.circuit_breaker.name": "detector"},
    ),
    (
        lambda c: retry_attempt("fetch", 2, 3, catalogue=c),
        "astra.retry.attempt fetch",
        "astra.retry.overhead.duration",
        {"astra.retry.operation": "fetch"},
    ),
    (
        lambda c: recovery_action("restart", catalogue=c),
        "astra.recovery.action restart",
        "astra.recovery.actions",
        {"astra.recovery.action": "restart", "astra.recovery.outcome": "success"},
    ),
    (
        lambda c: chaos_injection("latency", catalogue=c),
        "astra.chaos.injection latency",
        "astra.chaos.recovery.duration",
        {"astra.chaos.kind": "latency"},
    ),
    (
        lambda c: memory_engine_operation("get", catalogue=c),
        "astra.memory_engine.get",
        "astra.memory_engine.operation.duration",
        {"astra.memory_engine.operation": "get"},
    ),
    (
        lambda c: dependency_call("telemetry-feed", catalogue=c),
        "astra.dependency.call telemetry-feed",
        "astra.dependency.call.duration",
        {"astra.dependency.name": "telemetry-feed"},
    ),
]
IDS = [h[1] for h in HELPERS]


def _point(captured: Captured, metric: str) -> object:
    (point,) = captured.metrics()[metric].data.data_points
    return point


@pytest.mark.parametrize(("factory", "span_name", "metric", "attrs"), HELPERS, ids=IDS)
def test_context_manager_records_span_and_metric_with_exemplar(
    captured: Captured,
    factory: Callable[[Catalogue], Operation],
    span_name: str,
    metric: str,
    attrs: dict[str, object],
) -> None:
    """`with helper:` makes one span and records its metric with the span's trace id as exemplar."""
    with factory(captured.catalogue) as span:
        span.set_attribute("custom", 1)
    (finished,) = captured.spans()
    assert finished.name == span_name
    assert finished.attributes is not None and finished.attributes["custom"] == 1
    assert finished.status.status_code is StatusCode.UNSET
    point = _point(captured, metric)
    assert dict(point.attributes or {}) == attrs  # type: ignore[attr-defined]
    exemplars = point.exemplars  # type: ignore[attr-defined]
    assert exemplars, "the measurement inside the span must carry an exemplar"
    assert {e.trace_id for e in exemplars} == {finished.context.trace_id}
    assert {e.span_id for e in exemplars} == {finished.context.span_id}


@pytest.mark.parametrize(("factory", "span_name", "metric", "attrs"), HELPERS, ids=IDS)
def test_async_context_manager_records_span(
    captured: Captured,
    factory: Callable[[Catalogue], Operation],
    span_name: str,
    metric: str,
    attrs: dict[str, object],
) -> None:
    """`async with helper:` makes one span, current inside the block, and records the metric."""

    async def run() -> int:
        async with factory(captured.catalogue) as span:
            await asyncio.sleep(0)
            return span.get_span_context().span_id

    span_id = asyncio.run(run())
    (finished,) = captured.spans()
    assert finished.name == span_name
    assert finished.context.span_id == span_id
    assert metric in captured.metrics()


def test_sync_decorator_gives_each_call_its_own_span(captured: Captured) -> None:
    """A decorated sync function runs each call in a new span and returns its result."""

    @model_inference("iforest", catalogue=captured.catalogue)
    def infer(x: int) -> int:
        return x * 2

    assert infer(2) == 4
    assert infer(3) == 6
    spans = captured.spans()
    assert [s.name for s in spans] == ["astra.model.inference"] * 2
    assert spans[0].context.span_id != spans[1].context.span_id
    point = _point(captured, "astra.model.inference.duration")
    assert point.count == 2  # type: ignore[attr-defined]


def test_async_decorator_spans_concurrent_calls_separately(captured: Captured) -> None:
    """A decorated coroutine function gets one span per call, even when calls overlap."""

    @dependency_call("feed", catalogue=captured.catalogue)
    async def fetch(x: int) -> int:
        await asyncio.sleep(0.01)
        return x

    async def run() -> list[int]:
        return list(await asyncio.gather(fetch(1), fetch(2), fetch(3)))

    assert asyncio.run(run()) == [1, 2, 3]
    spans = captured.spans()
    assert len(spans) == 3
    assert len({s.context.span_id for s in spans}) == 3
    assert all(s.parent is None for s in spans)


def test_nested_helpers_are_parented(captured: Captured) -> None:
    """A helper inside another helper becomes its child span, in the same trace."""
    cat = captured.catalogue
    with (
        anomaly_detection("iforest", catalogue=cat),
        circuit_breaker_call("detector", catalogue=cat),
        model_inference("iforest", catalogue=cat),
    ):
        pass
    by_name = {s.name: s for s in captured.spans()}
    outer = by_name["astra.anomaly.detection"]
    middle = by_name["astra.circuit_breaker.call detector"]
    inner = by_name["astra.model.inference"]
    assert outer.parent is None
    assert middle.parent is not None and middle.parent.span_id == outer.context.span_id
    assert inner.parent is not None and inner.parent.span_id == middle.context.span_id
    assert len({s.context.trace_id for s in (outer, middle, inner)}) == 1


def test_exception_is_recorded_and_reraised(captured: Captured) -> None:
    """An escaping exception is re-raised, recorded as a span event, and sets error status."""
    with pytest.raises(TimeoutError), dependency_call("feed", catalogue=captured.catalogue):
        raise TimeoutError("feed timed out")
    (span,) = captured.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes["error.type"] == "TimeoutError"
    assert [e.name for e in span.events] == ["exception"]
    assert span.events[0].attributes is not None
    assert span.events[0].attributes["exception.message"] == "feed timed out"
    assert "astra.dependency.call.duration" in captured.metrics()


def test_async_decorator_records_exceptions(captured: Captured) -> None:
    """An exception from a decorated coroutine is recorded on its span and re-raised."""

    @recovery_action("restart", catalogue=captured.catalogue)
    async def restart() -> None:
        raise RuntimeError("still down")

    with pytest.raises(RuntimeError):
        asyncio.run(restart())
    (span,) = captured.spans()
    assert span.status.status_code is StatusCode.ERROR
    point = _point(captured, "astra.recovery.actions")
    assert dict(point.attributes or {}) == {  # type: ignore[attr-defined]
        "astra.recovery.action": "restart",
        "astra.recovery.outcome": "failure",
    }


@pytest.mark.parametrize(
    ("attempt", "fails", "outcome"),
    [(1, False, "success"), (1, True, "failure"), (3, True, "exhausted"), (3, False, "success")],
)
def test_retry_attempt_outcomes(
    captured: Captured, attempt: int, fails: bool, outcome: str
) -> None:
    """A retry attempt counts success, failure, or exhausted when its last attempt fails."""
    try:
        with retry_attempt("fetch", attempt, 3, catalogue=captured.catalogue):
            if fails:
                raise ConnectionError
    except ConnectionError:
        pass
    metrics = captured.metrics()
    (point,) = metrics["astra.retry.attempts"].data.data_points
    assert dict(point.attributes or {}) == {
        "astra.retry.operation": "fetch",
        "astra.retry.outcome": outcome,
    }
    # only attempts after the first are overhead
    assert ("astra.retry.overhead.duration" in metrics) is (attempt > 1)


def test_chaos_injection_counts_on_entry(captured: Captured) -> None:
    """The injection is counted when the block starts, recovery time when it ends."""
    cat = captured.catalogue
    with chaos_injection("latency", catalogue=cat):
        counted = captured.metrics()
        assert isinstance(counted["astra.chaos.injections"].data, Sum)
        assert "astra.chaos.recovery.duration" not in counted
    data = captured.metrics()["astra.chaos.recovery.duration"].data
    assert isinstance(data, Histogram)
    assert data.data_points[0].count == 1


def test_same_operation_object_can_nest(captured: Captured) -> None:
    """Entering one Operation object twice nests two spans and ends both."""
    op = memory_engine_operation("get", catalogue=captured.catalogue)
    with op, op:
        pass
    inner, outer = captured.spans()
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
