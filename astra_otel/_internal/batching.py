"""A bounded, drop-oldest queue drained by one background thread, with counters.

The host's hot path only appends to a ``deque(maxlen=N)``: when the queue is full the
*oldest* item falls out (the SDK's batch processors drop the newest) and the drop is
counted. The worker exports batches every ``schedule_delay`` or as soon as a full batch is
waiting, under OpenTelemetry's "suppress instrumentation" context so an exporter's own
HTTP calls never become telemetry. Nothing here raises into the caller.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from astra_otel._internal.export_status import ExportStatus
from astra_otel._internal.sdk_private import suppressed

__all__ = ["Batcher", "QueueProcessorMixin", "SignalStats"]

T = TypeVar("T")


@dataclass
class SignalStats:
    """Counters of one signal's pipeline (read by ``health()`` and the self-metrics)."""

    signal: str
    exported: int = 0
    failed: int = 0
    # Items sent (again) through the SDK's own exporter because our fast path failed.
    sdk_fallback: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    queued: Callable[[], int] = field(default=lambda: 0)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    status: ExportStatus | None = field(default=None, repr=False, compare=False)
    # True in a pre-fork server's master (gunicorn --preload): this process exports
    # nothing, so it is no service instance; its forked workers export as usual.
    dormant: bool = False

    def count_drop(self, reason: str, n: int = 1) -> None:
        """Count ``n`` items lost for ``reason`` (``queue_full``, ``export_failed``)."""
        with self.lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + n

    def count_fallback(self, n: int) -> None:
        """Count ``n`` items handed to the SDK's own exporter after our path failed."""
        with self.lock:
            self.sdk_fallback += n

    def count_export(self, n: int, ok: bool) -> None:
        """Count the outcome of one export of ``n`` items (and tell the export status)."""
        with self.lock:
            if ok:
                self.exported += n
            else:
                self.failed += n
                self.dropped["export_failed"] = self.dropped.get("export_failed", 0) + n
        if self.status is not None:
            self.status.batch(ok)

    def lost(self) -> int:
        """Items lost so far, for every reason."""
        with self.lock:
            return sum(self.dropped.values())

    def reset_after_fork(self) -> None:
        """Zero every counter in a forked child (which starts its own count).

        The lock is replaced, not taken: a parent thread may have held it at the fork.
        """
        self.lock = threading.Lock()
        self.exported = 0
        self.failed = 0
        self.sdk_fallback = 0
        self.dropped = {}
        self.dormant = False
        if self.status is not None:
            self.status.reset()


class _FlushWaiter:
    """A ``flush()`` call waiting for the drain it asked for, and that drain's outcome."""

    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = True


class Batcher(Generic[T]):
    """Drop-oldest queue + one daemon thread calling ``export(batch) -> bool``."""

    def __init__(
        self,
        *,
        name: str,
        export: Callable[[Sequence[T]], bool],
        stats: SignalStats,
        max_queue_size: int,
        max_export_batch_size: int,
        schedule_delay: float,
    ) -> None:
        self._name = name
        self._export = export
        self._stats = stats
        self._maxlen = max_queue_size
        self._batch_size = min(max_export_batch_size, max_queue_size)
        self._delay = schedule_delay
        stats.queued = self.__len__
        self._start()

    def _start(self) -> None:
        self._queue: deque[T] = deque(maxlen=self._maxlen)
        self._inflight = 0
        self._wake = threading.Event()
        self._flush_lock = threading.Lock()
        self._flush_waiters: list[_FlushWaiter] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    @property
    def thread_ident(self) -> int | None:
        """Ident of the export thread (records it logs are not fed back)."""
        return self._thread.ident

    def __len__(self) -> int:
        """Items not exported yet: queued, plus the batch being sent."""
        return len(self._queue) + self._inflight

    def put(self, item: T) -> None:
        """Hot path: append; when full the oldest item is dropped and counted."""
        queue = self._queue
        if len(queue) >= self._maxlen:
            self._stats.count_drop("queue_full")
        queue.append(item)
        if len(queue) >= self._batch_size and not self._wake.is_set():
            self._wake.set()

    def _take(self) -> list[T]:
        batch: list[T] = []
        queue = self._queue
        # Counted as in flight before they leave the queue, so queued() never misses them.
        self._inflight = min(len(queue), self._batch_size)
        with contextlib.suppress(IndexError):
            for _ in range(self._batch_size):
                batch.append(queue.popleft())
        return batch

    def _export_batch(self, batch: list[T]) -> bool:
        if self._stats.dormant:
            self._inflight = 0
            return True  # discarded: a pre-fork master sends nothing
        self._inflight = len(batch)  # what was really taken (others may have been dropped)
        try:
            with suppressed():  # an exporter's own HTTP/gRPC calls are not telemetry
                ok = bool(self._export(batch))
        except Exception:  # never let an exporter kill the worker
            ok = False
        self._stats.count_export(len(batch), ok)
        self._inflight = 0
        return ok

    def _drain(self) -> bool:
        ok = True
        while self._queue:
            batch = self._take()
            if batch:
                ok = self._export_batch(batch) and ok
        return ok

    def _run(self) -> None:
        while True:
            self._wake.wait(self._delay)
            self._wake.clear()
            with self._flush_lock:
                waiters, self._flush_waiters = self._flush_waiters, []
            ok = self._drain()
            for waiter in waiters:
                waiter.ok = ok
                waiter.done.set()
            if self._stopping:
                return

    def flush(self, timeout: float) -> bool:
        """Export everything queued now; ``False`` if an export failed or ``timeout``
        seconds passed first."""
        if not self._thread.is_alive():
            return not self._queue
        waiter = _FlushWaiter()
        with self._flush_lock:
            self._flush_waiters.append(waiter)
        self._wake.set()
        return waiter.done.wait(max(timeout, 0.0)) and waiter.ok

    def shutdown(self, timeout: float) -> bool:
        """Drain and stop the thread within ``timeout`` seconds; ``False`` if it ran out."""
        deadline = time.monotonic() + max(timeout, 0.0)
        self._stopping = True
        self._wake.set()
        self._thread.join(max(deadline - time.monotonic(), 0.0))
        return not self._thread.is_alive()

    def after_fork_in_child(self) -> None:
        """In a forked child: forget the parent's queued items, start a fresh thread."""
        self._stats.reset_after_fork()
        self._start()


class QueueProcessorMixin:
    """flush/shutdown shared by the span and log processors built on a :class:`Batcher`."""

    batcher: Batcher[Any]
    _slot: Any  # ExporterSlot: shut down after the drain to abort an OTLP retry wait

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export everything queued within the timeout."""
        return self.batcher.flush(timeout_millis / 1000.0)

    def shutdown(self) -> None:
        """Drain (up to 30 s), then shut the exporter down."""
        self.stop(30.0)

    def stop(self, timeout: float) -> bool:
        """Drain within ``timeout`` seconds, then shut the exporter down."""
        ok = self.batcher.shutdown(timeout)
        self._slot.shutdown()
        return ok
