"""Every dashboard query and alert rule against the live stack, after the demo made traffic.

Each panel query, with Grafana's variables substituted, must parse and return at least one
series from the real Prometheus; every metric name a dashboard or rule uses must exist
there; the variables must list the demo service; the latency histogram's exemplars must
carry trace ids that Jaeger's API returns; Prometheus must have loaded the alert rules.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import yaml

from ._queries import REPO, PanelQuery, dashboards, metric_names, panel_queries, rule_exprs
from _support.stack import DemoService, RunningStack

pytestmark = pytest.mark.e2e

T = TypeVar("T")
# The demo exercises every part of the catalogue within its first minute or so; everything
# below waits at most this long from the first request seen, then fails naming what is
# missing.
BUDGET_S = 180.0
POLL_S = 1.0
HTTP_TIMEOUT_S = 10.0
LATENCY_HISTOGRAM = "http_server_request_duration_seconds_bucket"


class Deadline:
    """One time budget shared by all the live tests of this module."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def poll(self, fetch: Callable[[], T | None], what: str) -> T:
        """Call ``fetch`` until it returns something, at most until the deadline."""
        while True:
            value = fetch()
            if value is not None:
                return value
            if time.monotonic() > self.at:
                pytest.fail(f"nothing before the deadline: {what}")
            time.sleep(POLL_S)


class Prometheus:
    """The few Prometheus HTTP API calls the tests make."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}{path}", params=params, timeout=HTTP_TIMEOUT_S)
        body = response.json()
        assert body["status"] == "success", f"{path} {params}: {body}"
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.get("/api/v1/query", query=expr)
        assert data["resultType"] == "vector", expr
        result: list[dict[str, Any]] = data["result"]
        return result


@pytest.fixture(scope="module")
def prometheus(stack: RunningStack) -> Prometheus:
    """The stack's Prometheus API."""
    return Prometheus(stack.prometheus_url)


@pytest.fixture(scope="module")
def traffic(prometheus: Prometheus, demo: DemoService) -> Iterator[Deadline]:
    """Waits until Prometheus has the demo's request rate; yields the shared deadline."""
    deadline = Deadline(BUDGET_S)
    expr = (
        f'sum(rate(http_server_request_duration_seconds_count{{service_name="{demo.service_name}"}}'
        "[1m])) > 0"
    )
    deadline.poll(lambda: prometheus.query(expr) or None, f"demo traffic: {expr}")
    yield deadline


QUERIES = panel_queries()


@pytest.mark.parametrize("query", QUERIES, ids=[q.id for q in QUERIES])
def test_panel_query_returns_series(
    query: PanelQuery, prometheus: Prometheus, demo: DemoService, traffic: Deadline
) -> None:
    """The panel's query, variables substituted, parses and returns at least one series."""
    expr = query.substituted(demo.service_name)
    assert "$" not in expr, expr
    series = traffic.poll(lambda: prometheus.query(expr) or None, f"{query.id}: {expr}")
    assert len(series) >= 1


# The collector creates these counters on the first failure only (exporterhelper records
# failed items only when there are some), so a healthy stack has none of them; the
# queries fall back to the always-present sent-items counter of the same exporter and
# signal, whose name must exist instead (same naming, same labels).
_FAILURE_ONLY = re.compile(r"otelcol_exporter_(?:send|enqueue)_failed_(\w+)")


# Likewise the collector's redaction counter exists once it has redacted a span (which
# tests/e2e/test_redaction_clients_e2e.py makes it do, and checks); the span counter stands in.
_FIRST_REDACTION = {"astra_redaction_calls_total": "otelcol_receiver_accepted_spans"}


def _always_present(name: str) -> str:
    match = _FAILURE_ONLY.fullmatch(name)
    if match:
        return f"otelcol_exporter_sent_{match.group(1)}"
    return _FIRST_REDACTION.get(name, name)


def _metric_names_in_prometheus(prometheus: Prometheus) -> set[str]:
    return set(prometheus.get("/api/v1/label/__name__/values"))


def test_every_dashboard_and_rule_metric_exists(prometheus: Prometheus, traffic: Deadline) -> None:
    """Every metric name a dashboard query or alert rule selects exists in Prometheus."""
    used = {name for q in QUERIES for name in metric_names(q.expr)}
    used |= {name for expr in rule_exprs() for name in metric_names(expr)}
    wanted = {_always_present(name) for name in used}

    missing = wanted - _metric_names_in_prometheus(prometheus)
    while missing and time.monotonic() < traffic.at:
        time.sleep(POLL_S)
        missing = wanted - _metric_names_in_prometheus(prometheus)
    assert missing == set(), "metric names not in Prometheus"


def test_variables_list_the_demo_service(
    prometheus: Prometheus, demo: DemoService, traffic: Deadline
) -> None:
    """Each dashboard's `service` variable offers the demo service; the others offer values."""
    for uid, dashboard in dashboards().items():
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                continue
            metric, label = (
                variable["query"].removeprefix("label_values(").removesuffix(")").split(", ")
            )

            def values(metric: str = metric, label: str = label) -> list[str] | None:
                found = prometheus.get(f"/api/v1/label/{label}/values", **{"match[]": metric})
                return found or None

            found = traffic.poll(values, f"{uid}: {variable['query']}")
            if variable["name"] == "service":
                assert demo.service_name in found, f"{uid}: {found}"


def _exemplar_label() -> str:
    path = REPO / "dashboards/grafana/provisioning/datasources/astra-otel.yaml"
    doc = yaml.safe_load(Path(path).read_text())
    prometheus = next(d for d in doc["datasources"] if d["type"] == "prometheus")
    label: str = prometheus["jsonData"]["exemplarTraceIdDestinations"][0]["name"]
    return label


def test_latency_exemplars_open_traces_in_jaeger(
    stack: RunningStack, prometheus: Prometheus, demo: DemoService, traffic: Deadline
) -> None:
    """Exemplars of the latency histogram carry trace ids that Jaeger's API returns."""
    label = _exemplar_label()
    selector = f'{LATENCY_HISTOGRAM}{{service_name="{demo.service_name}"}}'

    def trace_ids() -> list[str] | None:
        now = time.time()
        data = prometheus.get("/api/v1/query_exemplars", query=selector, start=now - 600, end=now)
        # Newest first: an exemplar older than a Jaeger restart earlier in the session
        # (the fault tests restart it) points at a trace its memory store no longer has.
        stamped = sorted(
            (float(e["timestamp"]), e["labels"][label])
            for series in data
            for e in series["exemplars"]
            if label in e["labels"]
        )
        return [trace_id for _, trace_id in reversed(stamped)] or None

    ids = traffic.poll(trace_ids, f"exemplars with a {label!r} label on {selector}")
    sample = list(dict.fromkeys(ids))[:5]

    for trace_id in sample:

        def fetch(trace_id: str = trace_id) -> dict[str, Any] | None:
            response = requests.get(
                f"{stack.jaeger_url}/api/traces/{trace_id}", timeout=HTTP_TIMEOUT_S
            )
            if response.status_code != 200:
                return None
            data: list[dict[str, Any]] = response.json().get("data") or []
            return data[0] if data else None

        trace = traffic.poll(fetch, f"trace {trace_id} in Jaeger")
        assert trace["traceID"] == trace_id
        assert trace["spans"]


def test_prometheus_loaded_and_evaluates_the_alert_rules(
    prometheus: Prometheus, traffic: Deadline
) -> None:
    """Prometheus loaded every alert rule file and evaluates each rule without error."""
    expected: dict[str, set[str]] = {}
    for path in sorted((REPO / "dashboards" / "prometheus").glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            expected[group["name"]] = {r["alert"] for r in group["rules"] if "alert" in r}

    def evaluated() -> dict[str, list[dict[str, Any]]] | None:
        groups = {g["name"]: g["rules"] for g in prometheus.get("/api/v1/rules")["groups"]}
        if not set(expected) <= set(groups):
            return None
        if any(r.get("lastEvaluation", "").startswith("0001") for g in groups.values() for r in g):
            return None
        return groups

    groups = traffic.poll(evaluated, "the astra alert rule groups, evaluated once")
    for name, alerts in expected.items():
        rules = {r["name"]: r for r in groups[name]}
        assert set(rules) == alerts
        for rule in rules.values():
            assert rule["health"] == "ok", f"{rule['name']}: {rule.get('lastError')}"
