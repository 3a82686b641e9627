"""Fault 2: the collector restarts. After a SIGTERM it comes back and what is sent
afterwards arrives. A kill -9 in the middle of continuous load, without waiting for anything
to settle, loses nothing the collector acknowledged: every such span is in Jaeger and in
the JSON file afterwards (duplicates allowed), with Jaeger down at the time of the kill and
with it up.

For the kill, two clients send 50-span requests back to back; 2 s into the load the
collector is killed and started again at once while they keep sending (their exporter
retries across the restart), then the load stops.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from ._support import SpanSource, unique_service, wait_for_spans
from _support.jsonl import read_documents, signal_files, span_ids
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

BATCH = 100
CLIENTS = 2
SPANS_PER_SEND = 50
MAX_SENDS_PER_CLIENT = 400
BEFORE_KILL_S = 2.0
AFTER_RESTART_S = 1.5
LOAD_LIMIT_S = 30.0


@pytest.fixture
def restored(stack: RunningStack) -> Iterator[RunningStack]:
    """The session stack; whatever a test stopped or killed is started again afterwards."""
    yield stack
    for name in ("jaeger", "collector"):
        stack.stack.start(name)


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


def _file_span_ids(stack: RunningStack, service: str) -> set[str]:
    return span_ids(read_documents(signal_files(stack.telemetry_dir, "traces")).documents, service)


@pytest.mark.parametrize("jaeger", ["down", "up"])
def test_kill_9_under_load_loses_nothing_accepted(restored: RunningStack, jaeger: str) -> None:
    """Spans acknowledged up to the moment of a kill -9 (and after the restart) all reach
    Jaeger and traces.jsonl."""
    stack = restored
    if jaeger == "down":
        stack.stack.stop("jaeger")
    service = unique_service(f"kill9-load-{jaeger}")
    sources = [SpanSource(stack.otlp_grpc, service, timeout=8.0) for _ in range(CLIENTS)]
    stop = threading.Event()
    deadline = time.monotonic() + LOAD_LIMIT_S

    def push(source: SpanSource) -> None:
        for _ in range(MAX_SENDS_PER_CLIENT):  # bounded in count and time
            if stop.is_set() or time.monotonic() > deadline:
                return
            source.send(SPANS_PER_SEND)

    threads = [threading.Thread(target=push, args=(s,), daemon=True) for s in sources]
    for thread in threads:
        thread.start()
    try:
        time.sleep(BEFORE_KILL_S)
        at_kill = sum(len(s.accepted) for s in sources)
        stack.stack.kill("collector", signal.SIGKILL)
        stack.stack.start("collector")
        time.sleep(AFTER_RESTART_S)
    finally:
        stop.set()
        for thread in threads:
            thread.join(LOAD_LIMIT_S)
        for source in sources:
            source.close()
    accepted = {span for s in sources for span in s.accepted}
    sys.stderr.write(
        f"[faults] kill -9 under load, Jaeger {jaeger}: {at_kill} spans accepted before the "
        f"kill, {len(accepted)} in all, {sum(s.rejected for s in sources)} not accepted\n"
    )
    assert at_kill >= SPANS_PER_SEND * 4, "the load had not started before the kill"
    assert len(accepted) > at_kill, "nothing was accepted after the restart"
    if jaeger == "down":
        stack.stack.start("jaeger")
    wait_for_spans(stack, service, accepted, timeout=60)
    found: dict[str, int] = {}

    def all_in_file() -> bool | None:
        missing = accepted - _file_span_ids(stack, service)
        found["missing"] = len(missing)
        return True if not missing else None

    try:
        wait_for(all_in_file, f"all {len(accepted)} accepted spans in traces.jsonl", 30)
    except TimeoutError:
        pytest.fail(f"{found['missing']} of {len(accepted)} accepted spans not in traces.jsonl")
