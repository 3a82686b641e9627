"""The agent/gateway topology as data: instance specs, ports, environment, generated layers.

:func:`plan_topology` turns a :class:`~astra_otel.stack.settings.StackSettings` into a
:class:`TopologyPlan` of concrete :class:`~astra_otel.stack.components.Component`\\s (one
per agent and gateway); :mod:`astra_otel.stack.topology` runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from astra_otel.stack.components import (
    LOOPBACK,
    TLS_RELOAD_INTERVAL,
    Component,
    ComponentSpec,
    port_env,
    state_paths,
)
from astra_otel.stack.errors import StackError
from astra_otel.stack.pki import Pki
from astra_otel.stack.settings import StackSettings

__all__ = [
    "AGENT",
    "GATEWAY",
    "LB_EXPORTERS",
    "MAX_INSTANCES",
    "PortPicker",
    "Sampling",
    "TopologyPlan",
    "backends_layer",
    "plan_topology",
]

MAX_INSTANCES = 8
"""Default ports step by 10 per instance, so at most this many of each kind."""
_PORT_STEP = 10
LB_EXPORTERS = ("load_balancing/traces", "load_balancing/metrics", "load_balancing/logs")

AGENT = ComponentSpec(
    name="agent",
    summary="agent collector: OTLP in, load_balancing by trace id to the gateways",
    binary="astra-otelcol",
    ports={"otlp_grpc": 24317, "otlp_http": 24318, "health": 24133, "self_metrics": 24888},
    health_port="health",
    health_path="/",
    config="collector/agent.yaml",
    # the gateways from DNS (a headless Service) instead of a static list
    layers=("collector/agent-dns.yaml",),
    config_env={
        "OTELCOL_AGENT_ID": "instance name (agent-N)",
        "OTELCOL_AGENT_OTLP_GRPC_ENDPOINT": "otlp_grpc",
        "OTELCOL_AGENT_OTLP_HTTP_ENDPOINT": "otlp_http",
        "OTELCOL_AGENT_HEALTH_ENDPOINT": "health",
        "OTELCOL_AGENT_SELF_METRICS_HOST": "host of self_metrics",
        "OTELCOL_AGENT_SELF_METRICS_PORT": "self_metrics (port only)",
        "OTELCOL_AGENT_STORAGE_DIR": "file_storage directory (persistent queues)",
        "OTELCOL_AGENT_GATEWAYS": "YAML list of gateway host:port (static resolver)",
        "OTELCOL_AGENT_TLS_CA_FILE": "CA that issued the gateways' certificate",
        "OTELCOL_AGENT_TLS_CERT_FILE": "the agent's client certificate (PEM)",
        "OTELCOL_AGENT_TLS_KEY_FILE": "its private key",
        "OTELCOL_AGENT_TLS_RELOAD_INTERVAL": "how often the certificate and key are re-read",
        "OTELCOL_AGENT_TOKEN_FILE": "bearer token sent to the gateways (first line)",
        "OTELCOL_AGENT_GATEWAY_SERVER_NAME": "name the gateways' certificate is checked "
        "against (default: the address's host)",
        "OTELCOL_AGENT_MEMORY_LIMIT_MIB": "memory_limiter hard limit (default 512)",
        "OTELCOL_AGENT_MEMORY_SPIKE_MIB": "memory_limiter spike headroom (default 128)",
        "OTELCOL_AGENT_QUEUE_SIZE": "persistent queue bound per exporter, in requests "
        "(default 5000)",
        "OTELCOL_AGENT_QUEUE_CONSUMERS": "the traces exporter's queue consumers (default 4)",
        "OTELCOL_AGENT_STORAGE_FSYNC": "fsync every queue write (default false)",
        "OTELCOL_AGENT_LOG_LEVEL": "the agent's own log level (default info)",
        # collector/agent-dns.yaml
        "OTELCOL_AGENT_GATEWAYS_DNS": "DNS name whose A records are the gateways",
        "OTELCOL_AGENT_GATEWAYS_PORT": "the gateways' OTLP gRPC port (default 4317)",
        "OTELCOL_AGENT_GATEWAYS_DNS_INTERVAL": "how often the name is resolved again (default 5s)",
    },
)
GATEWAY = ComponentSpec(
    name="gateway",
    summary="gateway collector: span metrics, tail sampling; Prometheus, Jaeger, JSON out",
    binary="astra-otelcol",
    ports={
        "otlp_grpc": 34317,
        "otlp_http": 34318,
        "prometheus_exporter": 34889,
        "health": 34133,
        "self_metrics": 34888,
    },
    health_port="health",
    health_path="/",
    config="collector/gateway.yaml",
    config_env={
        "OTELCOL_GATEWAY_ID": "instance name (gateway-N), also the astra_gateway label",
        "OTELCOL_GATEWAY_OTLP_GRPC_ENDPOINT": "otlp_grpc",
        "OTELCOL_GATEWAY_OTLP_HTTP_ENDPOINT": "otlp_http",
        "OTELCOL_GATEWAY_PROMETHEUS_ENDPOINT": "prometheus_exporter",
        "OTELCOL_GATEWAY_HEALTH_ENDPOINT": "health",
        "OTELCOL_GATEWAY_SELF_METRICS_HOST": "host of self_metrics",
        "OTELCOL_GATEWAY_SELF_METRICS_PORT": "self_metrics (port only)",
        "OTELCOL_GATEWAY_STORAGE_DIR": "file_storage directory (Jaeger exporter queue)",
        "OTELCOL_GATEWAY_TELEMETRY_DIR": "directory of the JSON-lines files",
        "OTELCOL_GATEWAY_JAEGER_ENDPOINT": "jaeger otlp_grpc_tls",
        "OTELCOL_GATEWAY_TLS_CERT_FILE": "the gateway's certificate (server, and client to Jaeger)",
        "OTELCOL_GATEWAY_TLS_KEY_FILE": "its private key",
        "OTELCOL_GATEWAY_TLS_CA_FILE": "CA that issued the agents' client certificates",
        "OTELCOL_GATEWAY_TLS_RELOAD_INTERVAL": "how often the certificate and key are re-read",
        "OTELCOL_GATEWAY_TOKEN_FILE": "bearer tokens accepted from the agents (one per line)",
        "OTELCOL_GATEWAY_JAEGER_CA_FILE": "CA that issued Jaeger's certificate",
        "OTELCOL_GATEWAY_MAX_CONNECTION_AGE": "agents reconnect (new handshake) after this",
        "OTELCOL_GATEWAY_DECISION_WAIT": "tail_sampling decision_wait (Go duration)",
        "OTELCOL_GATEWAY_SLOW_TRACE_MS": "traces at least this slow are always kept",
        "OTELCOL_GATEWAY_SAMPLING_PERCENTAGE": "percentage kept of the other traces",
        "OTELCOL_GATEWAY_SPANMETRICS_FLUSH": "span_metrics flush interval (Go duration)",
        "OTELCOL_GATEWAY_NUM_TRACES": "traces tail_sampling holds while deciding (default 50000)",
        "OTELCOL_GATEWAY_JAEGER_SERVER_NAME": "name Jaeger's certificate is checked against "
        "(default: the endpoint's host)",
        "OTELCOL_GATEWAY_MEMORY_LIMIT_MIB": "memory_limiter hard limit (default 1024)",
        "OTELCOL_GATEWAY_MEMORY_SPIKE_MIB": "memory_limiter spike headroom (default 256)",
        "OTELCOL_GATEWAY_QUEUE_SIZE": "Jaeger exporter's persistent queue, in requests "
        "(default 5000)",
        "OTELCOL_GATEWAY_FILE_MAX_MB": "JSON file size before rotation (default 64)",
        "OTELCOL_GATEWAY_FILE_BACKUPS": "rotated JSON files kept per signal (default 5)",
        "OTELCOL_GATEWAY_LOG_LEVEL": "the gateway's own log level (default info)",
    },
)

PortPicker = Callable[[str, int, str, int], int]
"""``(kind, index, port_name, default) -> port``: how an instance's ports are chosen."""


@dataclass(frozen=True)
class Sampling:
    """The gateways' tail-sampling and span-metrics knobs (passed as collector env)."""

    sampling_percentage: float = 10.0
    slow_trace_ms: int = 1000
    decision_wait_s: float = 10.0
    spanmetrics_flush_s: float = 15.0

    def env(self) -> dict[str, str]:
        """The gateway environment variables for these values."""
        return {
            "OTELCOL_GATEWAY_SAMPLING_PERCENTAGE": f"{self.sampling_percentage:g}",
            "OTELCOL_GATEWAY_SLOW_TRACE_MS": str(self.slow_trace_ms),
            "OTELCOL_GATEWAY_DECISION_WAIT": f"{int(self.decision_wait_s * 1000)}ms",
            "OTELCOL_GATEWAY_SPANMETRICS_FLUSH": f"{int(self.spanmetrics_flush_s * 1000)}ms",
        }


@dataclass(frozen=True)
class TopologyPlan:
    """Every agent and gateway made concrete: commands, env, ports, files."""

    root: Path
    agents: tuple[Component, ...]
    gateways: tuple[Component, ...]
    pki: Pki
    """Where the instances' certificates and token are (:func:`astra_otel.stack.pki.ensure_pki`)."""

    def backends_file(self, agent: Component) -> Path:
        """The generated config layer listing the gateways ``agent`` routes to."""
        return self.root / agent.name / "backends.yaml"

    def telemetry_dir(self, gateway: Component) -> Path:
        """Where ``gateway`` writes traces.jsonl, metrics.jsonl and logs.jsonl."""
        return self.root / gateway.name / "telemetry"

    @property
    def components(self) -> tuple[Component, ...]:
        """Gateways first (start order), then agents."""
        return (*self.gateways, *self.agents)


def _default_ports(offset: int) -> PortPicker:
    def pick(_kind: str, index: int, _name: str, default: int) -> int:
        return default + offset + _PORT_STEP * index

    return pick


def plan_topology(
    settings: StackSettings,
    collector: Path,
    *,
    agents: int = 2,
    gateways: int = 2,
    sampling: Sampling | None = None,
    jaeger_endpoint: str | None = None,
    ports: PortPicker | None = None,
    pki_dir: Path | None = None,
) -> TopologyPlan:
    """Describe ``agents`` agents and ``gateways`` gateways under ``<state>/topology``.

    Default ports are the specs' defaults plus the stack's port offset plus 10 per instance;
    tests pass ``ports`` to pick free ones. ``jaeger_endpoint`` defaults to the local stack's
    Jaeger mTLS OTLP port (14319 + offset). ``pki_dir`` (default ``<state>/tls``, the one the
    local stack's Jaeger trusts) holds the certificates and token.
    """
    for kind, count in (("agents", agents), ("gateways", gateways)):
        if not 1 <= count <= MAX_INSTANCES:
            msg = f"topology needs 1..{MAX_INSTANCES} {kind}, got {count}"
            raise StackError(msg)
    pick = ports or _default_ports(settings.port_offset)
    root = settings.state_dir / "topology"
    jaeger = jaeger_endpoint or f"{LOOPBACK}:{14319 + settings.port_offset}"
    repo = settings.files_dir
    pki = Pki(pki_dir or state_paths(settings)["tls"])
    gws: list[Component] = []
    for i in range(gateways):
        name = f"gateway-{i}"
        p = {n: pick("gateway", i, n, d) for n, d in GATEWAY.ports.items()}
        config = repo / (GATEWAY.config or "")
        env = {
            "OTELCOL_GATEWAY_ID": name,
            **port_env(GATEWAY, p),
            "OTELCOL_GATEWAY_STORAGE_DIR": str(root / name / "queue"),
            "OTELCOL_GATEWAY_TELEMETRY_DIR": str(root / name / "telemetry"),
            "OTELCOL_GATEWAY_JAEGER_ENDPOINT": jaeger,
            "OTELCOL_GATEWAY_TLS_CERT_FILE": str(pki.cert("gateway")),
            "OTELCOL_GATEWAY_TLS_KEY_FILE": str(pki.key("gateway")),
            "OTELCOL_GATEWAY_TLS_CA_FILE": str(pki.ca_cert),
            "OTELCOL_GATEWAY_TLS_RELOAD_INTERVAL": TLS_RELOAD_INTERVAL,
            "OTELCOL_GATEWAY_TOKEN_FILE": str(pki.token),
            "OTELCOL_GATEWAY_JAEGER_CA_FILE": str(pki.ca_cert),
            # Locally, rotated certificates are in use within seconds (a handshake per agent
            # and gateway every 10 s costs nothing measurable).
            "OTELCOL_GATEWAY_MAX_CONNECTION_AGE": "10s",
            **(sampling or Sampling()).env(),
        }
        command: tuple[str, ...] = (str(collector), "--config", f"file:{config}")
        gws.append(
            _component(GATEWAY, name, ports=p, command=command, env=env, config=config, root=root)
        )
    all_gateways = "[" + ", ".join(g.endpoint("otlp_grpc") for g in gws) + "]"
    ags: list[Component] = []
    for i in range(agents):
        name = f"agent-{i}"
        p = {n: pick("agent", i, n, d) for n, d in AGENT.ports.items()}
        config = repo / (AGENT.config or "")
        backends = root / name / "backends.yaml"
        command = (
            str(collector),
            "--config",
            f"file:{config}",
            "--config",
            f"file:{backends}",
        )
        env = {
            "OTELCOL_AGENT_ID": name,
            **port_env(AGENT, p),
            "OTELCOL_AGENT_STORAGE_DIR": str(root / name / "queue"),
            "OTELCOL_AGENT_GATEWAYS": all_gateways,
            "OTELCOL_AGENT_TLS_CA_FILE": str(pki.ca_cert),
            "OTELCOL_AGENT_TLS_CERT_FILE": str(pki.cert("agent")),
            "OTELCOL_AGENT_TLS_KEY_FILE": str(pki.key("agent")),
            "OTELCOL_AGENT_TLS_RELOAD_INTERVAL": TLS_RELOAD_INTERVAL,
            "OTELCOL_AGENT_TOKEN_FILE": str(pki.token),
        }
        ags.append(
            _component(AGENT, name, ports=p, command=command, env=env, config=config, root=root)
        )
    return TopologyPlan(root=root, agents=tuple(ags), gateways=tuple(gws), pki=pki)


def _component(
    spec: ComponentSpec,
    name: str,
    *,
    ports: Mapping[str, int],
    command: tuple[str, ...],
    env: Mapping[str, str],
    config: Path,
    root: Path,
) -> Component:
    # One spec per instance: a Component's name is its spec's name (agent-0, gateway-1, ...).
    return Component(
        spec=replace(spec, name=name),
        ports=ports,
        command=command,
        env=env,
        config_file=config,
        log_file=root / name / "collector.log",
        pid_file=root / name / "collector.pid",
    )


def backends_layer(endpoints: tuple[str, ...]) -> str:
    """The YAML config layer that points every load_balancing exporter at ``endpoints``."""
    static = {"resolver": {"static": {"hostnames": list(endpoints)}}}
    doc = {"exporters": dict.fromkeys(LB_EXPORTERS, static)}
    header = "# Generated by astra_otel.stack.topology: the gateways this agent routes to.\n"
    return header + yaml.safe_dump(doc, sort_keys=True)
