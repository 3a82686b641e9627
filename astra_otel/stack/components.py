"""The local stack's processes described as data: one place for the CLI, tests and compose.

:data:`SPECS` holds what does not depend on the machine (default ports, config files,
health endpoints, the environment variables each config reads). :func:`resolve_components`
turns them into concrete :class:`Component`\\s for one :class:`StackSettings` (ports
shifted by the offset, paths under the state directory, binaries from the cache).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from astra_otel.stack.pki import Pki
from astra_otel.stack.settings import StackSettings

__all__ = [
    "COLLECTOR_FLAGS",
    "COMPONENT_NAMES",
    "CORE_COMPONENTS",
    "LOOPBACK",
    "SPECS",
    "TLS_RELOAD_INTERVAL",
    "VIEWER_LAYER",
    "VIEWER_TRACE_PATH",
    "Binaries",
    "Component",
    "ComponentSpec",
    "port_env",
    "resolve_components",
    "state_paths",
]

LOOPBACK = "127.0.0.1"
TLS_RELOAD_INTERVAL = "2s"
"""How often the stack's TLS servers and clients re-read a rotated certificate (local runs)."""


@dataclass(frozen=True)
class ComponentSpec:
    """What one component of the stack is, independent of where it runs.

    ``ports`` maps a port name to its default; ``health_port``/``health_path`` give the
    readiness check (a ``None`` path means a Redis ``PING``); ``ui_ports`` are the ones
    printed for people; ``config`` is the config file relative to the stack's files
    directory (:data:`~astra_otel.stack.settings.FILES_DIR`; a template for Prometheus)
    and ``layers`` the config layers that may be added to it (further ``--config`` files,
    same directory convention). ``config_env`` lists every variable the config and its
    layers read, with its meaning: the one place each is documented. A meaning that is a
    port name, ``host of <port>`` or ``<port> (port only)`` says the variable carries that
    port's ``127.0.0.1:<port>``, host or number (:func:`port_env`).
    """

    name: str
    summary: str
    binary: str
    ports: Mapping[str, int]
    health_port: str
    health_path: str | None
    ui_ports: tuple[str, ...] = ()
    config: str | None = None
    config_env: Mapping[str, str] = field(default_factory=dict)
    optional: bool = False
    layers: tuple[str, ...] = ()


VIEWER_LAYER = "collector/viewer/collector-layer.yaml"
"""The collector config layer that also feeds the viewer (added only when it runs)."""
COLLECTOR = ComponentSpec(
    name="collector",
    summary="OpenTelemetry Collector (custom build astra-otelcol): OTLP in; Prometheus, "
    "Jaeger and JSON files out",
    binary="astra-otelcol",
    ports={
        "otlp_grpc": 4317,
        "otlp_http": 4318,
        "prometheus_exporter": 8889,
        "self_metrics": 8888,
        "health": 13133,
        "zpages": 55679,
        "pprof": 1777,
        "file_queue": 4329,
    },
    health_port="health",
    health_path="/",
    ui_ports=("zpages",),
    config="collector/otel-collector.yaml",
    # the viewer's feed (added when the viewer runs); TLS + token on the OTLP receivers, for
    # operators exposing the single collector to other hosts (docs/topology.md)
    layers=(VIEWER_LAYER, "collector/otel-collector-tls.yaml"),
    config_env={
        "OTELCOL_OTLP_GRPC_ENDPOINT": "otlp_grpc",
        "OTELCOL_OTLP_HTTP_ENDPOINT": "otlp_http",
        "OTELCOL_PROMETHEUS_ENDPOINT": "prometheus_exporter",
        "OTELCOL_SELF_METRICS_HOST": "host of self_metrics",
        "OTELCOL_SELF_METRICS_PORT": "self_metrics (port only)",
        "OTELCOL_HEALTH_ENDPOINT": "health",
        "OTELCOL_ZPAGES_ENDPOINT": "zpages",
        "OTELCOL_PPROF_ENDPOINT": "pprof",
        "OTELCOL_JAEGER_ENDPOINT": "jaeger otlp_grpc",
        "OTELCOL_FILE_QUEUE_ENDPOINT": "file_queue",
        "OTELCOL_STORAGE_DIR": "file_storage directory (persistent queue)",
        "OTELCOL_TELEMETRY_DIR": "directory of the JSON-lines files",
        "OTELCOL_MEMORY_LIMIT_MIB": "memory_limiter hard limit (default 512)",
        "OTELCOL_MEMORY_SPIKE_LIMIT_MIB": "memory_limiter spike headroom (default 128)",
        "OTELCOL_JAEGER_QUEUE_BYTES": "Jaeger queue bound in bytes (default 256 MiB)",
        "OTELCOL_FILE_QUEUE_BYTES": "file queue bound in bytes, per signal (default 256 MiB)",
        # collector/viewer/collector-layer.yaml, added when the viewer runs
        "OTELCOL_VIEWER_ENDPOINT": "viewer otlp_grpc",
        "OTELCOL_ATTRIBUTE_COUNT_LIMIT": "attributes kept per record (default 128)",
        "OTELCOL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "bytes kept per string value (default 16384)",
        # collector/otel-collector-tls.yaml, set by the operator
        "OTELCOL_TLS_CERT_FILE": "the collector's server certificate (PEM)",
        "OTELCOL_TLS_KEY_FILE": "its private key",
        "OTELCOL_TLS_CLIENT_CA_FILE": "CA that issued the clients' certificates",
        "OTELCOL_TLS_RELOAD_INTERVAL": "how often the certificate and key are re-read",
        "OTELCOL_TLS_TOKEN_FILE": "bearer tokens accepted from clients (one per line)",
    },
)
JAEGER = ComponentSpec(
    name="jaeger",
    summary="Jaeger v2 (collector-based): stores traces in memory, query API and UI",
    binary="jaeger",
    ports={
        "otlp_grpc": 14317,
        "otlp_http": 14318,
        "otlp_grpc_tls": 14319,
        "query_http": 16686,
        "query_grpc": 16685,
        "health": 13134,
        "self_metrics": 18888,
    },
    health_port="query_http",
    health_path="/api/services",
    ui_ports=("query_http",),
    config="collector/jaeger/jaeger.yaml",
    # the mTLS OTLP receiver the topology's gateways send to (always added)
    layers=("collector/jaeger/jaeger-tls.yaml",),
    config_env={
        "JAEGER_OTLP_GRPC_ENDPOINT": "otlp_grpc",
        "JAEGER_OTLP_HTTP_ENDPOINT": "otlp_http",
        # collector/jaeger/jaeger-tls.yaml: the mTLS receiver the topology's gateways use
        "JAEGER_OTLP_TLS_ENDPOINT": "otlp_grpc_tls",
        "JAEGER_TLS_CERT_FILE": "Jaeger's server certificate (PEM)",
        "JAEGER_TLS_KEY_FILE": "its private key",
        "JAEGER_TLS_CA_FILE": "CA that issued the client certificates it accepts",
        "JAEGER_TLS_RELOAD_INTERVAL": "how often the certificate and key are re-read",
        "JAEGER_QUERY_HTTP_ENDPOINT": "query_http",
        "JAEGER_QUERY_GRPC_ENDPOINT": "query_grpc",
        "JAEGER_HEALTH_ENDPOINT": "health",
        "JAEGER_SELF_METRICS_HOST": "host of self_metrics",
        "JAEGER_SELF_METRICS_PORT": "self_metrics (port only)",
        "JAEGER_MAX_TRACES": "traces kept in memory (default 50000)",
        "JAEGER_MEMORY_LIMIT_MIB": "memory_limiter hard limit (default 1024)",
        "JAEGER_MEMORY_SPIKE_LIMIT_MIB": "memory_limiter spike headroom (default 256)",
    },
)
VIEWER = ComponentSpec(
    name="viewer",
    summary="OpenTelemetry Desktop Viewer (Go module v0.4.1): browser UI for traces, logs "
    "and metrics, in a DuckDB file bounded in size",
    binary="otel-desktop-viewer",
    ports={"ui": 18000, "otlp_grpc": 44317, "otlp_http": 44318},
    health_port="ui",
    health_path="/",
    ui_ports=("ui",),
)
VIEWER_TRACE_PATH = "/traces/{trace_id}"
"""Path of one trace in the viewer's UI (32 lowercase hex digits, as in exemplars' and log
records' trace ids); ``?span=<span_id>`` selects one of its spans."""
PROMETHEUS = ComponentSpec(
    name="prometheus",
    summary="Prometheus (Debian package): scrapes the collector, evaluates alert rules",
    binary="prometheus",
    ports={"http": 9090},
    health_port="http",
    health_path="/-/ready",
    ui_ports=("http",),
    config="collector/prometheus/prometheus.yml.tmpl",
)
REDIS = ComponentSpec(
    name="redis",
    summary="Redis (Debian package): the demo service's cache",
    binary="redis-server",
    ports={"redis": 6379},
    health_port="redis",
    health_path=None,
)
DEMO = ComponentSpec(
    name="demo",
    summary="Demo AstraGuard API and its downstream service, with bounded traffic",
    binary=sys.executable,
    ports={"api": 8000, "downstream": 8001},
    health_port="api",
    health_path="/healthz",
    ui_ports=("api",),
    optional=True,
)

COLLECTOR_FLAGS: tuple[str, ...] = ("--feature-gates=ottl.functions.enableLambda",)
"""Command-line flags every run of the collector config needs (``validate`` included): the
shape limits in collector/otel-collector.yaml use OTTL lambdas (alpha in v0.161.0, behind
this gate) to look into each attribute value."""

SPECS: tuple[ComponentSpec, ...] = (REDIS, JAEGER, VIEWER, COLLECTOR, PROMETHEUS, DEMO)
"""Every component, in start order (stopped in reverse): the collector's sinks first."""
COMPONENT_NAMES: tuple[str, ...] = tuple(s.name for s in SPECS)
CORE_COMPONENTS: tuple[str, ...] = tuple(s.name for s in SPECS if not s.optional)


@dataclass(frozen=True)
class Binaries:
    """Where the executables are (filled in by :mod:`astra_otel.stack.build`)."""

    collector: Path
    jaeger: Path
    prometheus: Path
    redis: Path
    viewer: Path


@dataclass(frozen=True)
class Component:
    """One component made concrete for a settings object: what to run and where."""

    spec: ComponentSpec
    ports: Mapping[str, int]
    command: tuple[str, ...]
    env: Mapping[str, str]
    config_file: Path | None
    log_file: Path
    pid_file: Path
    max_open_files: int | None = None
    """RLIMIT_NOFILE (soft and hard) set for the process at spawn; None inherits ours."""

    @property
    def name(self) -> str:
        """The component's name."""
        return self.spec.name

    @property
    def health_url(self) -> str:
        """``http://`` URL of the readiness check, or ``redis://`` for a PING."""
        port = self.ports[self.spec.health_port]
        if self.spec.health_path is None:
            return f"redis://{LOOPBACK}:{port}"
        return f"http://{LOOPBACK}:{port}{self.spec.health_path}"

    def url(self, port_name: str, path: str = "") -> str:
        """``http://127.0.0.1:<port><path>`` for one of this component's ports."""
        return f"http://{LOOPBACK}:{self.ports[port_name]}{path}"

    def endpoint(self, port_name: str) -> str:
        """``127.0.0.1:<port>`` for one of this component's ports."""
        return f"{LOOPBACK}:{self.ports[port_name]}"


def state_paths(settings: StackSettings) -> dict[str, Path]:
    """The directories under the state directory, by purpose."""
    root = settings.state_dir
    return {
        "run": root / "run",
        "logs": root / "logs",
        "config": root / "config",
        "prometheus": root / "prometheus",
        "queue": root / "collector-queue",
        "telemetry": root / "telemetry",
        "redis": root / "redis",
        "demo": root / "demo",
        "viewer": root / "viewer",
        # Throwaway CA, certificates and token (astra_otel.stack.pki), shared with the topology.
        "tls": root / "tls",
    }


def _ports(spec: ComponentSpec, offset: int) -> dict[str, int]:
    return {name: port + offset for name, port in spec.ports.items()}


def port_env(spec: ComponentSpec, ports: Mapping[str, int]) -> dict[str, str]:
    """The variables of ``spec.config_env`` that carry one of its own ports, for ``ports``."""
    env: dict[str, str] = {}
    for var, meaning in spec.config_env.items():
        if meaning in ports:
            env[var] = f"{LOOPBACK}:{ports[meaning]}"
        elif meaning.startswith("host of ") and meaning.removeprefix("host of ") in ports:
            env[var] = LOOPBACK
        elif meaning.endswith(" (port only)") and meaning.removesuffix(" (port only)") in ports:
            env[var] = str(ports[meaning.removesuffix(" (port only)")])
    return env


def resolve_components(
    settings: StackSettings,
    binaries: Binaries,
    collector_config: Path | None = None,
    *,
    feed_viewer: bool = True,
) -> dict[str, Component]:
    """Every component made concrete for ``settings``, keyed by name, in start order.

    ``feed_viewer`` adds :data:`VIEWER_LAYER` to the collector's ``--config`` files (the
    supervisor passes it when the viewer runs beside the collector)."""
    paths = state_paths(settings)
    off = settings.port_offset
    ports = {spec.name: _ports(spec, off) for spec in SPECS}
    col, jae, prom, red, demo, view = (
        ports["collector"],
        ports["jaeger"],
        ports["prometheus"],
        ports["redis"],
        ports["demo"],
        ports["viewer"],
    )
    repo = settings.files_dir
    col_config = collector_config or repo / (COLLECTOR.config or "")
    col_layers = [repo / VIEWER_LAYER] if feed_viewer else []
    prom_config = paths["config"] / "prometheus.yml"
    jaeger_config = repo / (JAEGER.config or "")
    jaeger_tls = repo / JAEGER.layers[0]
    pki = Pki(paths["tls"])

    def ep(port: int) -> str:
        return f"{LOOPBACK}:{port}"

    commands: dict[str, tuple[tuple[str, ...], dict[str, str], Path | None]] = {
        "collector": (
            (
                str(binaries.collector),
                *COLLECTOR_FLAGS,
                *(arg for f in (col_config, *col_layers) for arg in ("--config", f"file:{f}")),
            ),
            {
                **port_env(COLLECTOR, col),
                "OTELCOL_JAEGER_ENDPOINT": ep(jae["otlp_grpc"]),
                "OTELCOL_STORAGE_DIR": str(paths["queue"]),
                "OTELCOL_TELEMETRY_DIR": str(paths["telemetry"]),
                **({"OTELCOL_VIEWER_ENDPOINT": ep(view["otlp_grpc"])} if col_layers else {}),
            },
            col_config,
        ),
        "viewer": (
            (
                str(binaries.viewer),
                "--host",
                LOOPBACK,
                "--browser-port",
                str(view["ui"]),
                "--grpc",
                str(view["otlp_grpc"]),
                "--http",
                str(view["otlp_http"]),
                "--db",
                str(paths["viewer"] / "telemetry.duckdb"),
                "--db-max-size",
                settings.viewer_db_max_size,
                "--open-browser=false",
            ),
            {},
            None,
        ),
        "jaeger": (
            (
                str(binaries.jaeger),
                "--config",
                f"file:{jaeger_config}",
                "--config",
                f"file:{jaeger_tls}",
            ),
            {
                **port_env(JAEGER, jae),
                "JAEGER_TLS_CERT_FILE": str(pki.cert("jaeger")),
                "JAEGER_TLS_KEY_FILE": str(pki.key("jaeger")),
                "JAEGER_TLS_CA_FILE": str(pki.ca_cert),
                "JAEGER_TLS_RELOAD_INTERVAL": TLS_RELOAD_INTERVAL,
            },
            jaeger_config,
        ),
        "prometheus": (
            (
                str(binaries.prometheus),
                f"--config.file={prom_config}",
                f"--web.listen-address={ep(prom['http'])}",
                f"--storage.tsdb.path={paths['prometheus']}",
                f"--storage.tsdb.retention.time={settings.prometheus_retention_hours}h",
                "--enable-feature=exemplar-storage",
            ),
            {},
            prom_config,
        ),
        "redis": (
            (
                str(binaries.redis),
                "--bind",
                LOOPBACK,
                "--port",
                str(red["redis"]),
                "--protected-mode",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(paths["redis"]),
            ),
            {},
            None,
        ),
        "demo": (
            (
                sys.executable,
                "-m",
                "astra_otel.demo",
                "--port",
                str(demo["api"]),
                "--downstream-port",
                str(demo["downstream"]),
                "--redis-url",
                f"redis://{LOOPBACK}:{red['redis']}/0",
                "--database-url",
                f"sqlite:///{paths['demo'] / 'demo.db'}",
                "--traffic-rps",
                "5",
            ),
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{ep(col['otlp_grpc'])}",
                # the endpoint is the gRPC port; setup()'s default protocol is http/protobuf
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_SERVICE_NAME": "astraguard-api",
            },
            None,
        ),
    }
    result: dict[str, Component] = {}
    for spec in SPECS:
        command, env, config = commands[spec.name]
        result[spec.name] = Component(
            spec=spec,
            ports=ports[spec.name],
            command=command,
            env=env,
            config_file=config,
            log_file=paths["logs"] / f"{spec.name}.log",
            pid_file=paths["run"] / f"{spec.name}.pid",
            max_open_files=settings.collector_max_open_files if spec is COLLECTOR else None,
        )
    return result
