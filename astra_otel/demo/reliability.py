"""The demo's reliability machinery: a circuit breaker, a retry loop and a chaos monkey.

All three report through the catalogue: breaker state/transitions and call spans, retry
attempt spans and counts, chaos injections with their recovery time, recovery actions and
error resolution time, plus the matching log events.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from astra_otel.catalogue import (
    Catalogue,
    chaos_injection,
    circuit_breaker_call,
    get_catalogue,
    log_circuit_breaker_transition,
    log_recovery_action,
    log_retry,
    recovery_action,
    retry_attempt,
)

__all__ = ["ChaosFault", "ChaosMonkey", "CircuitBreaker", "CircuitOpenError", "retry"]

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitOpenError(RuntimeError):
    """The breaker is open: the call was not attempted."""


class ChaosFault(RuntimeError):
    """A fault injected on purpose by the chaos monkey."""


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; after ``reset_timeout``
    seconds lets one trial call through (half-open); closes again when it succeeds.

    Going half-open runs the ``recovery`` action (e.g. reloading a model) inside a
    recovery-action span. The time from opening to closing again is recorded as
    ``astra.error.resolution.duration``.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 3,
        reset_timeout: float = 2.0,
        recovery: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._recovery = recovery
        self._clock = clock
        self._catalogue = catalogue
        self._lock = threading.Lock()
        self.state = CLOSED
        self._failures = 0
        self._opened_at = 0.0  # when it last opened: the reset timeout counts from here
        self._broken_since = 0.0  # when it opened from closed: resolution time counts from here
        self._cat().record_circuit_breaker_state(name, CLOSED)

    def _cat(self) -> Catalogue:
        return self._catalogue or get_catalogue()

    def _move(self, to_state: str, reason: str) -> None:
        from_state, self.state = self.state, to_state
        self._cat().record_circuit_breaker_transition(self.name, from_state, to_state)
        log_circuit_breaker_transition(self.name, from_state, to_state, reason)

    def _before_call(self) -> str:
        with self._lock:
            if self.state == OPEN:
                if self._clock() - self._opened_at < self.reset_timeout:
                    raise CircuitOpenError(f"circuit breaker {self.name} is open")
                self._move(HALF_OPEN, "reset timeout elapsed")
                trial = True
            else:
                trial = False
            state = self.state
        if trial:
            self._recover()
        return state

    def _recover(self) -> None:
        if self._recovery is None:
            return
        start = time.perf_counter()
        outcome = "success"
        try:
            with recovery_action(f"{self.name}.recover", catalogue=self._catalogue):
                self._recovery()
        except Exception:
            outcome = "failure"
        log_recovery_action(f"{self.name}.recover", outcome, time.perf_counter() - start)

    def _after_call(self, ok: bool, reason: str) -> None:
        with self._lock:
            if ok:
                self._failures = 0
                if self.state == HALF_OPEN:
                    self._move(CLOSED, "trial call succeeded")
                    self._cat().record_error_resolution(self._clock() - self._broken_since)
                return
            self._failures += 1
            trial_failed = self.state == HALF_OPEN
            if trial_failed or (self.state == CLOSED and self._failures >= self.failure_threshold):
                now = self._clock()
                if not trial_failed:
                    self._broken_since = now
                self._opened_at = now
                self._move(OPEN, reason)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` through the breaker, in a circuit-breaker-call span.

        Raises :class:`CircuitOpenError` without calling ``fn`` while the breaker is open.
        """
        state = self._before_call()
        with circuit_breaker_call(self.name, state, catalogue=self._catalogue):
            try:
                result = fn()
            except Exception as exc:
                self._after_call(False, type(exc).__name__)
                raise
        self._after_call(True, "")
        return result


def retry(
    operation: str,
    fn: Callable[[], T],
    *,
    max_attempts: int = 3,
    base_delay: float = 0.02,
    retry_on: tuple[type[Exception], ...] = (Exception,),
    sleep: Callable[[float], None] = time.sleep,
    catalogue: Catalogue | None = None,
) -> T:
    """Call ``fn`` up to ``max_attempts`` times with exponential backoff (and jitter).

    Each attempt runs in a retry-attempt span; failed attempts log a retry event. The last
    failure is re-raised.
    """
    for attempt in range(1, max_attempts + 1):
        try:
            with retry_attempt(operation, attempt, max_attempts, catalogue=catalogue):
                return fn()
        except retry_on as exc:
            exhausted = attempt >= max_attempts
            delay = 0.0 if exhausted else base_delay * 2 ** (attempt - 1) * (1 + _RNG.random())
            log_retry(
                operation,
                attempt,
                "exhausted" if exhausted else "failure",
                delay,
                type(exc).__name__,
            )
            if exhausted:
                raise
            sleep(delay)
    msg = "max_attempts must be at least 1"
    raise ValueError(msg)


_RNG = random.Random()  # noqa: S311  # simulation jitter, not security


class ChaosMonkey:
    """Decides when to inject faults: a low base rate, and short storms at a high rate.

    Storms last ``storm_seconds`` at the start of every ``storm_every`` seconds (the first
    one ``first_storm_after`` seconds after start), so breakers open and recover within
    the first minute of a demo. ``rng`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        *,
        base_rate: float = 0.03,
        storm_rate: float = 0.7,
        storm_every: float = 30.0,
        storm_seconds: float = 5.0,
        first_storm_after: float = 5.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.base_rate = base_rate
        self.storm_rate = storm_rate
        self.storm_every = storm_every
        self.storm_seconds = storm_seconds
        self._clock = clock
        self._start = clock() + first_storm_after - storm_every
        self._rng = rng or random.Random()  # noqa: S311  # simulation, not security
        self._catalogue = catalogue

    def in_storm(self) -> bool:
        """Whether a fault storm is under way."""
        elapsed = self._clock() - self._start
        return elapsed >= self.storm_every and elapsed % self.storm_every < self.storm_seconds

    def should_inject(self, weight: float = 1.0) -> bool:
        """Roll the dice for one fault (``weight`` scales the current rate)."""
        rate = self.storm_rate if self.in_storm() else self.base_rate
        return self._rng.random() < rate * weight

    def maybe_fail(self, kind: str, weight: float = 1.0) -> None:
        """Perhaps inject a fault of ``kind``: raise :class:`ChaosFault` in a chaos span."""
        if self.should_inject(weight):
            with chaos_injection(kind, catalogue=self._catalogue):
                raise ChaosFault(f"injected {kind}")

    def maybe_delay(self, kind: str, max_seconds: float, weight: float = 1.0) -> None:
        """Perhaps inject latency of up to ``max_seconds``; its span lasts until recovery."""
        if self.should_inject(weight):
            with chaos_injection(kind, catalogue=self._catalogue):
                time.sleep(self._rng.uniform(max_seconds / 4, max_seconds))
