"""What leaves the process is redacted on every path: the OTLP encoders, the SDK's exporters
(``astra_otel.testing`` capture) with and without the in-place span hook, and metrics."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.trace import Link, Status, StatusCode

import astra_otel
from astra_otel._internal.sdk_private import HOOKS
from astra_otel.testing import Capture, OtlpHttpSink, capture_telemetry

R = "[REDACTED]"
# One distinct secret per place, so a leak names the place it came from.
S = {
    place: f"zq{place}leak"
    for place in (
        "attr",
        "query",
        "userinfo",
        "full_query",
        "statement",
        "parameter",
        "event",
        "link",
        "exception",
        "status",
        "name",
        "log_arg",
        "log_extra",
        "sql_error",
        "metric",
        "resource",
    )
}
ENVIRON = {"OTEL_RESOURCE_ATTRIBUTES": f"db.password={S['resource']},team=shop"}


def _emit() -> None:
    """Put each secret where services really put them."""
    tracer = trace.get_tracer("t")
    other = tracer.start_span("other")
    other.end()
    span = tracer.start_span(
        f"op token={S['name']}",
        attributes={
            "password": S["attr"],
            "url.query": f"token={S['query']}&page=2",
            "url.full": f"https://u:{S['userinfo']}@h/p?api_key={S['full_query']}&x=1",
            "db.query.text": f"SELECT * FROM t WHERE k = '{S['statement']}'",
            "db.query.parameter.0": S["parameter"],
            "token_count": 3,
        },
        links=[Link(other.get_span_context(), {"session_id": S["link"]})],
    )
    span.add_event("ev", {"client_secret": S["event"]})
    span.record_exception(ValueError(f"bad password={S['exception']}"))
    span.set_status(Status(StatusCode.ERROR, f"failed: token={S['status']}"))
    span.end()
    log = logging.getLogger("shop")
    log.warning("login %s", f"api_key={S['log_arg']}", extra={"password": S["log_extra"]})
    try:
        import sqlalchemy  # noqa: PLC0415

        engine = sqlalchemy.create_engine("sqlite://")
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f"SELECT * FROM nope WHERE k = '{S['sql_error']}'"))
    except Exception:
        log.exception("query failed")
    metrics.get_meter("m").create_counter("logins").add(1, {"api_key": S["metric"], "r": "/x"})


def _assert_no_secret(blob: str | bytes) -> None:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    assert [place for place, secret in S.items() if secret in text] == []


def _check_capture(cap: Capture) -> None:
    spans = {s.name: s for s in cap.spans()}
    op = spans[f"op token={R}"]
    attrs = dict(op.attributes or {})
    assert attrs["password"] == R
    assert attrs["url.query"] == f"token={R}&page=2"
    assert attrs["url.full"] == f"https://{R}:{R}@h/p?api_key={R}&x=1"
    assert attrs["db.query.text"] == "SELECT * FROM t WHERE k = ?"
    assert attrs["db.query.parameter.0"] == R
    assert attrs["token_count"] == 3
    assert dict(op.links[0].attributes or {}) == {"session_id": R}
    events = {e.name: dict(e.attributes or {}) for e in op.events}
    assert events["ev"] == {"client_secret": R}
    assert events["exception"]["exception.message"] == f"bad password={R}"
    assert op.status.description == f"failed: token={R}"
    assert op.resource.attributes["db.password"] == R
    assert op.resource.attributes["team"] == "shop"
    records = {r.log_record.body: r.log_record for r in cap.logs()}
    login = records[f"login api_key={R}"]
    assert dict(login.attributes or {})["password"] == R
    failed = dict(records["query failed"].attributes or {})
    assert "WHERE k = ?]" in failed["exception.message"]
    point = cap.metric("logins").data.data_points[0]  # type: ignore[union-attr]
    assert dict(point.attributes) == {"api_key": R, "r": "/x"}
    everything = (
        repr([(s.to_json()) for s in cap.spans()])
        + repr([r.to_json() for r in cap.logs()])
        + repr(cap.metrics())
    )
    _assert_no_secret(everything)


def test_capture_sees_what_production_sends() -> None:
    """astra_otel.testing (the SDK exporter path) gets spans, events, links, status,
    resource, log records and metric points redacted."""
    with capture_telemetry(service_name="svc", environ=ENVIRON) as cap:
        _emit()
        _check_capture(cap)


@pytest.fixture
def no_span_write_hook() -> Iterator[None]:
    """The in-place span hook reported unusable (as on an SDK whose private fields moved)."""
    hook = HOOKS["span-fields-write"]
    saved = hook.ok
    hook.ok = False
    try:
        yield
    finally:
        hook.ok = saved


@pytest.mark.usefixtures("no_span_write_hook")
def test_the_public_span_copy_is_redacted_alike() -> None:
    """Without the private hook, spans are redacted into public ReadableSpan copies."""
    with capture_telemetry(service_name="svc", environ=ENVIRON) as cap:
        _emit()
        _check_capture(cap)


def _values(message: Any) -> list[str]:
    """Every string anywhere in a protobuf message (keys, values, names, bodies)."""
    out: list[str] = []
    for _field, value in message.ListFields():
        repeated = not isinstance(value, (str, bytes)) and not hasattr(value, "ListFields")
        items = list(value) if repeated and hasattr(value, "__len__") else [value]
        for item in items:
            if isinstance(item, str):
                out.append(item)
            elif hasattr(item, "ListFields"):
                out.extend(_values(item))
    return out


def test_the_otlp_bytes_carry_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our span and log encoders (the production path) write [REDACTED] where each secret
    was: none of the secrets is anywhere in the bytes sent."""
    for key, value in ENVIRON.items():
        monkeypatch.setenv(key, value)
    with OtlpHttpSink() as sink:
        handle = astra_otel.setup(service_name="svc", endpoint=sink.endpoint)
        try:
            _emit()
            handle.force_flush(10.0)
        finally:
            handle.shutdown(10.0)
        payloads = {s: sink.payloads(s) for s in ("traces", "logs", "metrics")}
    assert all(payloads.values())
    for blobs in payloads.values():
        for blob in blobs:
            _assert_no_secret(blob)
    requests = [
        trace_service_pb2.ExportTraceServiceRequest.FromString(b) for b in payloads["traces"]
    ]
    resources = [rs.resource for req in requests for rs in req.resource_spans]
    assert all(_values(resource).count(R) == 1 for resource in resources)  # db.password
    spans = [
        span
        for req in requests
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
        if span.name == f"op token={R}"
    ]
    # name, password, url.query, url.full (user, password, api_key), parameter.0, the
    # link's session_id, the event's client_secret, exception.message and .stacktrace,
    # the status description: 12.
    assert sum(text.count(R) for text in _values(spans[0])) == 12
    log_strings = [
        text
        for blob in payloads["logs"]
        for text in _values(logs_service_pb2.ExportLogsServiceRequest.FromString(blob))
    ]
    assert f"login api_key={R}" in log_strings
    assert R in log_strings  # the extra= password
