"""The Grafana dashboards and their provisioning, checked without a running stack.

Structure is checked by a typed round-trip through the grafana-foundation-sdk models (a field
Grafana's schema does not know is lost on the way and reported), plus the rules these
dashboards follow: fixed uids, a datasource and a service variable, `$__rate_interval`, and
every catalogue metric on some panel.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from astra_otel.catalogue.instruments import SPECS, prometheus_name

from ._queries import metric_names, panel_queries, rule_exprs

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "dashboards" / "grafana" / "dashboards"
PROVISIONING = REPO / "dashboards" / "grafana" / "provisioning"
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("*.json"))

# Catalogue instruments no panel shows, and why.
NOT_ON_A_DASHBOARD = {
    # Only exists once some instrument overflowed its attribute-set limit; a panel for it
    # would return no series on a healthy stack.
    "astra.cardinality.overflows",
}


def _load_package() -> ModuleType:
    """The ``dashboards`` package, by path: under pytest ``dashboards`` is this test package."""
    name = "astra_dashboards"
    if name in sys.modules:
        return sys.modules[name]
    package = REPO / "dashboards"
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses and relative imports look the package up in sys.modules.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in DASHBOARD_FILES}


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in _panels(dashboard) for t in p["targets"]]


def _lost_in_round_trip(original: Any, round_tripped: Any, path: str = "") -> list[str]:
    """Paths of values in ``original`` that the typed models dropped or changed."""
    if isinstance(original, dict):
        if not isinstance(round_tripped, dict):
            return [path]
        lost = []
        for key, value in original.items():
            if key not in round_tripped:
                lost.append(f"{path}/{key}")
            else:
                lost.extend(_lost_in_round_trip(value, round_tripped[key], f"{path}/{key}"))
        return lost
    if isinstance(original, list):
        if not isinstance(round_tripped, list) or len(original) != len(round_tripped):
            return [path]
        return [
            lost
            for i, (a, b) in enumerate(zip(original, round_tripped, strict=True))
            for lost in _lost_in_round_trip(a, b, f"{path}[{i}]")
        ]
    return [] if original == round_tripped else [path]


def _round_trip(data: dict[str, Any]) -> dict[str, Any]:
    register_default_plugins()
    result: dict[str, Any] = json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))
    return result


def test_the_four_dashboards_exist() -> None:
    """Service health, reliability, anomaly detection and pipeline health are provisioned."""
    assert {d["uid"] for d in _dashboards().values()} == {
        "astra-service-health",
        "astra-reliability",
        "astra-anomaly-detection",
        "astra-pipeline-health",
    }


def test_committed_json_is_what_the_generator_writes(tmp_path: Path) -> None:
    """The committed dashboards are, byte for byte, what ``python -m dashboards`` writes."""
    result = subprocess.run(
        [sys.executable, "-m", "dashboards", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = [Path(line) for line in result.stdout.splitlines()]
    assert sorted(p.name for p in written) == [p.name for p in DASHBOARD_FILES]
    for path in written:
        assert path.read_bytes() == (DASHBOARD_DIR / path.name).read_bytes(), path.name


def test_generator_output_matches_in_process(tmp_path: Path) -> None:
    """``write_all`` in this process writes the same bytes as the committed files."""
    for path in _load_package().write_all(tmp_path):
        assert path.read_bytes() == (DASHBOARD_DIR / path.name).read_bytes(), path.name


def test_application_metric_names_come_from_instruments() -> None:
    """Every application metric a panel queries is the Prometheus name of a catalogue (or
    setup()) instrument; only the collector's own (otelcol_*, its redaction counter) and
    ``up`` are spelled out."""
    _load_package()
    metrics = importlib.import_module("astra_dashboards.metrics")
    known = {prometheus_name(spec) for spec in SPECS}
    known |= {metrics.metric(name) for name in metrics.SETUP_INSTRUMENTS}
    series = {f"{n}{suffix}" for n in known for suffix in ("", "_bucket", "_sum", "_count")}
    used = {m for q in panel_queries() for m in metric_names(q.expr)}
    assert used - series
    made = metrics.COLLECTOR_MADE
    assert all(m == "up" or m.startswith(made) for m in used - series), used - series
    with pytest.raises(KeyError):
        metrics.metric("astra.not.an.instrument")


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_round_trips_through_the_typed_models(path: Path) -> None:
    """Every field of the dashboard survives a round-trip through the SDK's typed models."""
    original = json.loads(path.read_text())
    assert _lost_in_round_trip(original, _round_trip(original)) == []


def test_round_trip_check_reports_unknown_fields() -> None:
    """A field Grafana's schema does not know is reported by the round-trip check."""
    broken = copy.deepcopy(json.loads(DASHBOARD_FILES[0].read_text()))
    panel = _panels(broken)[0]
    panel["gridpos"] = panel.pop("gridPos")
    panel["options"]["legend"] = {"showlegend": True}
    lost = _lost_in_round_trip(broken, _round_trip(broken))
    assert any(p.endswith("/gridpos") for p in lost)
    assert any(p.endswith("/legend/showlegend") for p in lost)


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_layout_ids_and_refs_are_consistent(path: Path) -> None:
    """Panel ids are unique, panels fit the 24-column grid without overlapping, refIds unique."""
    dashboard = json.loads(path.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        area = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not area & cells, panel["title"]
        cells |= area
    for panel in _panels(dashboard):
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_has_datasource_and_service_variables(path: Path) -> None:
    """Each dashboard has a Prometheus datasource variable and a service_name variable."""
    variables = {v["name"]: v for v in json.loads(path.read_text())["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    service = variables["service"]
    assert service["type"] == "query"
    assert re.fullmatch(r"label_values\(\w+, service_name\)", service["query"])


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_panels_query_the_datasource_variable(path: Path) -> None:
    """Every panel and target uses the `$datasource` variable, never a hard-coded uid."""
    for panel in _panels(json.loads(path.read_text())):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_rates_use_the_rate_interval(path: Path) -> None:
    """Every range selector is `[$__rate_interval]`: no hard-coded windows."""
    for expr in _exprs(json.loads(path.read_text())):
        assert re.findall(r"\[[^\]]*\]", expr) == ["[$__rate_interval]"] * expr.count("["), expr


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_app_metrics_are_filtered_by_service(path: Path) -> None:
    """Every selector of an application metric filters on the `$service` variable."""
    for expr in _exprs(json.loads(path.read_text())):
        for metric, selector in re.findall(r"\b((?:http|astra)_\w+)\{([^}]*)\}", expr):
            assert 'service_name=~"$service"' in selector, f"{metric} in {expr}"


def test_latency_panels_ask_for_exemplars() -> None:
    """The HTTP latency panel requests exemplars, so points link to traces."""
    service_health = _dashboards()["astra-service-health.json"]
    exemplar_exprs = [
        t["expr"] for p in _panels(service_health) for t in p["targets"] if t["exemplar"]
    ]
    assert any("http_server_request_duration_seconds_bucket" in e for e in exemplar_exprs)


def test_every_catalogue_metric_is_on_a_dashboard() -> None:
    """Each instrument of the AstraGuard catalogue appears in some panel query."""
    exprs = " ".join(e for d in _dashboards().values() for e in _exprs(d))
    used = set(re.findall(r"\b[a-z_]+\b", exprs))
    missing = []
    for spec in SPECS:
        name = prometheus_name(spec)
        if spec.name in NOT_ON_A_DASHBOARD:
            continue
        if not {name, f"{name}_bucket", f"{name}_sum", f"{name}_count"} & used:
            missing.append(name)
    assert missing == []


def _datasources() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((PROVISIONING / "datasources" / "astra-otel.yaml").read_text())
    return {d["type"]: d for d in doc["datasources"]}


def test_datasources_have_fixed_uids_linked_for_exemplars() -> None:
    """Prometheus and Jaeger have fixed uids; Prometheus exemplars link to the Jaeger uid."""
    datasources = _datasources()
    prometheus, jaeger = datasources["prometheus"], datasources["jaeger"]
    assert prometheus["uid"] == "astra-prometheus"
    assert jaeger["uid"] == "astra-jaeger"
    destinations = prometheus["jsonData"]["exemplarTraceIdDestinations"]
    assert destinations == [{"name": "trace_id", "datasourceUid": jaeger["uid"]}]


def test_dashboards_default_to_the_provisioned_prometheus() -> None:
    """The datasource variable's default is the provisioned Prometheus uid."""
    uid = _datasources()["prometheus"]["uid"]
    for dashboard in _dashboards().values():
        variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "datasource")
        assert variable["current"]["value"] == uid


def test_dashboard_provider_loads_the_dashboard_files() -> None:
    """The dashboard provider reads files, and UI edits cannot drift from the generator."""
    doc = yaml.safe_load((PROVISIONING / "dashboards" / "astra-otel.yaml").read_text())
    (provider,) = doc["providers"]
    assert provider["type"] == "file"
    assert provider["allowUiUpdates"] is False


@pytest.mark.parametrize("expr", [q.expr for q in panel_queries()] + rule_exprs())
def test_metric_names_are_found_in_every_query(expr: str) -> None:
    """The metric-name extraction the live tests rely on sees every metric of a query."""
    stripped = re.sub(r'"[^"]*"', "", expr)
    stripped = re.sub(r"\{[^}]*\}", "", stripped)
    stripped = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", stripped)
    mentioned = set(re.findall(r"\b(?:(?:http|astra|otelcol)_\w+|up)\b", stripped))
    assert mentioned
    assert mentioned <= metric_names(expr)
