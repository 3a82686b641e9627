"""Span helpers for AstraGuard's domain operations: context managers that are also decorators.

Each helper returns an :class:`Operation`. Use it as ``with``/``async with`` (the target is
the span, to add attributes) or as a decorator on a sync or async function (every call gets
its own span). The span carries the helper's attributes; an exception escaping the block is
recorded on the span, which gets error status and ``error.type``, and is re-raised. The
helper's metrics are recorded *before* the span ends and while it is current, so a sampled
span's trace id becomes the measurement's exemplar.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Awaitable, Callable
from time import perf_counter
from types import TracebackType
from typing import ParamSpec, TypeVar, cast

from opentelemetry import context, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from astra_otel.catalogue import instruments as ins
from astra_otel.catalogue.metrics import Catalogue, get_catalogue

__all__ = [
    "Operation",
    "anomaly_detection",
    "chaos_injection",
    "circuit_breaker_call",
    "dependency_call",
    "memory_engine_operation",
    "model_inference",
    "recovery_action",
    "retry_attempt",
]

P = ParamSpec("P")
R = TypeVar("R")

# Called inside the span when it ends: (catalogue, seconds, exception or None).
OnEnd = Callable[[Catalogue, float, BaseException | None], None]
OnStart = Callable[[Catalogue], None]


class Operation:
    """One domain operation: a span and its metrics; a context manager and a decorator."""

    __slots__ = ("_attributes", "_catalogue", "_kind", "_name", "_on_end", "_on_start", "_stack")

    def __init__(
        self,
        name: str,
        attributes: dict[str, AttributeValue],
        on_end: OnEnd,
        *,
        on_start: OnStart | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        catalogue: Catalogue | None = None,
    ) -> None:
        self._name = name
        self._attributes = attributes
        self._on_end = on_end
        self._on_start = on_start
        self._kind = kind
        self._catalogue = catalogue
        self._stack: list[tuple[Span, object, float, Catalogue]] = []

    def _fresh(self) -> Operation:
        return Operation(
            self._name,
            self._attributes,
            self._on_end,
            on_start=self._on_start,
            kind=self._kind,
            catalogue=self._catalogue,
        )

    def __enter__(self) -> Span:
        cat = self._catalogue or get_catalogue()
        span = cat.tracer.start_span(self._name, kind=self._kind, attributes=self._attributes)
        token = context.attach(trace.set_span_in_context(span))
        self._stack.append((span, token, perf_counter(), cat))
        if self._on_start is not None:
            _quietly(self._on_start, cat)
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        span, token, start, cat = self._stack.pop()
        try:
            elapsed = perf_counter() - start
            if exc is not None and exc_type is not None:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{exc_type.__name__}: {exc}"))
                span.set_attribute(ins.ERROR_TYPE, exc_type.__qualname__)
            _quietly(self._on_end, cat, elapsed, exc)
        finally:
            span.end()
            context.detach(token)  # type: ignore[arg-type]  # the token attach() returned

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (sync or async): each call runs in its own span."""
        if inspect.iscoroutinefunction(fn):
            async_fn = cast("Callable[P, Awaitable[object]]", fn)

            @functools.wraps(fn)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> object:
                async with self._fresh():
                    return await async_fn(*args, **kwargs)

            return cast("Callable[P, R]", async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper


def _quietly(callback: Callable[..., None], *args: object) -> None:
    """Run a metric callback; telemetry must never raise into the host application."""
    with contextlib.suppress(Exception):  # a metrics failure must not break the host
        callback(*args)


def _outcome(exc: BaseException | None) -> str:
    return "success" if exc is None else "failure"


def anomaly_detection(model: str, *, catalogue: Catalogue | None = None) -> Operation:
    """One anomaly-detection pass; records ``astra.anomaly.detection.duration``."""

    def end(cat: Catalogue, seconds: float, exc: BaseException | None) -> None:
        cat.anomaly_duration.record(seconds)

    return Operation(
        "astra.anomaly.detection", {ins.ANOMALY_MODEL: model}, end, catalogue=catalogue
    )


def model_inference(model: str, *, catalogue: Catalogue | None = None) -> Operation:
    """One model inference; records ``astra.model.inference.duration`` by model."""
    attrs: dict[str, AttributeValue] = {ins.ANOMALY_MODEL: model}

    def end(cat: Catalogue, seconds: float, exc: BaseException | None) -> None:
        cat.inference_duration.record(seconds, attrs)

    return Operation("astra.model.inference", attrs, end, catalogue=catalogue)


def circuit_breaker_call(
    name: str, state: str = "closed", *, catalogue: Catalogue | None = None
) -> Operation:
    """A call through breaker ``name`` (in ``state``); records its call duration."""
    metric_attrs: dict[str, AttributeValue] = {ins.CB_NAME: name}

    def end(cat: Catalogue, seconds: float, exc: BaseException | None) -> None:
        cat.cb_call_duration.record(seconds, metric_attrs)

    return Operation(
        f"astra.circuit_breaker.call {name}",
        {ins.CB_NAME: name, ins.CB_STATE: state},
        end,
        catalogue=catalogue,
    )


def retry_attempt(
    operation: str, attempt: int, max_attempts: int, *, catalogue: Catalogue | None = None
) -> Operation:
    """Attempt number ``attempt`` (1-based) of ``max_attempts`` of a retried ``operation``.

    Counts ``astra.retry.attempts`` with outcome ``success``, ``failure``, or ``exhausted``
    (the last attempt failed); attempts after the first add their duration to
    ``astra.retry.overhead.duration``.
    """
    op_attrs: dict[str, AttributeValue] = {ins.RETRY_OPERATION: operation}

    def end(cat: Catalogue, seconds: float, exc: BaseException | None) -> None:
        outcome = _outcome(exc)
        if exc is not None and attempt >= max_attempts:
            outcome = "exhausted"
        cat.retry_attempts.record(1, {ins.RETRY_OPERATION: operation, ins.RETRY_OUTCOME: outcome})
        if attempt > 1:
            cat.retry_overhead.record(seconds, op_attrs)

    return Operation(
        f"astra.retry.attempt {operation}",
        {
            ins.RETRY_OPERATION: operation,
            "astra.retry.attempt": attempt,
            "astra.retry.max_attempts": max_attempts,
        },
        end,
        catalogue=catalogue,
    )


def recovery_action(action: str, *, catalogue: Catalogue | None = None) -> Operation:
    """A recovery action; counts ``astra.recovery.actions`` with its outcome."""

    def end(cat: Catalogue, seconds: float, exc: BaseException | None) -> None:
        outcome = _outcome(exc)
        cat.recovery_actions.record(1, {ins.RECOVERY_ACTION: action, ins.RECOVERY_OUTCOME: outcome})

    return Operation(
        f"astra.recovery.action {action}",
        {ins.RECOVERY_ACTION: action},
        end,
        catalogue=catalogue,
    )


def chaos_injection(kind: str, *, catalogue: Catalogue | None = None) -> Operation:
    """An injected fault of ``kind`` until recovery: counts the injection on entry and
    records the block's duration as ``astra.chaos.recovery.duration``."""
    attrs: dict[str, AttributeValue] = {ins.CHAOS_KIND: kind}

    def start(cat: Catalogue) -> None:
        cat.chaos_injections.record(1, attrs)

    def end(cat: Catalogue, seconds: float, exc: BaseException | None) -> None:
        cat.chaos_recovery.record(seconds, attrs)

    return Operation(
        f"astra.chaos.injection {kind}", attrs, end, on_start=start, catalogue=catalogue
    )


def memory_engine_operation(operation: str, *, catalogue: Catalogue | None = None) -> Operation:
    """A memory-engine operation (get, put, evict...); records its duration."""
    attrs: dict[str, AttributeValue] = {ins.MEMORY_OPERATION: operation}

    def end(cat: Catalogue, seconds: float, exc: BaseException | None) -> None:
        cat.memory_duration.record(seconds, attrs)

    return Operation(f"astra.memory_engine.{operation}", attrs, end, catalogue=catalogue)


def dependency_call(name: str, *, catalogue: Catalogue | None = None) -> Operation:
    """An outbound call to dependency ``name`` as the application sees it (retries and
    all); the HTTP/DB client spans of the instrumentations nest inside it."""
    attrs: dict[str, AttributeValue] = {ins.DEPENDENCY_NAME: name}

    def end(cat: Catalogue, seconds: float, exc: BaseException | None) -> None:
        cat.dependency_duration.record(seconds, attrs)

    return Operation(f"astra.dependency.call {name}", attrs, end, catalogue=catalogue)
