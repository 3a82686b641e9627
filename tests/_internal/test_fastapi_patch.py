"""FastAPI apps get the same telemetry whatever the import order: ``FastAPI`` imported
before ``setup()`` (as a ``main.py`` does), an app or a subclass created before it, or
one created after it; and shutdown puts FastAPI back as it was."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import fastapi
import httpx
import pytest
from fastapi import FastAPI  # bound before any setup(), like a service's main.py

from astra_otel._internal.asgi_telemetry import AsgiServerTelemetry
from astra_otel.testing import Capture, capture_telemetry

# FastAPI >= 0.165 has native telemetry (telemetry=...); the oldest supported FastAPI has not.
NATIVE = "telemetry" in inspect.signature(FastAPI.__init__).parameters

Signature = tuple[list[tuple[str, str, tuple[str, ...]]], list[str]]


class EarlySubclass(FastAPI):
    """An application's own subclass, defined at import time."""


def _routes(app: FastAPI) -> FastAPI:
    @app.post("/orders/{order_id}")
    async def order(order_id: int, body: dict[str, Any]) -> dict[str, Any]:
        return {"id": order_id, "n": len(body)}

    return app


def _serve(app: FastAPI) -> None:
    async def go() -> None:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50123))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test:8080") as c:
            response = await c.post("/orders/7", json={"a": 1}, headers={"user-agent": "t/1"})
            assert response.status_code == 200

    asyncio.run(go())


def _signature(cap: Capture) -> Signature:
    spans = sorted((s.name, s.kind.name, tuple(sorted(s.attributes or {}))) for s in cap.spans())
    metrics = sorted(
        m.name for m in cap.metrics() if m.name.startswith("http.") and m.data.data_points
    )
    return spans, metrics


def _case(make: Callable[[], FastAPI], early: bool) -> Signature:
    app = _routes(make()) if early else None
    with capture_telemetry(service_name="order") as cap:
        served = app if app is not None else _routes(make())
        _serve(served)
        return _signature(cap)


CASES: dict[str, tuple[Callable[[], FastAPI], bool]] = {
    # The module attribute as it is when the app is made (the lambda defers the lookup).
    "module attribute, app after setup": (lambda: fastapi.FastAPI(), False),  # noqa: PLW0108
    "imported before setup, app after": (FastAPI, False),
    "app created before setup": (FastAPI, True),
    "subclass defined before setup, app after": (EarlySubclass, False),
    "subclass app created before setup": (EarlySubclass, True),
}


def test_server_telemetry_is_complete_when_fastapi_is_imported_first() -> None:
    """The main.py layout: one SERVER span with client/user-agent attributes, no FastAPI
    native INTERNAL spans, and the body-size metrics."""
    spans, metrics = _case(FastAPI, False)
    assert [(name, kind) for name, kind, _ in spans] == [("POST /orders/{order_id}", "SERVER")]
    keys = spans[0][2]
    for key in ("client.address", "client.port", "user_agent.original", "http.route"):
        assert key in keys
    assert metrics == [
        "http.server.active_requests",
        "http.server.request.body.size",
        "http.server.request.duration",
        "http.server.response.body.size",
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_every_import_order_gives_the_same_telemetry(case: str) -> None:
    """Span names, kinds, attribute keys and metric names equal the app-after-setup case."""
    make, early = CASES[case]
    assert _case(make, early) == _case(*CASES["module attribute, app after setup"])


def test_an_app_already_serving_before_setup_is_instrumented_at_its_next_request() -> None:
    """An app whose stack was built before setup() has it rebuilt, instrumented, when it
    next serves: the same telemetry, from one middleware (instrument_fastapi is harmless)."""
    expected = _case(*CASES["module attribute, app after setup"])
    app = _routes(FastAPI())
    _serve(app)  # builds the uninstrumented stack
    with capture_telemetry(service_name="order") as cap:
        cap.telemetry.instrument_fastapi(app)
        _serve(app)
        cap.telemetry.instrument_fastapi(app)
        assert _signature(cap) == expected
        assert isinstance(app.middleware_stack, AsgiServerTelemetry)
        assert not isinstance(app.middleware_stack.app, AsgiServerTelemetry)


def test_shutdown_restores_fastapi_and_new_apps_are_plain() -> None:
    """After shutdown FastAPI's own methods are back; an app made then has no middleware
    of ours, and FastAPI's native telemetry settings are its defaults."""
    before = (FastAPI.__init__, FastAPI.build_middleware_stack)
    with capture_telemetry(service_name="i"):
        assert (FastAPI.__init__, FastAPI.build_middleware_stack) != before
    assert (FastAPI.__init__, FastAPI.build_middleware_stack) == before
    app = FastAPI()
    assert not isinstance(app.build_middleware_stack(), AsgiServerTelemetry)
    if NATIVE:
        assert app._telemetry["tracing"] is True  # type: ignore[attr-defined]


@pytest.mark.skipif(not NATIVE, reason="this FastAPI has no native telemetry to keep")
def test_an_app_asking_for_native_telemetry_keeps_it() -> None:
    """An app created before setup() with its own telemetry= settings is left as it asked."""
    app = FastAPI(telemetry={"tracing": True, "operation_spans": False})  # type: ignore[call-arg]
    with capture_telemetry(service_name="i"):
        app.build_middleware_stack()
        assert app._telemetry["tracing"] is True  # type: ignore[attr-defined]
        assert app._telemetry["operation_spans"] is False  # type: ignore[attr-defined]
