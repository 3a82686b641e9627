"""Fault 2: the collector restarts. After a SIGTERM or a kill -9 it comes back and what is
sent afterwards arrives; spans that had reached the Jaeger exporter's persistent queue
(file_storage) before a kill -9 are delivered after the restart: duplicates allowed, loss
not."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from ._support import SpanSource, collector_metric, unique_service, wait_for_spans
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

JAEGER_QUEUE = {"exporter": "otlp_grpc/jaeger"}
BATCHES = 10
BATCH = 100


@pytest.fixture
def restored(stack: RunningStack) -> Iterator[RunningStack]:
    """The session stack; whatever a test stopped or killed is started again afterwards."""
    yield stack
    for name in ("jaeger", "collector"):
        stack.stack.start(name)


def _enqueued(stack: RunningStack) -> float | None:
    return collector_metric(stack, "otelcol_exporter_enqueue_size_sum", **JAEGER_QUEUE)


def test_spans_sent_after_a_sigterm_restart_arrive(restored: RunningStack) -> None:
    """SIGTERM stops the collector cleanly; once started again it accepts and delivers."""
    stack = restored
    before = stack.stack.pid("collector")
    stack.stack.kill("collector", signal.SIGTERM)
    assert stack.stack.pid("collector") is None
    stack.stack.start("collector")
    after = stack.stack.pid("collector")
    assert after is not None
    assert after != before
    source = SpanSource(stack.otlp_grpc, unique_service("sigterm"))
    try:
        for _ in range(3):
            assert source.send(BATCH)
    finally:
        source.close()
    wait_for_spans(stack, source.service, set(source.accepted), timeout=45)


def test_queued_spans_survive_a_kill_9(restored: RunningStack) -> None:
    """Spans held in the persistent queue (Jaeger down) when the collector is SIGKILLed
    are all in Jaeger once both are back."""
    stack = restored
    stack.stack.stop("jaeger")
    base = wait_for(lambda: _enqueued(stack), "the collector's self metrics", 10)
    source = SpanSource(stack.otlp_grpc, unique_service("kill9"))
    try:
        for _ in range(BATCHES):
            assert source.send(BATCH)
    finally:
        source.close()
    sent = len(source.accepted)
    # Past the batch processor (1 s timeout): every span is in the exporter's queue.
    wait_for(
        lambda: True if (_enqueued(stack) or 0) - base >= sent else None,
        f"{sent} spans in the Jaeger exporter's queue",
        30,
    )
    stack.stack.kill("collector", signal.SIGKILL)
    assert stack.stack.pid("collector") is None
    stack.stack.start("jaeger")
    stack.stack.start("collector")
    wait_for_spans(stack, source.service, set(source.accepted), timeout=60)
