"""The :class:`Telemetry` handle ``setup()`` returns, and its :class:`Health` report."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from astra_otel._config.settings import Settings
from astra_otel._internal.batching import SignalStats
from astra_otel._internal.export_status import say_unexported
from astra_otel._internal.sdk_private import LoggerProvider

__all__ = ["Health", "SignalHealth", "Telemetry"]


@dataclass(frozen=True)
class SignalHealth:
    """One signal's pipeline counters since setup (or since the fork, in a child).

    ``queued`` counts items not exported yet (waiting, or in the request being sent).
    ``last_error`` says what the last failed export request met (``None`` if none
    failed), ``last_error_time`` when (Unix time, seconds). ``sdk_fallback`` counts items
    sent through the SDK's own exporter because astra-otel's faster path failed on them
    (they are also in ``exported`` or ``failed``, as that send went); non-zero means a
    bug or an SDK change worth reporting.
    """

    exported: int
    failed: int
    dropped: int
    queued: int
    last_error: str | None = None
    last_error_time: float | None = None
    sdk_fallback: int = 0


@dataclass(frozen=True)
class Health:
    """Counters per signal; ``dropped`` includes failed exports and full-queue drops."""

    traces: SignalHealth
    metrics: SignalHealth
    logs: SignalHealth


def _snapshot(stats: SignalStats | None) -> SignalHealth:
    if stats is None:
        return SignalHealth(0, 0, 0, 0)
    status = stats.status
    with stats.lock:
        return SignalHealth(
            exported=stats.exported,
            failed=stats.failed,
            dropped=sum(stats.dropped.values()),
            queued=stats.queued(),
            last_error=status.last_error if status is not None else None,
            last_error_time=status.last_error_time if status is not None else None,
            sdk_fallback=stats.sdk_fallback,
        )


def _millis(method: Callable[[int], object]) -> Callable[[float], object]:
    """Adapt an SDK method taking milliseconds to our seconds-left callables."""
    return lambda seconds: method(int(seconds * 1000))


def _run_parallel(tasks: list[Callable[[float], object]], timeout: float) -> bool:
    """Run ``task(remaining)`` for each task in its own daemon thread, all under one deadline."""
    deadline = time.monotonic() + max(timeout, 0.0)
    results: list[bool] = []

    def wrap(task: Callable[[float], object]) -> None:
        try:
            results.append(task(max(deadline - time.monotonic(), 0.0)) is not False)
        except Exception:
            results.append(False)

    threads = [
        threading.Thread(target=wrap, args=(t,), name="astra-otel-flush", daemon=True)
        for t in tasks
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
    return len(results) == len(tasks) and all(results)


class Telemetry:
    """Handle on what ``setup()`` wired: providers, flush, shutdown and health.

    Returned again (the same object) by a repeated ``setup()`` with equal settings.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        resource: Resource | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
        stats: dict[str, SignalStats] | None = None,
        on_shutdown: Callable[[], None] | None = None,
        extras: dict[str, Any] | None = None,
        handlers: list[logging.Handler] | None = None,
    ) -> None:
        self.settings = settings
        self.resource = resource
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.logger_provider = logger_provider
        self._stats = stats or {}
        self._on_shutdown = on_shutdown
        self._extras = extras or {}
        self.log_handlers: list[logging.Handler] = handlers or []
        self._shutdown_lock = threading.Lock()
        self._is_shutdown = False

    @property
    def enabled(self) -> bool:
        """``False`` when ``OTEL_SDK_DISABLED``/``enabled=False`` left the API as no-ops."""
        return self.settings.enabled

    @property
    def is_shutdown(self) -> bool:
        """Whether :meth:`shutdown` has run."""
        return self._is_shutdown

    @property
    def instance_id(self) -> str | None:
        """This process's ``service.instance.id`` (a forked child has its own)."""
        if self.resource is None:
            return None
        value = self.resource.attributes.get("service.instance.id")
        return str(value) if value is not None else None

    def health(self) -> Health:
        """Exported, failed, dropped and queued counts per signal."""
        return Health(
            traces=_snapshot(self._stats.get("traces")),
            metrics=_snapshot(self._stats.get("metrics")),
            logs=_snapshot(self._stats.get("logs")),
        )

    def _tasks(self, action: str) -> list[Callable[[float], object]]:
        """One callable per live signal, taking the seconds left before the deadline."""
        flush = action == "flush"
        tasks: list[Callable[[float], object]] = []
        queued = (
            (self.tracer_provider, self._extras.get("span_processor")),
            (self.logger_provider, self._extras.get("log_processor")),
        )
        for provider, processor in queued:
            if provider is not None:
                tasks.append(
                    _millis(provider.force_flush) if flush or processor is None else processor.stop
                )
        if self.meter_provider is not None:
            mp = self.meter_provider
            tasks.append(_millis(mp.force_flush if flush else mp.shutdown))
        return tasks

    def force_flush(self, timeout: float = 5.0) -> bool:
        """Export everything queued, all signals in parallel; ``False`` on timeout/failure."""
        if self._is_shutdown:
            return False
        return _run_parallel(self._tasks("flush"), timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush and stop all signals in parallel within ``timeout`` seconds (default: the
        ``shutdown_timeout`` setting). Idempotent; never raises; never waits longer."""
        with self._shutdown_lock:
            if self._is_shutdown:
                return True
            self._is_shutdown = True
        deadline = self.settings.shutdown_timeout if timeout is None else timeout
        failed_before = {name: stats.failed for name, stats in self._stats.items()}
        ok = _run_parallel(self._tasks("shutdown"), deadline)
        say_unexported(
            [
                (stats.status, stats.failed - failed_before[name] + stats.queued(), stats.queued())
                for name, stats in self._stats.items()
                if stats.status is not None
            ],
            deadline,
        )
        if self._on_shutdown is not None:
            try:
                self._on_shutdown()
            except Exception:
                ok = False
        return ok

    def instrument_fastapi(self, app: Any) -> None:
        """Have ``app`` instrumented now (not needed with the default middleware: every app
        is instrumented at its first or next request; with the contrib instrumentation an
        app created before ``setup()`` needs it)."""
        hook = self._extras.get("instrument_fastapi")
        if hook is not None:
            hook(app)
