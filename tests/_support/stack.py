"""A started stack's addresses, and a free port offset: what test fixtures hand to tests.

``tests/conftest.py`` starts a :class:`~astra_otel.stack.supervisor.Stack` with
:func:`start_on_free_offset` and yields :func:`running_stack` of it; the fault tests and
the benchmarks start stacks of their own the same way.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from prometheus_client.parser import text_string_to_metric_families

from astra_otel.stack import process
from astra_otel.stack.components import SPECS, Binaries, state_paths
from astra_otel.stack.errors import PortInUseError, StackError
from astra_otel.stack.process import Say
from astra_otel.stack.settings import MAX_PORT_OFFSET, StackSettings
from astra_otel.stack.supervisor import Stack

__all__ = [
    "Analyzed",
    "DemoService",
    "RunningStack",
    "demo_service",
    "pick_port_offset",
    "running_stack",
    "start_on_free_offset",
    "wait_for",
]

T = TypeVar("T")

_MIN_TEST_OFFSET = 1000
_OFFSET_STEP = 10


@dataclass(frozen=True)
class RunningStack:
    """Endpoints and files of a started stack, plus the :class:`Stack` handle.

    ``otlp_grpc``/``otlp_http`` are ``http://127.0.0.1:<port>`` (give ``otlp_http`` the
    ``/v1/traces`` etc. paths); ``stack.stop("collector")``/``stack.start("collector")``
    restart a component mid-test.
    """

    stack: Stack
    port_offset: int
    state_dir: Path
    otlp_grpc: str
    otlp_http: str
    jaeger_url: str
    viewer_url: str
    prometheus_url: str
    redis_url: str
    collector_health_url: str
    collector_metrics_url: str
    collector_self_metrics_url: str
    telemetry_dir: Path
    traces_file: Path
    metrics_file: Path
    logs_file: Path

    def collector_metric(self, name: str, **labels: str) -> float:
        """Sum of the collector's own metric ``name`` (with or without ``_total``) over the
        series whose labels match ``labels``, read from its self-metrics endpoint; raises
        ``requests.RequestException`` when the collector does not answer."""
        text = requests.get(self.collector_self_metrics_url, timeout=5).text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                named = sample.name in (name, f"{name}_total")
                if named and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def exemplars(self, selector: str, window_s: float = 600.0) -> list[dict[str, Any]]:
        """Prometheus' exemplars for ``selector`` over the last ``window_s`` seconds, oldest
        first (each with ``labels``: ``trace_id``, ``span_id``); raises on HTTP errors."""
        now = time.time()
        resp = requests.get(
            f"{self.prometheus_url}/api/v1/query_exemplars",
            params={"query": selector, "start": str(now - window_s), "end": str(now + 60)},
            timeout=5,
        )
        resp.raise_for_status()
        return [e for series in resp.json()["data"] for e in series["exemplars"]]


@dataclass(frozen=True)
class DemoService:
    """The demo component started on a test stack."""

    url: str
    downstream_url: str
    service_name: str


@dataclass(frozen=True)
class Analyzed:
    """One successful analyze request a test made to the demo: its satellite and trace."""

    satellite_id: str
    trace_id: str


def running_stack(stack: Stack) -> RunningStack:
    """Describe ``stack``'s endpoints (whether or not its processes are up yet)."""
    c = stack.components
    telemetry = state_paths(stack.settings)["telemetry"]
    return RunningStack(
        stack=stack,
        port_offset=stack.settings.port_offset,
        state_dir=stack.settings.state_dir,
        otlp_grpc=f"http://{c['collector'].endpoint('otlp_grpc')}",
        otlp_http=c["collector"].url("otlp_http"),
        jaeger_url=c["jaeger"].url("query_http"),
        viewer_url=c["viewer"].url("ui"),
        prometheus_url=c["prometheus"].url("http"),
        redis_url=f"redis://{c['redis'].endpoint('redis')}/0",
        collector_health_url=c["collector"].health_url,
        collector_metrics_url=c["collector"].url("prometheus_exporter", "/metrics"),
        collector_self_metrics_url=c["collector"].url("self_metrics", "/metrics"),
        telemetry_dir=telemetry,
        traces_file=telemetry / "traces.jsonl",
        metrics_file=telemetry / "metrics.jsonl",
        logs_file=telemetry / "logs.jsonl",
    )


def demo_service(stack: Stack) -> DemoService:
    """Describe the demo component of ``stack``."""
    demo = stack.components["demo"]
    name = demo.env.get("OTEL_SERVICE_NAME", "astraguard-api")
    return DemoService(demo.url("api"), demo.url("downstream"), name)


def _all_free(offset: int, in_use: Callable[[int], bool]) -> bool:
    return not any(in_use(port + offset) for spec in SPECS for port in spec.ports.values())


def pick_port_offset(
    rng: random.Random | None = None,
    in_use: Callable[[int], bool] = process.port_in_use,
    attempts: int = 200,
) -> int:
    """A port offset in [1000, 9000] at which every port of every component is free."""
    rng = rng or random.Random()  # spreading sessions, not security
    for _ in range(attempts):
        offset = rng.randrange(_MIN_TEST_OFFSET, MAX_PORT_OFFSET + 1, _OFFSET_STEP)
        if _all_free(offset, in_use):
            return offset
    msg = f"no port offset with all stack ports free after {attempts} tries"
    raise StackError(msg)


def start_on_free_offset(
    settings: StackSettings,
    environ: Mapping[str, str],
    components: Iterable[str],
    *,
    binaries: Binaries,
    collector_config: Path | None = None,
    say: Say | None = None,
    attempts: int = 3,
) -> Stack:
    """Start ``components`` of a stack at a free port offset (tried again if another
    session takes a port between the pick and the start); the kernel kills every process
    if the starting thread dies. For the session's stack and for test fixtures and
    benchmarks that need a stack of their own beside it."""
    names = tuple(components)
    for attempt in range(attempts):
        handle = Stack(
            settings.with_(port_offset=pick_port_offset()),
            environ,
            say=say or process.quiet,
            binaries=binaries,
            collector_config=collector_config,
            die_with_parent=True,
        )
        try:
            handle.up(names, build=False)
        except PortInUseError:
            if attempt == attempts - 1:
                raise
        else:
            return handle
    msg = "unreachable: the last attempt returns or raises"
    raise StackError(msg)


def wait_for(
    fetch: Callable[[], T | None], what: str, timeout: float = 45.0, interval: float = 0.5
) -> T:
    """Call ``fetch`` until it returns something other than None (bounded in time) and
    return that; on timeout raise ``TimeoutError`` naming ``what``. For end-to-end tests
    that wait for data to come out of Jaeger, Prometheus or the JSON files."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout:.0f} s waiting for {what}"
            raise TimeoutError(msg)
        time.sleep(interval)
