"""The demo's circuit breaker, retry loop and chaos monkey, and what they record."""

from __future__ import annotations

import random

import pytest

from astra_otel.catalogue import Catalogue
from astra_otel.demo.reliability import (
    ChaosFault,
    ChaosMonkey,
    CircuitBreaker,
    CircuitOpenError,
    retry,
)
from astra_otel.testing import Capture


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _fail() -> None:
    raise ValueError("boom")


def _values(cap: Capture, name: str) -> dict[tuple[tuple[str, object], ...], float]:
    return {
        tuple(sorted((p.attributes or {}).items())): getattr(p, "value", getattr(p, "sum", 0))
        for p in cap.metric(name).data.data_points
    }


def test_breaker_opens_after_threshold_and_rejects_calls(telemetry: Capture) -> None:
    """Three consecutive failures open the breaker; then calls fail fast without running."""
    breaker = CircuitBreaker("det", failure_threshold=3, reset_timeout=5, clock=Clock())
    for _ in range(3):
        with pytest.raises(ValueError):
            breaker.call(_fail)
    assert breaker.state == "open"
    ran: list[int] = []
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: ran.append(1))
    assert ran == []
    states = _values(telemetry, "astra.circuit_breaker.state")
    assert (
        states[(("astra.circuit_breaker.name", "det"), ("astra.circuit_breaker.state", "open"))]
        == 1
    )
    assert (
        states[(("astra.circuit_breaker.name", "det"), ("astra.circuit_breaker.state", "closed"))]
        == 0
    )
    transitions = _values(telemetry, "astra.circuit_breaker.transitions")
    assert list(transitions.values()) == [1]


def test_breaker_recovers_through_half_open(telemetry: Capture) -> None:
    """After the reset timeout one trial runs (after a recovery action); success closes it
    and records how long the breaker was broken."""
    clock = Clock()
    recovered: list[int] = []
    breaker = CircuitBreaker(
        "det",
        failure_threshold=1,
        reset_timeout=5,
        clock=clock,
        recovery=lambda: recovered.append(1),
    )
    with pytest.raises(ValueError):
        breaker.call(_fail)
    clock.now += 6
    assert breaker.call(lambda: 42) == 42
    assert breaker.state == "closed"
    assert recovered == [1]
    moves = {
        (dict(k)["astra.circuit_breaker.from_state"], dict(k)["astra.circuit_breaker.to_state"])
        for k in _values(telemetry, "astra.circuit_breaker.transitions")
    }
    assert moves == {("closed", "open"), ("open", "half_open"), ("half_open", "closed")}
    (resolution,) = telemetry.metric("astra.error.resolution.duration").data.data_points
    assert resolution.sum == pytest.approx(6.0)
    actions = _values(telemetry, "astra.recovery.actions")
    assert actions == {
        (("astra.recovery.action", "det.recover"), ("astra.recovery.outcome", "success")): 1
    }


def test_failed_trial_reopens_the_breaker(telemetry: Capture) -> None:
    """A failing half-open trial opens the breaker again and restarts the reset timeout."""
    clock = Clock()
    breaker = CircuitBreaker("det", failure_threshold=1, reset_timeout=5, clock=clock)
    with pytest.raises(ValueError):
        breaker.call(_fail)
    clock.now += 6
    with pytest.raises(ValueError):
        breaker.call(_fail)
    assert breaker.state == "open"
    clock.now += 1
    with pytest.raises(CircuitOpenError):
        breaker.call(lambda: None)


def test_breaker_call_spans_carry_state(telemetry: Capture) -> None:
    """Each call through the breaker is a span with the breaker's name and state."""
    breaker = CircuitBreaker("det", clock=Clock())
    breaker.call(lambda: None)
    (span,) = [s for s in telemetry.spans() if s.name.startswith("astra.circuit_breaker.call")]
    assert span.attributes == {
        "astra.circuit_breaker.name": "det",
        "astra.circuit_breaker.state": "closed",
    }


def test_retry_succeeds_after_failures_and_counts_attempts(telemetry: Capture) -> None:
    """A call failing twice then succeeding is attempted three times: failure, failure, success."""
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError
        return "ok"

    assert retry("feed", flaky, max_attempts=3, sleep=sleeps.append) == "ok"
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.99
    counts = _values(telemetry, "astra.retry.attempts")
    assert counts == {
        (("astra.retry.operation", "feed"), ("astra.retry.outcome", "failure")): 2,
        (("astra.retry.operation", "feed"), ("astra.retry.outcome", "success")): 1,
    }
    (overhead,) = telemetry.metric("astra.retry.overhead.duration").data.data_points
    assert overhead.count == 2


def test_retry_exhausted_reraises_and_logs(telemetry: Capture) -> None:
    """When every attempt fails the last error is raised, counted as exhausted and logged."""
    with pytest.raises(ConnectionError):
        retry(
            "feed",
            lambda: (_ for _ in ()).throw(ConnectionError()),
            max_attempts=2,
            sleep=lambda _: None,
        )
    counts = _values(telemetry, "astra.retry.attempts")
    assert counts[(("astra.retry.operation", "feed"), ("astra.retry.outcome", "exhausted"))] == 1
    outcomes = [
        (r.log_record.attributes or {}).get("astra.retry.outcome")
        for r in telemetry.logs()
        if (r.log_record.attributes or {}).get("event.name") == "astra.retry"
    ]
    assert outcomes == ["failure", "exhausted"]


def test_retry_does_not_retry_other_errors() -> None:
    """Errors outside retry_on are raised at once."""
    calls: list[int] = []

    def bad() -> None:
        calls.append(1)
        raise KeyError

    with pytest.raises(KeyError):
        retry(
            "x",
            bad,
            retry_on=(ConnectionError,),
            sleep=lambda _: None,
            catalogue=Catalogue(environ={}),
        )
    assert calls == [1]


def test_chaos_storms_follow_the_schedule() -> None:
    """Storms start after first_storm_after seconds and recur every storm_every seconds."""
    clock = Clock()
    monkey = ChaosMonkey(storm_every=30, storm_seconds=4, first_storm_after=10, clock=clock)
    start = clock.now
    timeline: dict[float, bool] = {}
    for offset in (0, 9.9, 10, 13.9, 14, 39.9, 40, 43, 45):
        clock.now = start + offset
        timeline[offset] = monkey.in_storm()
    assert timeline == {
        0: False,
        9.9: False,
        10: True,
        13.9: True,
        14: False,
        39.9: False,
        40: True,
        43: True,
        45: False,
    }


def test_chaos_fault_is_counted_and_raised(telemetry: Capture) -> None:
    """An injected fault raises ChaosFault inside a chaos span and counts the injection."""
    monkey = ChaosMonkey(base_rate=1.0, first_storm_after=1e9, rng=random.Random(1))
    with pytest.raises(ChaosFault):
        monkey.maybe_fail("model_fault")
    assert _values(telemetry, "astra.chaos.injections") == {
        (("astra.chaos.kind", "model_fault"),): 1
    }
    (span,) = telemetry.spans()
    assert span.name == "astra.chaos.injection model_fault"


@pytest.mark.parametrize(("rate", "expected"), [(0.0, 0), (1.0, 50)])
def test_chaos_rate_bounds(rate: float, expected: int) -> None:
    """A zero rate never injects, a rate of one always does."""
    monkey = ChaosMonkey(base_rate=rate, first_storm_after=1e9, rng=random.Random(7))
    assert sum(monkey.should_inject() for _ in range(50)) == expected
