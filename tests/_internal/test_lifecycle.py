"""Lifecycle in real processes: fork safety, bounded exit, SIGTERM, nothing lost."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from typing import Any

import pytest

from astra_otel._internal.batching import Batcher, SignalStats
from astra_otel._internal.lifecycle import in_prefork_master
from astra_otel.testing import OtlpHttpSink

from _support.exit_timing import timed_exit


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _python(code: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


FORK_SCRIPT = """
import json, os
from opentelemetry import metrics, trace
from astra_otel import TracesOptions
from astra_otel.testing import capture_telemetry

with capture_telemetry(service_name="f", traces=TracesOptions(schedule_delay=60)) as cap:
    tracer = trace.get_tracer("t")
    counter = metrics.get_meter("m").create_counter("work")
    counter.add(5)
    tracer.start_span("before-fork").end()  # still queued at fork time
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        counter.add(1)
        tracer.start_span("in-child").end()
        spans = cap.spans()
        point = cap.metric("work").data.data_points[0].value
        out = {
            "id": cap.telemetry.instance_id,
            "spans": [s.name for s in spans],
            "span_ids": [s.resource.attributes["service.instance.id"] for s in spans],
            "work": point,
        }
        os.write(write, json.dumps(out).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = json.loads(os.read(read, 65536))
    spans = cap.spans()
    print(json.dumps({
        "parent_id": cap.telemetry.instance_id,
        "parent_spans": [s.name for s in spans],
        "parent_span_ids": [s.resource.attributes["service.instance.id"] for s in spans],
        "child": child,
    }))
"""


def test_forked_child_exports_with_its_own_instance_id_and_nothing_duplicated() -> None:
    """After os.fork the child exports its own spans under a new service.instance.id; the
    parent's queued span is exported once (by the parent), and metrics are not doubled."""
    proc = _python(FORK_SCRIPT)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    child = out["child"]
    assert child["id"] != out["parent_id"]
    assert child["spans"] == ["in-child"]
    assert child["span_ids"] == [child["id"]]
    assert child["work"] == 1
    assert out["parent_spans"] == ["before-fork"]
    assert out["parent_span_ids"] == [out["parent_id"]]


EXIT_SCRIPT = """
import logging, sys, time
import astra_otel
from opentelemetry import metrics, trace
astra_otel.setup(service_name="exit", endpoint=sys.argv[1], protocol=sys.argv[2],
                 shutdown_timeout=float(sys.argv[3]))
tracer = trace.get_tracer("t")
for i in range(50):
    with tracer.start_as_current_span(f"work-{i}"):
        logging.getLogger("app").warning("line %d", i)
metrics.get_meter("m").create_counter("c").add(1)
print("READY", time.monotonic(), flush=True)
"""


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_exit_with_collector_down_is_bounded_by_the_deadline(protocol: str) -> None:
    """With nothing listening the process exits within shutdown_timeout + 1 s."""
    deadline = 1.0
    endpoint = f"http://127.0.0.1:{_unused_port()}"
    elapsed = timed_exit(EXIT_SCRIPT, endpoint, protocol, str(deadline), timeout=30)
    assert elapsed < deadline + 1.0


def test_exit_with_collector_up_delivers_the_last_span_log_and_metric() -> None:
    """A normal exit flushes everything: all spans, logs and the metric reach the receiver."""
    with OtlpHttpSink() as sink:
        proc = _python(
            EXIT_SCRIPT.replace("sys.argv[1]", repr(sink.endpoint))
            .replace("sys.argv[2]", "'http/protobuf'")
            .replace("float(sys.argv[3])", "5.0")
        )
        assert proc.returncode == 0, proc.stderr
        assert sorted(sink.span_names()) == sorted(f"work-{i}" for i in range(50))
        assert sink.log_bodies() == [f"line {i}" for i in range(50)]
        assert "c" in sink.metric_names()


SIGTERM_SCRIPT = """
import sys, time
import astra_otel
from opentelemetry import trace
astra_otel.setup(service_name="term", endpoint=sys.argv[1], shutdown_timeout=1.0)
trace.get_tracer("t").start_span("pending").end()
print("READY", flush=True)
time.sleep(60)
"""


def test_sigterm_flushes_within_the_deadline_and_keeps_the_signal_exit() -> None:
    """SIGTERM: flush under the deadline, then the process dies of SIGTERM as usual."""
    with OtlpHttpSink() as sink:
        with subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(SIGTERM_SCRIPT), sink.endpoint],
            stdout=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("READY")
            start = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            elapsed = time.monotonic() - start
        assert elapsed < 2.0
        assert proc.returncode == -signal.SIGTERM
        assert sink.span_names() == ["pending"]


def test_sigterm_handler_of_the_host_is_left_alone() -> None:
    """If the host already handles SIGTERM, setup() does not replace the handler."""
    code = """
    import signal
    import astra_otel
    def mine(signum, frame):
        pass
    signal.signal(signal.SIGTERM, mine)
    t = astra_otel.setup(service_name="x", endpoint="http://127.0.0.1:9", shutdown_timeout=0.2,
                         export_timeout=0.1)
    print(signal.getsignal(signal.SIGTERM) is mine)
    """
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


MP_SCRIPT = """
import multiprocessing, sys
import astra_otel
from opentelemetry import trace
handle = astra_otel.setup(service_name="mp", endpoint=sys.argv[1])

def work(n):
    trace.get_tracer("t").start_span(f"mp-child-{n}").end()  # still queued at exit

if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=work, args=(n,)) for n in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    trace.get_tracer("t").start_span("mp-parent").end()
"""


def test_multiprocessing_children_flush_their_telemetry_on_exit() -> None:
    """multiprocessing (fork) children exit via os._exit, yet their queued spans arrive."""
    with OtlpHttpSink() as sink:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(MP_SCRIPT), sink.endpoint],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert sorted(sink.span_names()) == ["mp-child-0", "mp-child-1", "mp-child-2", "mp-parent"]


LOCKED_FORK_SCRIPT = """
import os, sys
import astra_otel
from opentelemetry import metrics
handle = astra_otel.setup(service_name="locked", endpoint=sys.argv[1], shutdown_timeout=3.0)
counter = metrics.get_meter("m").create_counter("child.jobs")
provider = handle.meter_provider  # the SDK renamed its reader list after 1.40
readers = getattr(provider, "_metric_readers", None) or provider._all_metric_readers
reader = next(r for r in readers if hasattr(r, "_export_lock"))
with reader._export_lock:  # as if the parent's reader thread were exporting right now
    pid = os.fork()
    if pid == 0:
        counter.add(7)
        handle.shutdown(3.0)
        os._exit(0)
os.waitpid(pid, 0)
"""


def test_child_forked_while_parent_exports_metrics_still_exports() -> None:
    """A fork taken while the parent's metric reader holds its export lock does not leave
    the child unable to export (the child's lock is replaced)."""
    with OtlpHttpSink() as sink:
        proc = _python(LOCKED_FORK_SCRIPT.replace("sys.argv[1]", repr(sink.endpoint)))
        assert proc.returncode == 0, proc.stderr
        assert "child.jobs" in sink.metric_names()


def _called_from(*modules: str) -> bool:
    """in_prefork_master() called through frames of the given modules (outermost first)."""
    call: Callable[[], bool] = in_prefork_master
    for module in reversed(modules):
        namespace: dict[str, Any] = {"__name__": module, "inner": call}
        exec("def outer():\n    return inner()\n", namespace)  # a frame whose module is `module`
        call = namespace["outer"]
    return call()


def test_prefork_master_is_the_gunicorn_arbiter_loading_the_app() -> None:
    """Under gunicorn's arbiter (--preload) setup() is in a master; a worker, forked from
    the arbiter and loading the app in gunicorn.workers, is not; nor is anything else."""
    assert _called_from("gunicorn.arbiter", "myservice.main") is True
    assert _called_from("gunicorn.arbiter", "gunicorn.workers.base", "myservice.main") is False
    assert _called_from("uvicorn.main", "myservice.main") is False


def test_a_dormant_pipeline_exports_nothing_until_the_fork() -> None:
    """Dormant stats (a pre-fork master): batches are discarded, not sent or counted;
    after a fork the child exports normally."""
    sent: list[list[int]] = []

    def export(batch: Any) -> bool:
        sent.append(list(batch))
        return True

    stats = SignalStats("traces", dormant=True)
    batcher = Batcher(
        name="t",
        export=export,
        stats=stats,
        max_queue_size=8,
        max_export_batch_size=8,
        schedule_delay=60.0,
    )
    batcher.put(1)
    assert batcher.flush(5.0)
    assert sent == []
    assert stats.exported == 0
    batcher.shutdown(1.0)
    batcher.after_fork_in_child()  # what the fork hook does in a worker
    assert stats.dormant is False
    batcher.put(2)
    assert batcher.flush(5.0)
    assert sent == [[2]]
    batcher.shutdown(1.0)
