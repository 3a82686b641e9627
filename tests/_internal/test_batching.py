"""The drop-oldest batch queue: bounded, counted, never raising into the caller."""

from __future__ import annotations

import time
from collections.abc import Sequence

from astra_otel._internal.batching import Batcher, SignalStats


class _Sink:
    def __init__(self, ok: bool = True, raise_: bool = False, block: float = 0.0) -> None:
        self.ok, self.raise_, self.block = ok, raise_, block
        self.batches: list[list[int]] = []

    def __call__(self, batch: Sequence[int]) -> bool:
        if self.block:
            time.sleep(self.block)
        if self.raise_:
            raise RuntimeError("exporter broke")
        self.batches.append(list(batch))
        return self.ok


def _batcher(sink: _Sink, stats: SignalStats, **kw: float) -> Batcher[int]:
    return Batcher(
        name="test",
        export=sink,
        stats=stats,
        max_queue_size=int(kw.get("queue", 4)),
        max_export_batch_size=int(kw.get("batch", 2)),
        schedule_delay=kw.get("delay", 60.0),
    )


def test_drops_are_counted_and_the_oldest_go_first() -> None:
    """When the queue is full the oldest items are dropped, counted as queue_full."""
    stats = SignalStats("traces")
    sink = _Sink()
    b = _batcher(sink, stats, queue=4, batch=100)
    assert b.shutdown(5.0)  # stop the worker so the queue only fills
    for i in range(10):
        b.put(i)
    assert stats.dropped == {"queue_full": 6}
    assert list(b._queue) == [6, 7, 8, 9]
    b._drain()
    assert sink.batches == [[6, 7, 8, 9]]
    assert stats.exported == 4


def test_flush_exports_in_batches_of_the_configured_size() -> None:
    """flush() drains the queue in batches no bigger than max_export_batch_size."""
    stats = SignalStats("logs")
    sink = _Sink()
    b = _batcher(sink, stats, queue=100, batch=3)
    for i in range(7):
        b.put(i)
    assert b.flush(5.0)
    assert sum(map(len, sink.batches)) == 7
    assert all(len(x) <= 3 for x in sink.batches)
    assert stats.exported == 7
    b.shutdown(1.0)


def test_failed_and_raising_exports_are_counted_not_raised() -> None:
    """A failing or raising exporter counts failed+dropped(export_failed); nothing raises,
    and the flush that drained them says it failed."""
    for sink in (_Sink(ok=False), _Sink(raise_=True)):
        stats = SignalStats("traces")
        b = _batcher(sink, stats, queue=10, batch=10)
        b.put(1)
        b.put(2)
        assert b.flush(5.0) is False
        assert stats.failed == 2
        assert stats.dropped == {"export_failed": 2}
        assert stats.exported == 0
        b.shutdown(1.0)


def test_full_batch_wakes_the_worker_before_the_delay() -> None:
    """A full batch is exported without waiting for schedule_delay."""
    stats = SignalStats("traces")
    sink = _Sink()
    b = _batcher(sink, stats, queue=10, batch=2, delay=60.0)
    b.put(1)
    b.put(2)
    deadline = time.monotonic() + 5
    while not sink.batches and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sink.batches == [[1, 2]]
    b.shutdown(1.0)


def test_shutdown_returns_within_timeout_with_a_stuck_exporter() -> None:
    """shutdown(t) returns after about t seconds even if the export hangs."""
    stats = SignalStats("traces")
    b = _batcher(_Sink(block=3.0), stats, queue=10, batch=1)
    b.put(1)
    time.sleep(0.05)
    start = time.monotonic()
    assert b.shutdown(0.3) is False
    assert time.monotonic() - start < 1.0


def test_queued_reports_the_queue_length() -> None:
    """stats.queued() reads the live queue length."""
    stats = SignalStats("logs")
    b = _batcher(_Sink(), stats, queue=10, batch=100)
    b.put(1)
    b.put(2)
    assert stats.queued() == 2
    b.flush(5.0)
    assert stats.queued() == 0
    b.shutdown(1.0)


def test_flush_after_a_failure_succeeds_once_exports_work_again() -> None:
    """A flush reports the drain it waited for, not an earlier failed one."""
    stats = SignalStats("traces")
    sink = _Sink(ok=False)
    b = _batcher(sink, stats, queue=10, batch=10)
    b.put(1)
    assert b.flush(5.0) is False
    sink.ok = True
    b.put(2)
    assert b.flush(5.0) is True
    b.shutdown(1.0)


def test_queued_counts_the_batch_being_sent() -> None:
    """An item taken off the queue counts as queued until its export returns."""
    stats = SignalStats("traces")
    b = _batcher(_Sink(block=1.0), stats, queue=10, batch=1)
    b.put(1)  # a full batch: the worker takes it at once and is stuck in the export
    deadline = time.monotonic() + 5
    while b._queue and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not b._queue
    assert stats.queued() == 1
    assert b.flush(5.0)
    assert stats.queued() == 0
    b.shutdown(1.0)
