"""Instrumentations: FastAPI spans without receive/send, exclusions, redaction, SQL, requests."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import fastapi
import httpx
import pytest
import requests
import sqlalchemy

from astra_otel import InstrumentationOptions
from astra_otel._internal.fastapi_patch import SCOPE_NAME
from astra_otel._internal.redaction import REDACTED
from astra_otel.testing import Capture, capture_telemetry

SECRET = "s3cr3t-value-123"


def _app() -> fastapi.FastAPI:
    app = fastapi.FastAPI()  # created after setup(): the instrumented class

    @app.get("/items/{item_id}")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _get(app: fastapi.FastAPI, path: str, headers: dict[str, str] | None = None) -> int:
    """GET ``path`` from the ASGI app in-process (httpx's ASGI transport)."""

    async def go() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get(path, headers=headers)
            return response.status_code

    return asyncio.run(go())


def _headers() -> dict[str, str]:
    return {
        "Authorization": f"Bearer {SECRET}",
        "Cookie": f"sid={SECRET}",
        "X-API-Key": SECRET,
        "X-Session-Token": SECRET,
        "X-Request-Id": "req-1",
    }


@pytest.fixture
def cap_headers() -> Iterator[Capture]:
    """Capture with header capture switched on."""
    with capture_telemetry(
        service_name="i", instrumentations=InstrumentationOptions(capture_headers=True)
    ) as cap:
        yield cap


def test_fastapi_request_gives_one_server_span_without_receive_send() -> None:
    """A request yields one server span (ours; FastAPI's native telemetry stays off): no
    per-message receive/send spans by default."""
    with capture_telemetry(service_name="i") as cap:
        assert _get(_app(), "/items/3") == 200
        spans = cap.spans()
        assert [s.name for s in spans] == ["GET /items/{item_id}"]
        assert _contrib_spans(cap) == ["GET /items/{item_id}"]
        assert spans[0].attributes is not None
        assert spans[0].attributes["http.route"] == "/items/{item_id}"


def test_health_route_is_excluded() -> None:
    """/health produces no span."""
    with capture_telemetry(service_name="i") as cap:
        assert _get(_app(), "/health") == 200
        assert cap.spans() == []


def test_headers_are_not_captured_by_default() -> None:
    """Without capture_headers no header attribute is recorded."""
    with capture_telemetry(service_name="i") as cap:
        _get(_app(), "/items/1", _headers())
        attrs = cap.spans()[0].attributes or {}
        assert not [k for k in attrs if ".header." in k]


def test_captured_sensitive_headers_are_redacted(cap_headers: Capture) -> None:
    """With capture on, secrets are [REDACTED] and ordinary headers kept."""
    _get(_app(), "/items/1", _headers())
    attrs = dict(cap_headers.spans()[0].attributes or {})
    assert attrs["http.request.header.authorization"] == (REDACTED,)
    assert attrs["http.request.header.cookie"] == (REDACTED,)
    assert attrs["http.request.header.x_api_key"] == (REDACTED,)
    assert attrs["http.request.header.x_session_token"] == (REDACTED,)
    assert attrs["http.request.header.x_request_id"] == ("req-1",)
    assert SECRET not in repr(attrs)


CONTRIB = "opentelemetry.instrumentation.fastapi"


def _spans_of(cap: Capture, scope: str) -> list[str]:
    return [
        s.name
        for s in cap.spans()
        if s.instrumentation_scope is not None and s.instrumentation_scope.name == scope
    ]


def _contrib_spans(cap: Capture) -> list[str]:
    return _spans_of(cap, SCOPE_NAME)


def test_fastapi_instrumentation_can_be_switched_off() -> None:
    """instrumentations.fastapi=False: no spans from our middleware (FastAPI's own native
    telemetry is FastAPI's business and is not what this switch controls)."""
    with capture_telemetry(
        service_name="i", instrumentations=InstrumentationOptions(fastapi=False)
    ) as cap:
        _get(_app(), "/items/1")
        assert _contrib_spans(cap) == []
        assert _spans_of(cap, CONTRIB) == []


def test_sql_statements_carry_no_literal_values() -> None:
    """SQLAlchemy spans record the statement with literals replaced by ?."""
    with capture_telemetry(service_name="i") as cap:
        engine = sqlalchemy.create_engine("sqlite://")
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f"SELECT 1 WHERE 'pw' = '{SECRET}' AND 5 > 3"))
        engine.dispose()
        spans = [
            s
            for s in cap.spans()
            if s.attributes and ("db.system.name" in s.attributes or "db.system" in s.attributes)
        ]
        assert spans
        statements = [
            s.attributes.get("db.statement") or s.attributes.get("db.query.text")
            for s in spans
            if s.attributes and ("db.statement" in s.attributes or "db.query.text" in s.attributes)
        ]
        assert statements == ["SELECT ? WHERE ? = ? AND ? > ?"]
        assert SECRET not in repr([dict(s.attributes or {}) for s in spans])


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def test_requests_calls_produce_client_spans() -> None:
    """An outgoing requests call yields a client span with the status code."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with capture_telemetry(service_name="i") as cap:
            url = f"http://127.0.0.1:{server.server_port}/x"
            assert requests.get(url, timeout=5).status_code == 200
            (span,) = cap.spans()
            assert span.attributes is not None
            status = span.attributes.get("http.response.status_code")
            assert (status or span.attributes.get("http.status_code")) == 200
    finally:
        server.shutdown()
        server.server_close()


def test_fastapi_uses_stable_http_semconv_by_default() -> None:
    """Server metrics are http.server.request.duration in seconds (what dashboards query),
    spans carry http.request.method / http.response.status_code."""
    with capture_telemetry(service_name="i") as cap:
        _get(_app(), "/items/2")
        names = {m.name: m for m in cap.metrics()}
        assert "http.server.request.duration" in names
        assert names["http.server.request.duration"].unit == "s"
        assert "http.server.duration" not in names
        attrs = cap.spans()[0].attributes or {}
        assert attrs["http.request.method"] == "GET"
        assert attrs["http.response.status_code"] == 200
