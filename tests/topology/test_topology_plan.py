"""The topology as data (no processes): ports, names, generated backends layer, CLI plan file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from astra_otel.stack.errors import StackError
from astra_otel.stack.settings import load_stack_settings
from astra_otel.stack.topology import (
    AGENT,
    GATEWAY,
    Sampling,
    backends_layer,
    plan_topology,
)

_STACK_PORTS = {4317, 4318, 8888, 8889, 13133, 55679, 1777, 14317, 14318, 16686, 9090}


def _plan(tmp_path: Path, offset: int = 0, agents: int = 2, gateways: int = 3):
    settings = load_stack_settings({}, state_dir=str(tmp_path), port_offset=str(offset))
    return plan_topology(settings, Path("/bin/true"), agents=agents, gateways=gateways)


def test_instances_get_distinct_names_ports_and_files(tmp_path: Path) -> None:
    """Every instance has its own name, ports, pid file, log file and queue directory."""
    plan = _plan(tmp_path)
    names = [c.name for c in plan.components]
    assert names == ["gateway-0", "gateway-1", "gateway-2", "agent-0", "agent-1"]
    ports = [p for c in plan.components for p in c.ports.values()]
    assert len(ports) == len(set(ports))
    assert not set(ports) & _STACK_PORTS
    assert len({c.pid_file for c in plan.components}) == 5
    storage = {
        c.env.get("OTELCOL_AGENT_STORAGE_DIR") or c.env["OTELCOL_GATEWAY_STORAGE_DIR"]
        for c in plan.components
    }
    assert len(storage) == 5


def test_default_ports_follow_the_stack_port_offset(tmp_path: Path) -> None:
    """Default ports are the spec default + offset + 10 per instance."""
    plan = _plan(tmp_path, offset=3000)
    assert plan.agents[1].ports["otlp_grpc"] == AGENT.ports["otlp_grpc"] + 3000 + 10
    assert plan.gateways[2].ports["health"] == GATEWAY.ports["health"] + 3000 + 20
    gw = plan.gateways[0]
    assert gw.env["OTELCOL_GATEWAY_JAEGER_ENDPOINT"] == "127.0.0.1:17319"  # 14319 + offset


def test_agents_are_given_every_gateway_in_order(tmp_path: Path) -> None:
    """The agents' static list names each gateway's OTLP endpoint, as YAML the collector parses."""
    plan = _plan(tmp_path)
    expected = [g.endpoint("otlp_grpc") for g in plan.gateways]
    assert yaml.safe_load(plan.agents[0].env["OTELCOL_AGENT_GATEWAYS"]) == expected
    assert plan.agents[0].command[-1] == f"file:{plan.backends_file(plan.agents[0])}"


def test_backends_layer_replaces_the_list_of_every_load_balancing_exporter() -> None:
    """The generated layer sets the static hostnames of the traces, metrics and logs exporters."""
    doc = yaml.safe_load(backends_layer(("127.0.0.1:1", "127.0.0.1:2")))
    assert set(doc["exporters"]) == {
        "load_balancing/traces",
        "load_balancing/metrics",
        "load_balancing/logs",
    }
    for exp in doc["exporters"].values():
        assert exp == {"resolver": {"static": {"hostnames": ["127.0.0.1:1", "127.0.0.1:2"]}}}


def test_sampling_knobs_become_gateway_environment() -> None:
    """Sampling settings are passed to the gateways as the variables gateway.yaml reads."""
    env = Sampling(sampling_percentage=2.5, slow_trace_ms=750, decision_wait_s=1.5).env()
    assert env["OTELCOL_GATEWAY_SAMPLING_PERCENTAGE"] == "2.5"
    assert env["OTELCOL_GATEWAY_SLOW_TRACE_MS"] == "750"
    assert env["OTELCOL_GATEWAY_DECISION_WAIT"] == "1500ms"
    gateway_yaml = (Path(__file__).parents[2] / "collector" / "gateway.yaml").read_text()
    for var in (*env, *GATEWAY.config_env):
        assert f"${{env:{var}" in gateway_yaml, var


def test_agent_yaml_reads_every_variable_the_plan_sets(tmp_path: Path) -> None:
    """Each variable set for an agent is read by collector/agent.yaml (no silent no-ops)."""
    agent_yaml = (Path(__file__).parents[2] / "collector" / "agent.yaml").read_text()
    for var in _plan(tmp_path).agents[0].env:
        assert f"${{env:{var}" in agent_yaml, var


@pytest.mark.parametrize(("agents", "gateways"), [(0, 1), (1, 0), (9, 1)])
def test_instance_counts_are_bounded(tmp_path: Path, agents: int, gateways: int) -> None:
    """Zero instances, or more than the port scheme allows, is a StackError."""
    with pytest.raises(StackError, match="topology needs"):
        _plan(tmp_path, agents=agents, gateways=gateways)
