"""The Stack handle other tests use to break the pipeline: kill, stop, start, and what the
collector's persistent queue does across those restarts."""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Callable

import pytest
import requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import format_trace_id

from astra_otel.stack.components import COLLECTOR_FLAGS
from astra_otel.stack.process import group_members

from _support.stack import DemoService, RunningStack, wait_for

pytestmark = pytest.mark.e2e


def _wait(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    wait_for(lambda: True if check() else None, what, timeout)


def test_killed_component_is_seen_as_stopped_and_restarts(stack: RunningStack) -> None:
    """After kill(SIGKILL) the component has no pid and no health; start() brings it back
    healthy under a new pid."""
    handle = stack.stack
    old = handle.pid("redis")
    assert old is not None
    handle.kill("redis", signal.SIGKILL)
    assert handle.pid("redis") is None
    assert group_members(old) == []
    assert not handle.healthy("redis")
    handle.start("redis")
    assert handle.healthy("redis")
    assert handle.pid("redis") not in (None, old)


def test_spans_queued_while_jaeger_is_down_survive_a_collector_restart(
    stack: RunningStack,
) -> None:
    """A span accepted while Jaeger is stopped waits in the collector's file-backed queue,
    survives a collector restart, and reaches Jaeger once it is back."""
    handle = stack.stack
    service = f"queue-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource({"service.name": service}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=stack.otlp_grpc, insecure=True))
    )
    handle.stop("jaeger")
    try:
        with provider.get_tracer("astra.e2e").start_as_current_span("queued") as span:
            trace_id = format_trace_id(span.get_span_context().trace_id)
        assert provider.force_flush(10_000)
        # The file exporter proves the collector accepted it before we restart it.
        traces = stack.traces_file
        _wait(lambda: traces.exists() and trace_id in traces.read_text(), "the span in the file")
        handle.stop("collector")
        handle.start("collector")
    finally:
        provider.shutdown()
        handle.start("collector")
        handle.start("jaeger")

    def in_jaeger() -> bool:
        resp = requests.get(f"{stack.jaeger_url}/api/traces/{trace_id}", timeout=5)
        return resp.status_code == 200 and bool(resp.json()["data"])

    _wait(in_jaeger, "the queued span in Jaeger after the restarts")


def test_demo_component_serves_and_reports_to_the_stack(
    stack: RunningStack, demo: DemoService
) -> None:
    """The demo started by the stack answers /healthz and its spans reach this stack's
    Jaeger under its service name."""
    assert requests.get(f"{demo.url}/healthz", timeout=5).status_code == 200
    assert stack.stack.healthy("demo")

    def listed() -> bool:
        resp = requests.get(f"{stack.jaeger_url}/api/services", timeout=5)
        return demo.service_name in (resp.json()["data"] or [])

    _wait(listed, f"{demo.service_name} in Jaeger's services")


@pytest.mark.parametrize(
    ("binary", "configs"),
    [
        ("collector", ("collector/otel-collector.yaml",)),
        ("collector", ("collector/otel-collector.yaml", "collector/otel-collector-tls.yaml")),
        ("jaeger", ("collector/jaeger/jaeger.yaml",)),
        ("jaeger", ("collector/jaeger/jaeger.yaml", "collector/jaeger/jaeger-tls.yaml")),
    ],
    ids=["collector", "collector+tls", "jaeger", "jaeger+tls"],
)
def test_shipped_configs_validate(
    stack: RunningStack, binary: str, configs: tuple[str, ...]
) -> None:
    """``validate`` of the built collector / Jaeger accepts the shipped configs and layers."""
    handle = stack.stack
    exe = handle.binaries.collector if binary == "collector" else handle.binaries.jaeger
    args = [a for c in configs for a in ("--config", f"file:{handle.settings.files_dir / c}")]
    if binary == "collector":
        args = [*COLLECTOR_FLAGS, *args]
    result = subprocess.run(
        [str(exe), "validate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
