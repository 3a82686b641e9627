"""The demo API's routes, with real Redis, SQLite and the real downstream app over HTTP."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from astra_otel.demo.app import ANALYZE_ROUTE, create_app
from astra_otel.demo.downstream import create_downstream_app
from astra_otel.demo.reliability import ChaosMonkey
from astra_otel.demo.server import DemoConfig, build_services, make_server, start_in_thread
from astra_otel.testing import Capture


def _db_system(attributes: Mapping[str, object]) -> object:
    """The database system under the stable (`db.system.name`) or old (`db.system`) name."""
    return attributes.get("db.system.name", attributes.get("db.system"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    """An HTTP response: status and decoded JSON body."""

    status_code: int
    body: Any

    def json(self) -> Any:
        """The decoded body."""
        return self.body


class Client:
    """A tiny uninstrumented (urllib) client, so traces start at the API's server span."""

    def __init__(self, base: str) -> None:
        self.base = base

    def _call(self, method: str, path: str) -> Answer:
        data = b"" if method == "POST" else None
        request = urllib.request.Request(self.base + path, method=method, data=data)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, json.loads(exc.read() or b"null"))

    def get(self, path: str) -> Answer:
        """GET ``path``."""
        return self._call("GET", path)

    def post(self, path: str) -> Answer:
        """POST ``path`` with an empty body."""
        return self._call("POST", path)


def _trace_spans(telemetry: Capture, trace_id: int) -> list[ReadableSpan]:
    """The trace's spans once both server spans have ended (they end after the response
    is sent, so the client can be a moment ahead of them); bounded wait."""
    deadline = time.monotonic() + 5.0
    while True:
        spans = [s for s in telemetry.spans() if s.context.trace_id == trace_id]
        if sum(s.kind is SpanKind.SERVER for s in spans) >= 2 or time.monotonic() > deadline:
            return spans
        time.sleep(0.05)


@pytest.fixture
def client(telemetry: Capture, redis_url: str, tmp_path: Path) -> Iterator[Client]:
    """The API and its downstream (no chaos), each served by uvicorn on a loopback port."""
    chaos = ChaosMonkey(base_rate=0.0, storm_rate=0.0)
    port, api_port = _free_port(), _free_port()
    config = DemoConfig(
        downstream_port=port, redis_url=redis_url, database_url=f"sqlite:///{tmp_path / 'demo.db'}"
    )
    services = build_services(config, chaos)
    servers = [
        make_server(create_downstream_app(chaos), port),
        make_server(create_app(services), api_port),
    ]
    threads = [start_in_thread(server) for server in servers]
    try:
        yield Client(f"http://127.0.0.1:{api_port}")
    finally:
        for server in servers:
            server.should_exit = True
        for thread in threads:
            thread.join(10)
        services.memory.client.flushdb()
        services.memory.close()
        services.store.close()


def test_healthz_answers_ok(client: Client) -> None:
    """GET /healthz is 200 once the app is up (the stack's readiness probe)."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_analyze_touches_every_backend_in_one_trace(client: Client, telemetry: Capture) -> None:
    """One analyze request: server span, requests client span, Redis and SQLAlchemy spans,
    all in the request's trace and under its server span."""
    response = client.post("/api/v1/satellites/sat-7/analyze")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["satellite_id"] == "sat-7"
    assert body["requests_seen"] == 1
    trace_id = int(body["trace_id"], 16)
    spans = _trace_spans(telemetry, trace_id)
    by_id = {s.context.span_id: s for s in spans}
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER and s.name.startswith("POST /api")]
    assert server.parent is None
    assert server.attributes is not None and server.attributes["http.route"] == ANALYZE_ROUTE

    def under_server(span_name_prefix: str, kind: SpanKind) -> list[object]:
        found = [s for s in spans if s.name.startswith(span_name_prefix) and s.kind is kind]
        assert found, f"no {kind.name} span named {span_name_prefix}*"
        for span in found:
            node = span
            while node.parent is not None:
                node = by_id[node.parent.span_id]
            assert node is server
        return found

    clients = under_server("", SpanKind.CLIENT)
    # old or stable HTTP semantic conventions, whichever the requests instrumentation uses
    http = [s for s in clients if s.attributes and {"url.full", "http.url"} & set(s.attributes)]
    assert len(http) == 1, "one requests client span to the feed"
    feed_server = [
        s for s in spans if s.kind is SpanKind.SERVER and s.name.startswith("GET /telemetry")
    ]
    assert len(feed_server) == 1
    assert feed_server[0].parent is not None
    assert feed_server[0].parent.span_id == http[0].context.span_id
    redis_ops = {s.name for s in clients if s.attributes and _db_system(s.attributes) == "redis"}
    assert {"GET", "SET", "INCRBY"} <= redis_ops, redis_ops
    sql = [s for s in clients if s.attributes and _db_system(s.attributes) == "sqlite"]
    assert any(s.name.startswith("INSERT") for s in sql), [s.name for s in sql]
    assert {
        "astra.dependency.call telemetry-feed",
        "astra.retry.attempt telemetry-feed.fetch",
        "astra.circuit_breaker.call anomaly-detector",
        "astra.anomaly.detection",
        "astra.model.inference",
        "astra.memory_engine.get",
        "astra.memory_engine.put",
    } <= {s.name for s in spans}


def test_analyze_logs_events_with_the_trace_id(client: Client, telemetry: Capture) -> None:
    """The request and performance events of an analyze call carry its trace id."""
    body = client.post("/api/v1/satellites/sat-8/analyze").json()
    events = {
        (r.log_record.attributes or {}).get("event.name"): r.log_record
        for r in telemetry.logs()
        if r.log_record.trace_id == int(body["trace_id"], 16)
    }
    assert {"astra.request", "astra.performance"} <= set(events)
    assert (events["astra.request"].attributes or {})["http.route"] == ANALYZE_ROUTE


def test_second_analyze_hits_the_memory_engine(client: Client, telemetry: Capture) -> None:
    """The first analyze of a satellite misses the cache and fills it; the second hits."""
    client.post("/api/v1/satellites/sat-9/analyze")
    second = client.post("/api/v1/satellites/sat-9/analyze").json()
    assert second["requests_seen"] == 2
    (hits,) = telemetry.metric("astra.memory_engine.hits").data.data_points
    (misses,) = telemetry.metric("astra.memory_engine.misses").data.data_points
    assert (hits.value, misses.value) == (1, 1)
    (stored,) = telemetry.metric("astra.memory_engine.stored").data.data_points
    assert stored.value > 0


def test_anomalies_lists_stored_anomalies(client: Client) -> None:
    """GET /api/v1/anomalies returns stored results flagged as anomalies only."""
    for _ in range(5):
        client.post("/api/v1/satellites/sat-1/analyze")
    listed = client.get("/api/v1/anomalies?limit=50").json()["anomalies"]
    assert all(a["severity"] != "none" for a in listed)


def test_health_reports_every_dependency(client: Client) -> None:
    """GET /api/v1/health checks Redis, the database, the feed and the detector."""
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "redis": "ok",
        "database": "ok",
        "telemetry-feed": "ok",
        "anomaly-detector": "ok",
    }


def test_unknown_path_counts_an_error_on_its_raw_path(client: Client, telemetry: Capture) -> None:
    """A 404 on an unmatched path counts astra.errors with the raw path (the guard caps it)."""
    assert client.get("/api/v1/satellites/x/unknown-1").status_code == 404
    (point,) = telemetry.metric("astra.errors").data.data_points
    assert point.attributes == {
        "error.type": "NotFound",
        "http.route": "/api/v1/satellites/x/unknown-1",
    }


def test_flush_cache_is_a_recovery_action(client: Client, telemetry: Capture) -> None:
    """POST /api/v1/recovery/flush-cache drops cached baselines and counts a recovery action."""
    client.post("/api/v1/satellites/sat-3/analyze")
    assert client.post("/api/v1/recovery/flush-cache").json() == {"dropped": 1}
    (point,) = telemetry.metric("astra.recovery.actions").data.data_points
    assert point.attributes == {
        "astra.recovery.action": "memory_engine.flush",
        "astra.recovery.outcome": "success",
    }
