"""The stack's components as data: ports, offsets, and the configs they feed."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from astra_otel.stack.components import SPECS, Binaries, resolve_components
from astra_otel.stack.settings import MAX_PORT_OFFSET, StackSettings, load_stack_settings

from _support.stack import pick_port_offset

REPO = Path(__file__).resolve().parents[2]
BINARIES = Binaries(
    Path("/x/otelcol"), Path("/x/jaeger"), Path("/x/prom"), Path("/x/redis"), Path("/x/viewer")
)


def _settings(tmp_path: Path, offset: int = 0) -> StackSettings:
    return load_stack_settings({"HOME": str(tmp_path)}, port_offset=offset)


def test_default_ports_are_distinct_across_components() -> None:
    """No two components (or two ports of one) share a default port."""
    ports = [port for spec in SPECS for port in spec.ports.values()]
    assert len(ports) == len(set(ports))


def test_offset_shifts_every_port(tmp_path: Path) -> None:
    """ASTRA_OTEL_STACK_PORT_OFFSET is added to every port of every component."""
    comps = resolve_components(_settings(tmp_path, 1230), BINARIES)
    for spec in SPECS:
        assert dict(comps[spec.name].ports) == {k: v + 1230 for k, v in spec.ports.items()}
    assert comps["jaeger"].health_url == "http://127.0.0.1:17916/api/services"
    assert comps["redis"].health_url == "redis://127.0.0.1:7609"


def test_largest_offset_keeps_ports_valid(tmp_path: Path) -> None:
    """At the largest accepted offset every port is still <= 65535."""
    comps = resolve_components(_settings(tmp_path, MAX_PORT_OFFSET), BINARIES)
    assert max(p for c in comps.values() for p in c.ports.values()) <= 65535


_SINKS = {"OTELCOL_JAEGER_ENDPOINT": "jaeger", "OTELCOL_VIEWER_ENDPOINT": "viewer"}


def test_collector_env_matches_its_config(tmp_path: Path) -> None:
    """The collector and Jaeger run with their spec's config and layers (which read only
    documented variables: test_config_env.py), and the supervisor sets endpoints on
    loopback ports of the component (the collector's sinks' endpoints: those of the sink)."""
    settings = _settings(tmp_path, 100)
    comps = resolve_components(settings, BINARIES)
    for name in ("collector", "jaeger"):
        comp = comps[name]
        files = [Path(a.removeprefix("file:")) for a in comp.command if a.startswith("file:")]
        used = [str(f.relative_to(settings.files_dir)) for f in files]
        assert used[0] == comp.spec.config
        assert set(used[1:]) <= set(comp.spec.layers)
        for path, rel in zip(files, used, strict=True):
            # the packaged file (a link in a checkout, a copy in a wheel) is the repository's
            assert path.read_bytes() == (REPO / rel).read_bytes(), rel
        for var, value in comp.env.items():
            if var.endswith("_ENDPOINT") and var not in _SINKS:
                host, port = value.split(":")
                assert (host, int(port) in comp.ports.values()) == ("127.0.0.1", True), var
    for var, sink in _SINKS.items():
        assert comps["collector"].env[var] == comps[sink].endpoint("otlp_grpc")


def test_collector_config_structure() -> None:
    """A memory_limiter is first in every pipeline and no batch processor holds data in
    memory; each sink has a pipeline of its own behind a forward connector, with a
    persistent, byte-bounded queue batching inside it (the files behind a queued loopback
    hop); files rotate; every default listen address is on 127.0.0.1."""
    text = (REPO / "collector" / "otel-collector.yaml").read_text()
    config = yaml.safe_load(text)
    pipelines = config["service"]["pipelines"]
    assert "batch" not in config["processors"]
    processors = config["processors"]
    for pipeline in pipelines.values():
        # behind the file queue, a limiter refusing only at the shared hard limit
        limiter = (
            "memory_limiter/file_write"
            if "otlp/file_queue" in pipeline["receivers"]
            else "memory_limiter"
        )
        assert pipeline["processors"][0] == limiter
    hard = processors["memory_limiter/file_write"]
    assert hard["limit_mib"] == processors["memory_limiter"]["limit_mib"]
    assert hard["spike_limit_mib"] == 1
    exporters = config["exporters"]
    counting = {"spanmetrics/redaction"}  # the redaction counter, not a sink
    for signal, sinks in (
        ("traces", ["otlp_grpc/jaeger", "otlp_grpc/file_queue"]),
        ("metrics", ["prometheus", "otlp_grpc/file_queue"]),
        ("logs", ["otlp_grpc/file_queue"]),
    ):
        assert pipelines[signal]["receivers"] == ["otlp"]
        assert pipelines[signal]["exporters"] == [f"forward/{signal}"]
        fed = [
            p
            for p in pipelines.values()
            if p["receivers"] == [f"forward/{signal}"] and not counting & set(p["exporters"])
        ]
        assert sorted(e for p in fed for e in p["exporters"]) == sorted(sinks)
        assert all(len(p["exporters"]) == 1 for p in fed), "one sink per pipeline"
        writer = [p for p in pipelines.values() if p["receivers"] == ["otlp/file_queue"]]
        assert [f"file/{signal}"] in [p["exporters"] for p in writer]
        rotation = exporters[f"file/{signal}"]["rotation"]
        assert rotation["max_megabytes"] > 0
        assert rotation["max_backups"] > 0
    for name in ("otlp_grpc/jaeger", "otlp_grpc/file_queue"):
        queue = exporters[name]["sending_queue"]
        assert queue["storage"] == "file_storage"
        assert queue["sizer"] == "bytes"
        assert queue["batch"]["max_size"] > 0
        assert exporters[name]["retry_on_failure"]["enabled"] is True
    # a graceful stop must not wait out the retry budget on the closed loopback receiver
    assert exporters["otlp_grpc/file_queue"]["wait_for_ready"] is False
    assert config["extensions"]["file_storage"]["fsync"] is True
    assert exporters["prometheus"]["enable_open_metrics"] is True
    defaults = re.findall(r"\$\{env:[A-Z_]+_ENDPOINT:-([^}]+)\}", text)
    assert defaults
    assert all(d.startswith("127.0.0.1:") for d in defaults)


_MAP_PATHS = {
    "resource": "resource.attributes",
    "scope": "scope.attributes",
    "span": "span.attributes",
    "spanevent": "spanevent.attributes",
    "datapoint": "datapoint.attributes",
    "exemplar": "exemplar.filtered_attributes",
    "log": "log.attributes",
}


def test_shape_limits_treat_every_attribute_map_alike() -> None:
    """transform/limits runs in each entry pipeline after memory_limiter and the redaction
    (nothing is cut before its secrets are masked) and is the last processor there, and
    applies the same statements to every context's attribute map, so no signal is left
    unbounded."""
    config = yaml.safe_load((REPO / "collector" / "otel-collector.yaml").read_text())
    for signal in ("traces", "metrics", "logs"):
        processors = config["service"]["pipelines"][signal]["processors"]
        assert processors[0] == "memory_limiter"
        assert processors[1].startswith("redaction")
        assert processors[-1] == "transform/limits"
    limits = config["processors"]["transform/limits"]
    seen: dict[str, list[str]] = {}
    for group in ("trace_statements", "metric_statements", "log_statements"):
        contexts = {c["context"] for c in limits[group]}
        assert {"resource", "scope"} <= contexts, group
        for ctx in limits[group]:
            path = _MAP_PATHS.get(ctx["context"])
            if path is None:
                continue
            generic = [
                s.replace(path, "MAP").replace(f"{ctx['context']}.cache", "CACHE")
                for s in ctx["statements"]
                if (path in s or f"{ctx['context']}.cache" in s) and "body" not in s
            ]
            seen[f"{group}/{ctx['context']}"] = generic
    first = next(iter(seen.values()))
    assert any(s.startswith("limit(MAP, ${env:OTELCOL_ATTRIBUTE_COUNT_LIMIT") for s in first)
    assert any(s.startswith("truncate_all(MAP, ${env:OTELCOL_ATTRIBUTE_VALUE") for s in first)
    assert {k: v for k, v in seen.items() if v != first} == {}
    assert len(seen) == 11  # resource and scope x 3 signals, span, event, point, exemplar, log


def test_jaeger_is_bounded_by_memory_as_well_as_trace_count() -> None:
    """Jaeger's pipeline refuses spans past a memory limit; its store keeps max_traces."""
    config = yaml.safe_load((REPO / "collector" / "jaeger" / "jaeger.yaml").read_text())
    assert config["service"]["pipelines"]["traces"]["processors"][0] == "memory_limiter"
    assert "JAEGER_MEMORY_LIMIT_MIB" in config["processors"]["memory_limiter"]["limit_mib"]
    memory = config["extensions"]["jaeger_storage"]["backends"]["memstore"]["memory"]
    assert "JAEGER_MAX_TRACES" in memory["max_traces"]


def test_prometheus_template_fills_every_placeholder(tmp_path: Path) -> None:
    """The Prometheus template has exactly the placeholders the supervisor fills."""
    template = (REPO / "collector" / "prometheus" / "prometheus.yml.tmpl").read_text()
    names = {m.group("named") for m in string.Template.pattern.finditer(template)} - {None}
    assert names == {
        "rules_glob",
        "collector_exporter",
        "collector_self_metrics",
        "jaeger_self_metrics",
        "prometheus_self",
    }


def test_demo_command_points_at_the_stack(tmp_path: Path) -> None:
    """The demo is started with the stack's Redis, the collector's OTLP gRPC and its ports."""
    comps = resolve_components(_settings(tmp_path, 10), BINARIES)
    demo = comps["demo"]
    cmd = list(demo.command)
    assert cmd[1:3] == ["-m", "astra_otel.demo"]
    assert cmd[cmd.index("--port") + 1] == "8010"
    assert cmd[cmd.index("--downstream-port") + 1] == "8011"
    assert cmd[cmd.index("--redis-url") + 1] == "redis://127.0.0.1:6389/0"
    assert demo.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4327"
    assert demo.env["OTEL_SERVICE_NAME"] == "astraguard-api"
    assert demo.health_url == "http://127.0.0.1:8010/healthz"


def test_port_offset_picker_skips_busy_ports() -> None:
    """The picker only returns an offset at which every port of every component is free."""
    free = {port + 5000 for spec in SPECS for port in spec.ports.values()}
    offset = pick_port_offset(random.Random(1), in_use=lambda p: p not in free, attempts=20000)
    assert offset == 5000


COLLECTOR_CONFIGS = ("otel-collector.yaml", "agent.yaml", "gateway.yaml")


def _collector_config(name: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO / "collector" / name).read_text())
    return config


# Receivers only this collector's own exporters send to (the file queue's loopback hop).
INTERNAL_RECEIVERS = {"otlp/file_queue"}


def _assert_internal_receiver_fed_by_redacted_pipelines(
    config: dict[str, Any], internal: set[str]
) -> None:
    """An internal receiver listens on loopback only, and every exporter sending to it is
    in a pipeline behind a forward connector whose feeders redacted."""
    pipelines = config["service"]["pipelines"]
    for receiver in internal:
        endpoint = config["receivers"][receiver]["protocols"]["grpc"]["endpoint"]
        assert endpoint.rsplit(":-", 1)[-1].startswith("127.0.0.1:"), endpoint
        # the same ${env:...} reference on both sides of the hop
        senders = [
            name
            for name, exporter in config["exporters"].items()
            if (exporter or {}).get("endpoint") == endpoint
        ]
        assert senders, receiver
        for pipe_name, pipeline in pipelines.items():
            if not set(pipeline["exporters"]) & set(senders):
                continue
            for connector in pipeline["receivers"]:
                assert connector.startswith("forward/"), pipe_name
                feeders = [p for p in pipelines.values() if connector in p["exporters"]]
                assert feeders, connector
                assert all(p["processors"][1].startswith("redaction") for p in feeders)


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_every_pipeline_with_a_receiver_redacts_right_after_memory_limiter(name: str) -> None:
    """In the single collector, the agent (the first collector a service reaches) and the
    gateway, every pipeline fed by a client-facing receiver has the redaction second (its
    logs variant for logs), and traces also rewrite names and status messages; a pipeline
    fed only by forward connectors, or by the file queue's loopback receiver, gets nothing
    but the output of pipelines that redacted."""
    config = _collector_config(name)
    pipelines = config["service"]["pipelines"]
    receivers = set(config["receivers"])
    for pipe_name, pipeline in pipelines.items():
        signal = pipe_name.split("/")[0]
        processors = pipeline["processors"]
        # a memory_limiter instance first (which one: test_collector_config_structure)
        assert processors[0].split("/")[0] == "memory_limiter", pipe_name
        fed_by = set(pipeline["receivers"])
        if fed_by & INTERNAL_RECEIVERS:
            assert fed_by <= INTERNAL_RECEIVERS, pipe_name
            _assert_internal_receiver_fed_by_redacted_pipelines(config, fed_by)
            continue
        if fed_by & receivers:
            expected = "redaction/logs" if signal == "logs" else "redaction"
            assert processors[1] == expected, pipe_name
            if signal == "traces":
                assert processors[2] == "transform/redaction", pipe_name
            continue
        for connector in fed_by:
            if not connector.startswith("forward/"):
                continue
            feeders = [p for p in pipelines.values() if connector in p["exporters"]]
            assert feeders, connector
            assert all(p["processors"][1].startswith("redaction") for p in feeders), pipe_name
    for instance in ("redaction", "redaction/logs"):
        assert config["processors"][instance]["summary"] == "info"
        assert config["processors"][instance]["allow_all_keys"] is True


def test_the_three_collectors_share_one_set_of_redaction_rules() -> None:
    """agent.yaml and gateway.yaml redact with exactly the rules of otel-collector.yaml;
    spans and metrics add the SQL sanitiser (logs do not: it would rewrite their bodies)."""
    configs = {name: _collector_config(name)["processors"] for name in COLLECTOR_CONFIGS}
    base = configs["otel-collector.yaml"]
    rules = base["redaction/logs"]
    assert "db_sanitizer" not in rules
    assert base["redaction"] == {**rules, "db_sanitizer": base["redaction"]["db_sanitizer"]}
    assert base["redaction"]["db_sanitizer"]["sql"]["enabled"] is True
    for name, processors in configs.items():
        for instance in ("redaction", "redaction/logs", "transform/redaction"):
            assert processors[instance] == base[instance], (name, instance)


def test_telemetry_and_queue_directories_are_created_private() -> None:
    """Every file exporter and file_storage creates its directory 0700."""
    for name in COLLECTOR_CONFIGS:
        config = _collector_config(name)
        stores = [v for k, v in config["extensions"].items() if k.startswith("file_storage")]
        files = [v for k, v in config["exporters"].items() if k.startswith("file/")]
        for component in stores + files:
            assert component["create_directory"] is True
            assert component["directory_permissions"] == "0700"
        assert stores, name
