"""The FastAPI server middleware: span attributes by the stable HTTP conventions, errors,
propagation, the four HTTP server metrics, exclusions, and the contrib fallback."""

from __future__ import annotations

import asyncio
from typing import Any

import fastapi
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from astra_otel import InstrumentationOptions, TracesOptions
from astra_otel._internal.asgi_telemetry import host_and_port
from astra_otel._internal.fastapi_patch import SCOPE_NAME
from astra_otel.testing import Capture, capture_telemetry

REMOTE_TRACE = "0af7651916cd43dd8448eb211c80319c"
REMOTE_SPAN = "b7ad6b7169203331"


def _app() -> fastapi.FastAPI:
    app = fastapi.FastAPI()

    @app.post("/orders/{order_id}")
    async def order(order_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": order_id, "n": len(body)}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaput")

    @app.get("/teapot")
    async def teapot() -> fastapi.Response:
        return fastapi.Response(status_code=503)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def _call(app: fastapi.FastAPI, method: str, path: str, **kwargs: Any) -> int:
    async def go() -> int:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test:8080") as c:
            return (await c.request(method, path, **kwargs)).status_code

    return asyncio.run(go())


def _points(cap: Capture, name: str) -> list[Any]:
    return list(cap.metric(name).data.data_points)


def test_server_span_follows_the_stable_http_conventions() -> None:
    """Name, kind, request/response attributes, and the caller's traceparent as parent."""
    with capture_telemetry(service_name="a") as cap:
        status = _call(
            _app(),
            "POST",
            "/orders/7?x=1",
            json={"a": 1},
            headers={
                "traceparent": f"00-{REMOTE_TRACE}-{REMOTE_SPAN}-01",
                "user-agent": "probe/1",
            },
        )
        assert status == 200
        (span,) = cap.spans()
        assert span.name == "POST /orders/{order_id}"
        assert span.kind is SpanKind.SERVER
        assert span.instrumentation_scope is not None
        assert span.instrumentation_scope.name == SCOPE_NAME
        assert format(span.context.trace_id, "032x") == REMOTE_TRACE
        assert span.parent is not None
        assert format(span.parent.span_id, "016x") == REMOTE_SPAN
        assert span.status.status_code is StatusCode.UNSET
        attrs = dict(span.attributes or {})
        assert attrs["http.request.method"] == "POST"
        assert attrs["url.scheme"] == "http"
        assert attrs["url.path"] == "/orders/7"
        assert attrs["url.query"] == "x=1"
        assert attrs["server.address"] == "api.test"
        assert attrs["server.port"] == 8080
        assert attrs["user_agent.original"] == "probe/1"
        assert attrs["http.route"] == "/orders/{order_id}"
        assert attrs["http.response.status_code"] == 200
        assert attrs["network.protocol.version"] == "1.1"
        assert "error.type" not in attrs


def test_http_server_metrics_carry_the_route_and_body_sizes() -> None:
    """Duration (s), request/response body sizes (By) and active requests back at 0."""
    with capture_telemetry(service_name="a") as cap:
        for _ in range(3):
            # the body as bytes: httpx's JSON spacing differs between its releases
            body, json_type = b'{"a":1,"b":2}', {"content-type": "application/json"}
            assert _call(_app(), "POST", "/orders/1", content=body, headers=json_type) == 200
        (duration,) = _points(cap, "http.server.request.duration")
        assert duration.count == 3
        assert cap.metric("http.server.request.duration").unit == "s"
        assert dict(duration.attributes) == {
            "http.request.method": "POST",
            "url.scheme": "http",
            "network.protocol.version": "1.1",
            "http.route": "/orders/{order_id}",
            "http.response.status_code": 200,
        }
        assert duration.exemplars, "exemplars point at the server span"
        (request_size,) = _points(cap, "http.server.request.body.size")
        assert request_size.sum == 3 * len(b'{"a":1,"b":2}')
        (response_size,) = _points(cap, "http.server.response.body.size")
        assert response_size.sum == 3 * len(b'{"id":1,"n":2}')
        (active,) = _points(cap, "http.server.active_requests")
        assert active.value == 0
        assert dict(active.attributes) == {"http.request.method": "POST", "url.scheme": "http"}


def test_active_requests_counts_requests_in_flight() -> None:
    """While two requests are inside the app the gauge reads 2 for their method and scheme,
    and 0 (still reported) once they have answered; the type is a non-monotonic sum."""
    seen: list[int] = []
    with capture_telemetry(service_name="a") as cap:
        app = fastapi.FastAPI()
        inside = asyncio.Event()
        release = asyncio.Event()
        entered = 0

        @app.get("/slow")
        async def slow() -> dict[str, str]:
            nonlocal entered
            entered += 1
            if entered == 2:
                inside.set()
            await release.wait()
            return {"ok": "yes"}

        async def go() -> list[int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                calls = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
                await asyncio.wait_for(inside.wait(), 5)
                (during,) = _points(cap, "http.server.active_requests")
                seen.append(during.value)
                release.set()
                return [(await call).status_code for call in calls]

        assert asyncio.run(go()) == [200, 200]
        metric = cap.metric("http.server.active_requests")
        (after,) = metric.data.data_points
        assert not metric.data.is_monotonic
        assert dict(after.attributes) == {"http.request.method": "GET", "url.scheme": "http"}
    assert seen == [2]
    assert after.value == 0


@pytest.mark.parametrize(
    ("path", "status", "error", "description"),
    [("/boom", 500, "RuntimeError", "RuntimeError: kaput"), ("/teapot", 503, "503", None)],
)
def test_server_errors_mark_span_and_metric(
    path: str, status: int, error: str, description: str | None
) -> None:
    """An exception or a 5xx answer: span status ERROR (an exception's type and message as
    its description) and error.type on span and metric."""
    with capture_telemetry(service_name="a") as cap:
        assert _call(_app(), "GET", path) == status
        (span,) = [s for s in cap.spans() if s.name == f"GET {path}"]
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == description
        assert (span.attributes or {})["error.type"] == error
        (point,) = _points(cap, "http.server.request.duration")
        assert point.attributes["error.type"] == error


def test_unknown_methods_and_excluded_paths() -> None:
    """An unknown method is _OTHER (original kept on the span); /healthz is not traced."""
    with capture_telemetry(service_name="a") as cap:
        app = _app()
        assert _call(app, "GET", "/healthz") == 200
        assert cap.spans() == []
        _call(app, "FETCH", "/orders/1")
        (span,) = cap.spans()
        assert span.name == "HTTP /orders/{order_id}"
        attrs = dict(span.attributes or {})
        assert attrs["http.request.method"] == "_OTHER"
        assert attrs["http.request.method_original"] == "FETCH"


def test_asking_for_receive_send_spans_uses_the_contrib_middleware() -> None:
    """fastapi_exclude_spans=() wants per-message spans: the contrib instrumentation
    (which has them) is used instead, and still gives a single server span per request."""
    options = InstrumentationOptions(fastapi_exclude_spans=())
    with capture_telemetry(service_name="a", instrumentations=options) as cap:
        assert _call(_app(), "POST", "/orders/1", json={}) == 200
        scopes = {s.instrumentation_scope.name for s in cap.spans() if s.instrumentation_scope}
        assert scopes == {"opentelemetry.instrumentation.fastapi"}
        kinds = [s.kind for s in cap.spans()]
        assert kinds.count(SpanKind.SERVER) == 1
        assert len(kinds) > 1, "receive/send spans"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("api.test:8080", ("api.test", 8080)),
        ("api.test", ("api.test", None)),
        ("[::1]:8443", ("::1", 8443)),
        ("[::1]", ("::1", None)),
        ("api.test:http", ("api.test", None)),
    ],
)
def test_server_address_and_port_from_the_host_header(
    host: str, expected: tuple[str, int | None]
) -> None:
    """Names, IPv6 literals in brackets, and a missing or non-numeric port."""
    assert host_and_port(host) == expected


def test_lifespan_shutdown_exports_what_is_queued() -> None:
    """When the app reports its lifespan shutdown complete, queued spans are exported
    (before the server may re-raise SIGTERM and skip exit hooks)."""
    with capture_telemetry(service_name="a", traces=TracesOptions(schedule_delay=60.0)) as cap:
        app = _app()
        messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent: list[str] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])
            if message["type"] == "lifespan.startup.complete":
                trace.get_tracer("t").start_span("queued").end()
                exported = cap._spans.get_finished_spans()  # no flush: still queued
                assert [s.name for s in exported] == []

        asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        assert [s.name for s in cap._spans.get_finished_spans()] == ["queued"]
