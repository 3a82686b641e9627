"""End to end with the demo service on the real stack: one request's whole trace in Jaeger,
its log lines in the collector's JSON file, and the catalogue's metrics in Prometheus under
the names docs/catalogue.md states."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from astra_otel.catalogue import SPECS, InstrumentKind, prometheus_name
from astra_otel.catalogue.guard import OVERFLOW_VALUE
from astra_otel.demo.app import ANALYZE_ROUTE

from _support.stack import Analyzed, DemoService, RunningStack, wait_for

pytestmark = pytest.mark.e2e

WAIT_S = 60.0
# Metrics that need the demo's traffic and chaos storms (first storm 5 s after start,
# metric export every 15 s, scrape every 5 s) get longer.
METRICS_WAIT_S = 150.0


def _db_system(tags: dict[str, Any]) -> Any:
    """The database system under the stable (`db.system.name`) or old (`db.system`) name."""
    return tags.get("db.system.name", tags.get("db.system"))


# --- Jaeger ------------------------------------------------------------------------------


def _tags(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in items}


def _complete_trace(stack: RunningStack, trace_id: str) -> dict[str, Any] | None:
    """The Jaeger trace once it holds the server, requests, Redis and SQL spans."""
    resp = requests.get(f"{stack.jaeger_url}/api/traces/{trace_id}", timeout=5)
    if resp.status_code != 200:
        return None
    data = resp.json().get("data") or []
    if not data:
        return None
    spans = data[0]["spans"]
    tags = [_tags(s["tags"]) for s in spans]
    have_sql = any(_db_system(t) == "sqlite" for t in tags)
    redis_ops = {
        s["operationName"] for s, t in zip(spans, tags, strict=True) if _db_system(t) == "redis"
    }
    have_http = any({"http.url", "url.full"} & set(t) for t in tags)
    have_server = any(s["operationName"] == f"POST {ANALYZE_ROUTE}" for s in spans)
    if have_sql and have_http and have_server and {"GET", "SET"} <= redis_ops:
        return dict(data[0])
    return None


def test_one_request_is_one_parented_trace_in_jaeger(
    stack: RunningStack, demo: DemoService, analyzed: Analyzed
) -> None:
    """The request's trace has the FastAPI server span as root and, under it, the requests
    client span (and the feed's server span below that), Redis spans and SQLAlchemy spans."""
    trace = wait_for(
        lambda: _complete_trace(stack, analyzed.trace_id),
        "the complete trace in Jaeger",
        timeout=WAIT_S,
    )
    spans = trace["spans"]
    by_id = {s["spanID"]: s for s in spans}
    assert len(by_id) == len(spans), "no span twice"
    assert {s["traceID"] for s in spans} == {analyzed.trace_id}

    def parent(span: dict[str, Any]) -> dict[str, Any] | None:
        refs = [r for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
        return by_id[refs[0]["spanID"]] if refs else None

    roots = [s for s in spans if parent(s) is None]
    assert len(roots) == 1
    (root,) = roots
    assert root["operationName"] == f"POST {ANALYZE_ROUTE}"
    root_tags = _tags(root["tags"])
    assert root_tags["span.kind"] == "server"
    assert root_tags["http.route"] == ANALYZE_ROUTE
    assert trace["processes"][root["processID"]]["serviceName"] == demo.service_name

    def ancestors(span: dict[str, Any]) -> list[str]:
        names = []
        node = parent(span)
        while node is not None:
            names.append(node["operationName"])
            node = parent(node)
        return names

    tags = {s["spanID"]: _tags(s["tags"]) for s in spans}
    http_clients = [
        s
        for s in spans
        if tags[s["spanID"]].get("span.kind") == "client"
        and {"http.url", "url.full"} & set(tags[s["spanID"]])
    ]
    # One client span per retry attempt: under CI load the feed can time out once and the
    # retry loop tries again, so there may be more than one, each under its own attempt.
    attempts = [
        s for s in spans if s["operationName"] == "astra.retry.attempt telemetry-feed.fetch"
    ]
    assert 1 <= len(attempts) == len(http_clients)
    assert sorted(parent(s)["spanID"] for s in http_clients) == sorted(  # type: ignore[index]
        s["spanID"] for s in attempts
    )
    for http_client in http_clients:
        assert tags[http_client["spanID"]]["span.kind"] == "client"
        assert ancestors(http_client)[:2] == [
            "astra.retry.attempt telemetry-feed.fetch",
            "astra.dependency.call telemetry-feed",
        ]
        assert ancestors(http_client)[-1] == root["operationName"]
    feed_servers = [s for s in spans if s["operationName"] == "GET /telemetry/{satellite_id}"]
    assert feed_servers, "the feed's server span"
    client_ids = {s["spanID"] for s in http_clients}
    assert all(parent(s)["spanID"] in client_ids for s in feed_servers)  # type: ignore[index]

    redis_spans = [s for s in spans if _db_system(tags[s["spanID"]]) == "redis"]
    assert {"GET", "SET"} <= {s["operationName"] for s in redis_spans}
    for span in redis_spans:
        assert tags[span["spanID"]]["span.kind"] == "client"
        assert ancestors(span)[0].startswith("astra.memory_engine.")
        assert ancestors(span)[-1] == root["operationName"]

    sql_spans = [s for s in spans if _db_system(tags[s["spanID"]]) == "sqlite"]
    assert any(s["operationName"].startswith("INSERT") for s in sql_spans)
    for span in sql_spans:
        assert ancestors(span)[-1] == root["operationName"]

    detection = [s for s in spans if s["operationName"] == "astra.anomaly.detection"]
    assert len(detection) == 1
    assert ancestors(detection[0])[0] == "astra.circuit_breaker.call anomaly-detector"


# --- JSON logs file ----------------------------------------------------------------------


def _attrs(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {a["key"]: next(iter(a["value"].values()), None) for a in items}


def _logs_for_trace(stack: RunningStack, trace_id: str) -> list[dict[str, Any]]:
    if not stack.logs_file.exists():
        return []
    found = []
    for line in stack.logs_file.read_text().splitlines():
        for resource in json.loads(line).get("resourceLogs", []):
            for scope in resource["scopeLogs"]:
                found += [r for r in scope["logRecords"] if r.get("traceId") == trace_id]
    return found


def test_request_log_lines_carry_the_trace_id(stack: RunningStack, analyzed: Analyzed) -> None:
    """The request's astra.request and astra.performance events are in logs.jsonl, once
    each, with the request's trace id and typed attributes."""

    def events() -> dict[str, list[dict[str, Any]]] | None:
        by_event: dict[str, list[dict[str, Any]]] = {}
        for record in _logs_for_trace(stack, analyzed.trace_id):
            by_event.setdefault(_attrs(record["attributes"]).get("event.name", ""), []).append(
                record
            )
        return by_event if {"astra.request", "astra.performance"} <= set(by_event) else None

    found = wait_for(events, "the request's log events in logs.jsonl", timeout=WAIT_S)
    assert len(found["astra.request"]) == 1, "each event reaches the file exactly once"
    assert len(found["astra.performance"]) == 1
    request = _attrs(found["astra.request"][0]["attributes"])
    assert request["http.route"] == ANALYZE_ROUTE
    assert request["http.request.method"] == "POST"
    assert int(request["http.response.status_code"]) == 200
    assert isinstance(request["astra.duration.seconds"], float)
    assert found["astra.request"][0]["severityText"] == "INFO"


# --- Prometheus --------------------------------------------------------------------------


def _series(stack: RunningStack, query: str) -> list[dict[str, Any]]:
    resp = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=5)
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()["data"]["result"]
    return result


def _family(spec_name: str) -> str:
    spec = next(s for s in SPECS if s.name == spec_name)
    name = prometheus_name(spec)
    return f"{name}_count" if spec.kind is InstrumentKind.HISTOGRAM else name


def test_cardinality_overflow_reaches_prometheus(stack: RunningStack, demo: DemoService) -> None:
    """More distinct raw 404 paths than the cap fold into one _overflow series, counted."""
    for i in range(130):  # bounded: cap (100) + 30, loopback
        requests.get(
            f"{demo.url}/api/v1/satellites/e2e/unknown-e2e-{uuid.uuid4().hex}-{i}", timeout=10
        )
    sel = f'service_name="{demo.service_name}"'

    def overflow() -> list[dict[str, Any]] | None:
        found = _series(
            stack,
            f'astra_cardinality_overflows_total{{{sel},astra_cardinality_instrument="astra.errors"}}',
        )
        return found or None

    (series,) = wait_for(overflow, "astra_cardinality_overflows_total", timeout=WAIT_S)
    assert float(series["value"][1]) >= 1
    folded = _series(stack, f'astra_errors_total{{{sel},http_route="{OVERFLOW_VALUE}"}}')
    assert len(folded) == 1
    assert folded[0]["metric"]["error_type"] == OVERFLOW_VALUE
    assert len(_series(stack, f"astra_errors_total{{{sel}}}")) <= 101


def test_every_catalogue_metric_is_in_prometheus(stack: RunningStack, demo: DemoService) -> None:
    """Each instrument of the catalogue table reaches Prometheus under its stated name,
    with its attributes as labels, for the demo's service (traffic and chaos feed them)."""
    sel = f'service_name="{demo.service_name}"'
    wanted = {spec.name: _family(spec.name) for spec in SPECS}
    missing: dict[str, str] = dict(wanted)
    seen: dict[str, dict[str, str]] = {}

    def remaining() -> dict[str, str] | None:
        for otel_name, family in list(missing.items()):
            found = _series(stack, f"{family}{{{sel}}}")
            if found:
                seen[otel_name] = found[0]["metric"]
                del missing[otel_name]
        return {} if not missing else None

    deadline = time.monotonic() + METRICS_WAIT_S
    while remaining() is None and time.monotonic() < deadline:
        time.sleep(2.0)
    assert not missing, (
        f"not in Prometheus after {METRICS_WAIT_S:.0f} s: {sorted(missing.values())}"
    )
    for spec in SPECS:
        labels = seen[spec.name]
        for key in spec.attributes:
            assert key.replace(".", "_") in labels, (spec.name, key, labels)
        assert labels["service_name"] == demo.service_name
    states = _series(
        stack, f'astra_circuit_breaker_state{{{sel},astra_circuit_breaker_name="anomaly-detector"}}'
    )
    assert {s["metric"]["astra_circuit_breaker_state"] for s in states} == {
        "closed",
        "open",
        "half_open",
    }
    assert sum(float(s["value"][1]) for s in states) == 1.0, "exactly one current state"
    accuracy = _series(stack, f"astra_anomaly_model_accuracy_ratio{{{sel}}}")
    assert all(0.0 <= float(s["value"][1]) <= 1.0 for s in accuracy)


def _inference_exemplar(stack: RunningStack, service: str) -> dict[str, Any] | None:
    found = stack.exemplars(
        f'astra_model_inference_duration_seconds_bucket{{service_name="{service}"}}'
    )
    return found[-1] if found else None


def test_catalogue_exemplar_points_at_its_span_in_jaeger(
    stack: RunningStack, demo: DemoService
) -> None:
    """An exemplar of a span helper's duration histogram names a trace in Jaeger whose span
    with that id is the helper's span."""
    exemplar = wait_for(
        lambda: _inference_exemplar(stack, demo.service_name), "an inference exemplar", timeout=90.0
    )
    trace_id, span_id = exemplar["labels"]["trace_id"], exemplar["labels"]["span_id"]

    def span() -> dict[str, Any] | None:
        resp = requests.get(f"{stack.jaeger_url}/api/traces/{trace_id}", timeout=5)
        data = resp.json().get("data") or [] if resp.status_code == 200 else []
        spans = [s for t in data for s in t["spans"] if s["spanID"] == span_id]
        return spans[0] if spans else None

    assert (
        wait_for(span, "the exemplar's span in Jaeger", timeout=WAIT_S)["operationName"]
        == "astra.model.inference"
    )
