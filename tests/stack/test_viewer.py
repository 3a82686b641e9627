"""The viewer as a stack component, and the collector layer that feeds it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from astra_otel.errors import ConfigError
from astra_otel.stack.build import viewer_binary
from astra_otel.stack.components import (
    COLLECTOR,
    CORE_COMPONENTS,
    SPECS,
    VIEWER_LAYER,
    Binaries,
    resolve_components,
    state_paths,
)
from astra_otel.stack.settings import MAX_PORT_OFFSET, StackSettings, load_stack_settings
from astra_otel.stack.topology_plan import AGENT, GATEWAY, MAX_INSTANCES

from _support.config_env import env_references

REPO = Path(__file__).resolve().parents[2]
BINARIES = Binaries(
    Path("/x/otelcol"), Path("/x/jaeger"), Path("/x/prom"), Path("/x/redis"), Path("/x/viewer")
)
SIGNALS = ("traces", "metrics", "logs")


def _settings(tmp_path: Path, offset: int = 0, **env: str) -> StackSettings:
    return load_stack_settings({"HOME": str(tmp_path), **env}, port_offset=offset)


def _yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def _flag(command: tuple[str, ...], name: str) -> str:
    return command[command.index(name) + 1]


def test_viewer_is_a_core_component_started_before_the_collector() -> None:
    """`stack up` starts the viewer by default, before the collector that feeds it."""
    names = [s.name for s in SPECS]
    assert "viewer" in CORE_COMPONENTS
    assert names.index("viewer") < names.index("collector")


def test_viewer_command_binds_loopback_and_bounds_its_store(tmp_path: Path) -> None:
    """The viewer listens on 127.0.0.1 at its offset ports, keeps its DuckDB file under the
    state directory bounded by the size setting, and never tries to open a browser."""
    settings = _settings(tmp_path, 40, ASTRA_OTEL_VIEWER_DB_MAX_SIZE="1gb")
    viewer = resolve_components(settings, BINARIES)["viewer"]
    cmd = viewer.command
    assert cmd[0] == "/x/viewer"
    assert _flag(cmd, "--host") == "127.0.0.1"
    assert _flag(cmd, "--browser-port") == "18040"
    assert _flag(cmd, "--grpc") == "44357"
    assert _flag(cmd, "--http") == "44358"
    assert Path(_flag(cmd, "--db")).parent == state_paths(settings)["viewer"]
    assert _flag(cmd, "--db-max-size") == "1GB"
    assert "--open-browser=false" in cmd
    assert viewer.health_url == "http://127.0.0.1:18040/"
    assert viewer.url("ui") == "http://127.0.0.1:18040"


@pytest.mark.parametrize("raw", ["0", "512", "-1MB", "2 TB", "lots"])
def test_unbounded_or_unclear_store_size_is_refused(raw: str) -> None:
    """0 (no pruning), a bare number and unknown units raise ConfigError naming the variable."""
    with pytest.raises(ConfigError, match="ASTRA_OTEL_VIEWER_DB_MAX_SIZE"):
        load_stack_settings({"HOME": "/h", "ASTRA_OTEL_VIEWER_DB_MAX_SIZE": raw})


def test_viewer_ports_clear_of_the_topology_at_any_offset() -> None:
    """No viewer port is a port of another component, agent or gateway (all instances)."""
    viewer = next(s for s in SPECS if s.name == "viewer")
    others = {p for s in SPECS if s is not viewer for p in s.ports.values()}
    for spec in (AGENT, GATEWAY):
        others |= {p + 10 * i for p in spec.ports.values() for i in range(MAX_INSTANCES)}
    assert not set(viewer.ports.values()) & others
    assert max(viewer.ports.values()) + MAX_PORT_OFFSET <= 65535


def test_collector_gets_the_layer_only_when_asked(tmp_path: Path) -> None:
    """With feed_viewer the collector runs ops' file plus the viewer layer, pointed at the
    viewer's OTLP gRPC port; without it, exactly the ops file and no viewer variable."""
    settings = _settings(tmp_path, 20)
    fed = resolve_components(settings, BINARIES, feed_viewer=True)
    configs = [a for a in fed["collector"].command if a.startswith("file:")]
    files = settings.files_dir
    assert configs == [f"file:{files / COLLECTOR.config}", f"file:{files / VIEWER_LAYER}"]
    assert fed["collector"].env["OTELCOL_VIEWER_ENDPOINT"] == fed["viewer"].endpoint("otlp_grpc")
    alone = resolve_components(settings, BINARIES, feed_viewer=False)["collector"]
    assert [a for a in alone.command if a.startswith("file:")] == configs[:1]
    assert "OTELCOL_VIEWER_ENDPOINT" not in alone.env


def test_layer_variables_are_documented_and_not_read_by_ops() -> None:
    """The layer reads only variables listed in COLLECTOR.config_env, which the ops file
    does not read, and defaults them to loopback addresses."""

    def env_vars(path: Path) -> set[str]:
        return {var for var, _ in env_references(path)}

    layer = env_vars(REPO / VIEWER_LAYER)
    assert layer == {"OTELCOL_VIEWER_ENDPOINT"}
    assert layer <= set(COLLECTOR.config_env)
    assert not layer & env_vars(REPO / "collector" / "otel-collector.yaml")
    code = (REPO / VIEWER_LAYER).read_text()
    defaults = re.findall(r"\$\{env:[A-Z_]+_ENDPOINT:-([^}]+)\}", code)
    assert defaults
    assert all(d.startswith("127.0.0.1:") for d in defaults)


def _sink_processors(
    pipelines: dict[str, Any], connector: str, exporters: dict[str, Any]
) -> list[list[str]]:
    """Processors of each ops sink pipeline behind ``connector`` (one that exports to
    exporters, not into another connector such as the redaction counter)."""
    return [
        list(p.get("processors", []))
        for p in pipelines.values()
        if connector in p.get("receivers", []) and set(p.get("exporters", [])) <= set(exporters)
    ]


def test_layer_adds_a_sink_of_its_own_and_changes_nothing_of_ops() -> None:
    """The layer defines only new names (so merging it cannot alter an ops pipeline,
    exporter or processor). Each signal gets one more sink pipeline behind the ops entry
    pipeline's forward connector (so it sees what the entry processors let through, as
    redaction would), with the processors every ops sink of that signal runs (memory_limiter
    first), then the batch processor that decouples it, then the viewer exporter."""
    ops = _yaml(REPO / "collector" / "otel-collector.yaml")
    layer = _yaml(REPO / VIEWER_LAYER)
    assert set(layer) <= {"processors", "exporters", "service"}
    assert set(layer["service"]) == {"pipelines"}
    for section in ("processors", "exporters"):
        assert not set(layer[section]) & set(ops.get(section, {})), section
    ops_pipelines = ops["service"]["pipelines"]
    assert not set(layer["service"]["pipelines"]) & set(ops_pipelines)
    assert set(layer["service"]["pipelines"]) == {f"{s}/viewer" for s in SIGNALS}
    for signal in SIGNALS:
        pipeline = layer["service"]["pipelines"][f"{signal}/viewer"]
        (connector,) = pipeline["receivers"]
        assert connector in ops.get("connectors", {})
        entry = ops_pipelines[signal]
        assert "otlp" in entry["receivers"]
        assert connector in entry["exporters"]
        sinks = _sink_processors(ops_pipelines, connector, ops["exporters"])
        assert sinks, f"ops sinks behind {connector}"
        assert all(p == sinks[0] for p in sinks), "ops sinks of one signal agree"
        assert pipeline["processors"] == [*sinks[0], "batch/viewer"]
        assert pipeline["processors"][0] == "memory_limiter"
        assert pipeline["exporters"] == ["otlp_grpc/viewer"]


def test_viewer_exporter_queue_is_bounded_and_kept_on_disk() -> None:
    """The viewer's exporter retries for a bounded time into a bounded queue on the ops
    file's file_storage extension (not drained at shutdown, so a slow viewer cannot hold
    a restart back), fed in small batches."""
    ops = _yaml(REPO / "collector" / "otel-collector.yaml")
    layer = _yaml(REPO / VIEWER_LAYER)
    exporter = layer["exporters"]["otlp_grpc/viewer"]
    queue = exporter["sending_queue"]
    assert queue["enabled"] is True
    assert queue["storage"] in ops["service"]["extensions"]
    assert queue["storage"] in ops["extensions"]
    assert queue["sizer"] == "items"
    assert 0 < queue["queue_size"] <= 100_000
    assert queue["num_consumers"] == 1
    retry = exporter["retry_on_failure"]
    assert retry["enabled"] is True
    assert retry["max_elapsed_time"] not in (0, "0", "0s")
    assert exporter["tls"]["insecure"] is True
    assert layer["processors"]["batch/viewer"]["send_batch_max_size"] <= 1024


def test_viewer_binary_is_keyed_by_its_wrapper_module(tmp_path: Path) -> None:
    """The cached viewer binary changes path when collector/viewer/go.mod or go.sum does."""
    repo = tmp_path / "repo"
    (repo / "collector" / "viewer").mkdir(parents=True)
    (repo / "collector" / "viewer" / "go.mod").write_text("module x\n")
    (repo / "collector" / "viewer" / "go.sum").write_text("")
    s = load_stack_settings({"HOME": str(tmp_path)}).with_(files_dir=repo)
    first = viewer_binary(s)
    assert first.is_relative_to(s.cache_dir)
    assert viewer_binary(s) == first
    (repo / "collector" / "viewer" / "go.sum").write_text("x h1:y\n")
    assert viewer_binary(s) != first


def test_wrapper_module_pins_the_viewer_release() -> None:
    """collector/viewer/go.mod declares the viewer as its tool, at v0.4.1."""
    gomod = (REPO / "collector" / "viewer" / "go.mod").read_text()
    assert "\ntool github.com/CtrlSpice/otel-desktop-viewer\n" in gomod
    assert re.search(r"github.com/CtrlSpice/otel-desktop-viewer v0\.4\.1\b", gomod)
