"""Fixtures of the topology tests: agents and gateways, real collectors on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from astra_otel._config.params import environ_snapshot
from astra_otel.stack.build import ensure_binaries
from astra_otel.stack.components import state_paths
from astra_otel.stack.settings import load_stack_settings
from astra_otel.stack.topology import Sampling, Topology, plan_topology

from _support.stack import RunningStack

# What the tests configure the gateways with (see test_tail_sampling for the tolerance).
SAMPLING = Sampling(
    sampling_percentage=25.0,
    slow_trace_ms=500,
    decision_wait_s=1.0,
    spanmetrics_flush_s=1.0,
)


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port


@contextmanager
def running_topology(
    stack: RunningStack,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    agents: int,
    gateways: int,
    watch: bool = True,
) -> Iterator[Topology]:
    """A topology on free loopback ports, TLS and tokens between its instances, exporting to
    the session's Jaeger over mTLS (certificates from the CA that Jaeger trusts)."""
    environ = environ_snapshot()
    state = tmp_path_factory.mktemp("topology-state")
    settings = load_stack_settings(environ, state_dir=str(state))
    # The session's stack fixture has built (or found) the collector already.
    binaries = ensure_binaries(settings, environ, print, components=("collector",))
    taken: set[int] = set()
    plan = plan_topology(
        settings,
        binaries.collector,
        agents=agents,
        gateways=gateways,
        sampling=SAMPLING,
        jaeger_endpoint=stack.stack.components["jaeger"].endpoint("otlp_grpc_tls"),
        ports=lambda _kind, _i, _name, _default: _free_port(taken),
        pki_dir=state_paths(stack.stack.settings)["tls"],
    )
    topo = Topology(plan, environ, startup_timeout=60.0, stop_timeout=10.0, die_with_parent=True)
    try:
        topo.start()
        if watch:
            topo.watch(interval=0.5)
        yield topo
    finally:
        topo.stop()


@pytest.fixture(scope="module")
def topology(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """2 agents + 2 gateways (TLS and tokens on every hop) exporting to the session's Jaeger."""
    with running_topology(stack, tmp_path_factory, agents=2, gateways=2) as topo:
        yield topo
