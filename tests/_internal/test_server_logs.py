"""Web servers' own loggers are bridged once each (access logs only when asked), and the
server's record of an unhandled exception lands in the request's trace."""

from __future__ import annotations

import asyncio
import copy
import logging
import logging.config
from collections.abc import Iterator

import fastapi
import httpx
import pytest
from opentelemetry import trace
from uvicorn.config import LOGGING_CONFIG

from astra_otel import LogsOptions
from astra_otel.testing import Capture, capture_telemetry


@pytest.fixture
def uvicorn_logging() -> Iterator[None]:
    """uvicorn's own logging config (non-propagating loggers), undone afterwards."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    logging.config.dictConfig(copy.deepcopy(LOGGING_CONFIG))
    yield
    for name, (handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def _bodies(cap: Capture) -> list[str]:
    return [str(r.log_record.body) for r in cap.logs()]


def _boom_app() -> fastapi.FastAPI:
    app = fastapi.FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise ValueError("order 7 has no lines")

    return app


def _get(app: fastapi.FastAPI, path: str) -> BaseException | None:
    async def go() -> BaseException | None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            try:
                await client.get(path)
            except Exception as exc:  # what the server catches and logs
                return exc
        return None

    return asyncio.run(go())


@pytest.mark.usefixtures("uvicorn_logging")
def test_server_error_logger_is_bridged_once_and_access_log_is_not() -> None:
    """uvicorn configured before setup(): its error records are exported once each; its
    access records are not."""
    with capture_telemetry(service_name="srv") as cap:
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("uvicorn.access").info("GET / 200")
        assert _bodies(cap) == ["Started server process"]


@pytest.mark.usefixtures("uvicorn_logging")
def test_access_log_is_bridged_when_asked() -> None:
    """logs.access=True: the access logger is bridged too, once."""
    with capture_telemetry(service_name="srv", logs=LogsOptions(access=True)) as cap:
        logging.getLogger("uvicorn.access").info("GET / 200")
        logging.getLogger("uvicorn.error").warning("slow")
        assert sorted(_bodies(cap)) == ["GET / 200", "slow"]


def test_server_configuring_logging_after_setup_is_bridged_at_first_call(
    uvicorn_logging: None,
) -> None:
    """uvicorn.run() after setup() replaces handlers: the first ASGI call re-attaches the
    bridge (once, however many calls follow)."""
    with capture_telemetry(service_name="srv") as cap:
        logging.config.dictConfig(copy.deepcopy(LOGGING_CONFIG))  # as uvicorn.run does
        app = _boom_app()
        _get(app, "/missing")
        _get(app, "/missing")
        logging.getLogger("uvicorn.error").error("after start")
        assert _bodies(cap).count("after start") == 1


@pytest.mark.usefixtures("uvicorn_logging")
def test_unhandled_exception_record_is_in_the_request_trace() -> None:
    """The server's 'Exception in ASGI application' record, logged after the span ended,
    is one ERROR record with exception attributes and the server span's trace."""
    with capture_telemetry(service_name="srv") as cap:
        exc = _get(_boom_app(), "/boom")
        assert isinstance(exc, ValueError)
        logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=exc)
        (span,) = cap.spans()
        records = [r.log_record for r in cap.logs()]
        assert [r.severity_text for r in records] == ["ERROR"]
        (record,) = records
        assert record.trace_id == span.context.trace_id
        assert record.span_id == span.context.span_id
        attrs = record.attributes or {}
        assert attrs["exception.type"] == "ValueError"
        assert attrs["exception.message"] == "order 7 has no lines"
        assert "raise ValueError" in str(attrs["exception.stacktrace"])
        assert span.status.description == "ValueError: order 7 has no lines"


def test_a_record_logged_inside_another_span_keeps_that_span() -> None:
    """The escaped-from span is used only when no span is current."""
    with capture_telemetry(service_name="srv") as cap:
        exc = _get(_boom_app(), "/boom")
        with trace.get_tracer("t").start_as_current_span("handler") as handler:
            logging.getLogger("app").error("caught", exc_info=exc)
        (record,) = cap.logs()
        assert record.log_record.span_id == handler.get_span_context().span_id
