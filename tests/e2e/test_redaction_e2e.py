"""No secret leaves a service or passes the collector.

A FastAPI app under ``setup()`` (header capture on) puts a distinct secret in every place
services put them; then two clients that do not use ``setup()`` (curl speaking OTLP/JSON,
and the SDK's own OTLP exporters) send secrets straight to the collector. Every JSON file,
Jaeger's API output and every Prometheus label value must hold none of them, and each
place must hold exactly the mask expected there: ``[REDACTED]`` from the process,
``****`` from the collector.
"""

from __future__ import annotations

import json
import random
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from astra_otel._config.params import environ_snapshot
from astra_otel._internal.redaction_text import looks_like_card_number

from _support.jsonl import read_documents, signal_files
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

R = "[REDACTED]"
M = "****"  # the collector's redaction processor mask
RUN = uuid.uuid4().hex[:10]


def _card() -> str:
    """A Luhn-valid Visa number no other test uses."""
    body = "4" + "".join(random.choice("0123456789") for _ in range(14))
    return next(body + d for d in "0123456789" if looks_like_card_number(body + d))


def _secrets(prefix: str, places: tuple[str, ...]) -> dict[str, str]:
    return {place: f"{prefix}{place.replace('_', '')}{RUN}" for place in places}


APP_SECRETS = _secrets(
    "zqa",
    (
        "auth",
        "cookie",
        "apikey",
        "baggage",
        "query_token",
        "query_pw",
        "userinfo",
        "full_apikey",
        "extra",
        "log_bearer",
        "metric",
        "db_ok",
        "db_fail",
        "span_name",
        "record_exc",
        "status",
        "unhandled",
        "resource",
    ),
)
APP_CARD = _card()
CLIENT_SECRETS = _secrets(
    "zqc",
    (
        "authorization",
        "password",
        "query_token",
        "userinfo",
        "full_apikey",
        "exception",
        "status",
        "log_body",
        "log_password",
        "metric",
        "resource",
    ),
)
CLIENT_CARD = _card()
EVERY_SECRET = [*APP_SECRETS.values(), APP_CARD, *CLIENT_SECRETS.values(), CLIENT_CARD]

APP = """
import json, logging, socket, sys, threading, time
import requests, sqlalchemy, uvicorn
from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.trace import Status, StatusCode
import astra_otel

S = json.loads(sys.argv[1])
handle = astra_otel.setup()
app = FastAPI()
engine = sqlalchemy.create_engine("sqlite://")
log = logging.getLogger("app")
logins = metrics.get_meter("astra.e2e").create_counter("astra.e2e.logins")

@app.get("/login")
def login() -> dict:
    log.warning("login attempt", extra={"password": S["extra"], "user": "bob"})
    log.warning("order 1234 of user 42 paid 19.99 at 12:30")
    log.warning("calling upstream with Bearer %s for card %s", S["log_bearer"], S["card"])
    logins.add(1, {"api_key": S["metric"], "route": "/login"})
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f"SELECT '{S['db_ok']}'"))
        try:
            conn.execute(sqlalchemy.text(f"SELECT * FROM missing WHERE k = '{S['db_fail']}'"))
        except Exception:
            log.exception("query failed")
    with trace.get_tracer("astra.e2e").start_as_current_span(f"job token={S['span_name']}") as span:
        span.record_exception(ValueError(f"password={S['record_exc']}"))
        span.set_status(Status(StatusCode.ERROR, f"failed: secret={S['status']}"))
    return {"ok": True}

@app.get("/ping")
def ping() -> dict:
    return {"ok": True}

@app.get("/boom")
def boom() -> dict:
    raise ValueError(f"bad api_key={S['unhandled']}")

sock = socket.socket()
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
sock.close()
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
thread = threading.Thread(target=server.run, daemon=True)
thread.start()
while not server.started:
    time.sleep(0.05)
base = f"http://127.0.0.1:{port}"
headers = {
    "Authorization": f"Bearer {S['auth']}",
    "Cookie": f"session={S['cookie']}",
    "X-Api-Key": S["apikey"],
    "baggage": f"user=bob,api_key={S['baggage']}",
}
query = f"token={S['query_token']}&password={S['query_pw']}&page=2"
assert requests.get(f"{base}/login?{query}", headers=headers, timeout=10).status_code == 200
userinfo = f"http://bob:{S['userinfo']}@127.0.0.1:{port}/ping?api_key={S['full_apikey']}"
assert requests.get(userinfo, timeout=10).status_code == 200
assert requests.get(f"{base}/boom", timeout=10).status_code == 500
time.sleep(1.5)  # one metric export (1 s interval) after the counter moved
server.should_exit = True
thread.join(10)
handle.shutdown(10.0)
print(port)
"""

SDK_CLIENT = """
import json, logging, sys
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.trace import Status, StatusCode

S, endpoint, service = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
resource = Resource({"service.name": service, "db.password": S["resource"]})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{endpoint}/v1/traces")))
span = tracer_provider.get_tracer("sdk-client").start_span("GET /orders", attributes={
    "http.request.header.authorization": [f"Bearer {S['authorization']}"],
    "password": S["password"],
    "url.query": f"token={S['query_token']}&page=2",
    "url.full": f"https://bob:{S['userinfo']}@shop.example/orders?api_key={S['full_apikey']}&x=1",
    "payment.note": f"card {S['card']} charged",
    "token_count": 12,
})
span.record_exception(ValueError(f"login failed: password={S['exception']}"))
span.set_status(Status(StatusCode.ERROR, f"token={S['status']}"))
span.end()
tracer_provider.shutdown()
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(f"{endpoint}/v1/logs")))
log = logging.getLogger("sdk-client")
log.addHandler(LoggingHandler(logger_provider=logger_provider))
log.propagate = False
log.warning("sent Bearer %s upstream", S["log_body"], extra={"password": S["log_password"]})
logger_provider.shutdown()
reader = PeriodicExportingMetricReader(OTLPMetricExporter(f"{endpoint}/v1/metrics"))
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
meter_provider.get_meter("sdk-client").create_counter("sdk.logins").add(1, {"api_key": S["metric"]})
meter_provider.shutdown()
"""


def _env(stack: RunningStack, service: str) -> dict[str, str]:
    env = {k: v for k, v in environ_snapshot().items() if not k.startswith(("OTEL_", "ASTRA_"))}
    env.update(
        {
            "OTEL_SERVICE_NAME": service,
            "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http,
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_RESOURCE_ATTRIBUTES": f"db.password={APP_SECRETS['resource']}",
            "ASTRA_OTEL_CAPTURE_HEADERS": "true",
        }
    )
    return env


def _attrs(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    """OTLP-JSON key/values as plain values (arrays as lists of their values)."""
    out: dict[str, Any] = {}
    for item in items or []:
        kind, value = next(iter(item["value"].items()), ("", None))
        if kind == "arrayValue":
            value = [next(iter(v.values())) for v in value.get("values", [])]
        out[item["key"]] = value
    return out


def _entries(stack: RunningStack, signal: str, key: str, service: str) -> list[dict[str, Any]]:
    docs = read_documents(signal_files(stack.telemetry_dir, signal)).documents
    return [
        entry
        for doc in docs
        for entry in doc.get(key, [])
        if _attrs(entry["resource"]["attributes"]).get("service.name") == service
    ]


def _spans(stack: RunningStack, service: str) -> list[dict[str, Any]]:
    entries = _entries(stack, "traces", "resourceSpans", service)
    return [sp for e in entries for s in e["scopeSpans"] for sp in s["spans"]]


def _logs(stack: RunningStack, service: str) -> list[dict[str, Any]]:
    entries = _entries(stack, "logs", "resourceLogs", service)
    return [r for e in entries for s in e["scopeLogs"] for r in s["logRecords"]]


def _points(stack: RunningStack, service: str, name: str) -> list[dict[str, Any]]:
    entries = _entries(stack, "metrics", "resourceMetrics", service)
    return [
        p
        for e in entries
        for s in e["scopeMetrics"]
        for m in s["metrics"]
        if m["name"] == name
        for p in m["sum"]["dataPoints"]
    ]


def _span(stack: RunningStack, service: str, name: str, **attrs: Any) -> dict[str, Any]:
    """The (first) span of ``service`` named ``name`` with these attribute values."""

    def find() -> dict[str, Any] | None:
        for span in _spans(stack, service):
            got = _attrs(span.get("attributes"))
            if span["name"] == name and all(got.get(k) == v for k, v in attrs.items()):
                return span
        return None

    return wait_for(find, f"span {name!r} {attrs} of {service}", timeout=60)


def _log(stack: RunningStack, service: str, prefix: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for record in _logs(stack, service):
            if record.get("body", {}).get("stringValue", "").startswith(prefix):
                return record
        return None

    return wait_for(find, f"log record {prefix!r} of {service}", timeout=60)


def _jaeger_traces(stack: RunningStack, service: str) -> str:
    params: dict[str, str | int] = {"service": service, "limit": 100, "lookback": "1h"}
    response = requests.get(f"{stack.jaeger_url}/api/traces", params=params, timeout=10)
    response.raise_for_status()
    return response.text


def _prometheus_label_values(stack: RunningStack) -> str:
    """Every value of every label Prometheus has, as one text."""
    api = f"{stack.prometheus_url}/api/v1"
    labels = requests.get(f"{api}/labels", timeout=10).json()["data"]
    values = [
        requests.get(f"{api}/label/{name}/values", timeout=10).json()["data"] for name in labels
    ]
    return json.dumps(values)


def _everything_stored(stack: RunningStack, services: list[str]) -> dict[str, str]:
    """What a reader of the stack can see, by where it is."""
    files = {p.name: p.read_text(errors="replace") for p in sorted(stack.telemetry_dir.iterdir())}
    files |= {f"jaeger {s}": _jaeger_traces(stack, s) for s in services}
    files["prometheus label values"] = _prometheus_label_values(stack)
    return files


def _assert_no_secret_anywhere(stack: RunningStack, services: list[str]) -> None:
    leaks = [
        (where, secret)
        for where, text in _everything_stored(stack, services).items()
        for secret in EVERY_SECRET
        if secret in text
    ]
    assert leaks == []


@pytest.fixture(scope="module")
def app_service(stack: RunningStack) -> Iterator[tuple[str, int]]:
    """The FastAPI app's service name and port, after it served its requests and exited."""
    service = f"e2e-redact-app-{RUN}"
    secrets = {**APP_SECRETS, "card": APP_CARD}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(APP), json.dumps(secrets)],
        env=_env(stack, service),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    yield service, int(proc.stdout.split()[-1])


def test_setup_app_exports_only_redacted_values(
    stack: RunningStack, app_service: tuple[str, int]
) -> None:
    """Every place a secret was holds exactly [REDACTED] (query parameters, headers, userinfo,
    extra= fields, log bodies, statements, exception messages, span names, status, resource,
    metric labels), and the collector found nothing left to mask."""
    service, port = app_service
    server = _span(stack, service, "GET /login", **{"http.route": "/login"})
    attrs = _attrs(server.get("attributes"))
    assert attrs["url.query"] == f"token={R}&password={R}&page=2"
    assert attrs["http.request.header.authorization"] == [R]
    assert attrs["http.request.header.cookie"] == [R]
    assert attrs["http.request.header.x_api_key"] == [R]
    assert attrs["http.request.header.baggage"] == [f"user=bob,api_key={R}"]
    client = _span(
        stack,
        service,
        "GET",
        **{"url.full": f"http://127.0.0.1:{port}/login?token={R}&password={R}&page=2"},
    )
    assert client["kind"] == 3  # SPAN_KIND_CLIENT
    _span(
        stack, service, "GET", **{"url.full": f"http://{R}:{R}@127.0.0.1:{port}/ping?api_key={R}"}
    )
    job = _span(stack, service, f"job token={R}")
    assert job["status"]["message"] == f"failed: secret={R}"
    (event,) = job["events"]
    assert _attrs(event.get("attributes"))["exception.message"] == f"password={R}"
    assert _attrs(event.get("attributes"))["exception.stacktrace"].count(R) == 1
    boom = _span(stack, service, "GET /boom", **{"http.route": "/boom"})
    assert boom["status"]["message"] == f"ValueError: bad api_key={R}"
    assert [_attrs(e.get("attributes"))["exception.message"] for e in boom["events"]] == [
        f"bad api_key={R}"
    ]
    statements = {_attrs(s.get("attributes")).get("db.query.text") for s in _spans(stack, service)}
    assert "SELECT ?" in statements
    assert "SELECT * FROM missing WHERE k = ?" in statements
    assert _attrs(_log(stack, service, "login attempt")["attributes"])["password"] == R
    ordinary = _log(stack, service, "order 1234")["body"]["stringValue"]
    assert ordinary == "order 1234 of user 42 paid 19.99 at 12:30"  # nothing else touched
    upstream = _log(stack, service, "calling upstream")
    assert upstream["body"]["stringValue"] == f"calling upstream with Bearer {R} for card {R}"
    failed = _attrs(_log(stack, service, "query failed")["attributes"])
    assert "[SQL: SELECT * FROM missing WHERE k = ?]" in failed["exception.message"]
    unhandled = [r for r in _logs(stack, service) if "bad api_key=" in json.dumps(r)]
    assert unhandled, "the unhandled exception's ERROR record"
    assert all(f"bad api_key={R}" in json.dumps(r) for r in unhandled)
    for entry in _entries(stack, "traces", "resourceSpans", service):
        assert _attrs(entry["resource"]["attributes"])["db.password"] == R
    point = wait_for(lambda: _points(stack, service, "astra.e2e.logins") or None, "the counter")[0]
    # The collector saw the value arrive redacted: it says so, and masked nothing.
    assert _attrs(point.get("attributes")) == {
        "api_key": R,
        "route": "/login",
        "redaction.allowed.count": "1",
    }
    # setup() left the collector nothing to mask.
    assert "redaction.masked.count" not in json.dumps(
        _spans(stack, service) + _logs(stack, service)
    )


def test_setup_app_secret_is_nowhere_in_files_jaeger_or_prometheus(
    stack: RunningStack, app_service: tuple[str, int]
) -> None:
    """None of the app's secrets is in any JSON file, Jaeger's traces of the service, or any
    Prometheus label value; the metric's label reads [REDACTED] in Prometheus."""
    service, _port = app_service
    _span(stack, service, "GET /boom", **{"http.route": "/boom"})

    def in_prometheus() -> list[dict[str, Any]] | None:
        query = f'astra_e2e_logins_total{{service_name="{service}"}}'
        resp = requests.get(
            f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=10
        )
        return resp.json()["data"]["result"] or None

    series = wait_for(in_prometheus, "the app's counter in Prometheus", timeout=60)
    assert [s["metric"]["api_key"] for s in series] == [R]
    wait_for(
        lambda: service in _jaeger_traces(stack, service) or None, "the app's traces in Jaeger"
    )
    _assert_no_secret_anywhere(stack, [service])


def _curl(stack: RunningStack, signal: str, body: dict[str, Any]) -> None:
    subprocess.run(
        [
            "curl",
            "-sS",
            "--fail",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
            f"{stack.otlp_http}/v1/{signal}",
        ],
        input=json.dumps(body),
        text=True,
        capture_output=True,
        timeout=30,
        check=True,
    )


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _curl_everything(stack: RunningStack, service: str) -> None:
    """Secrets in a span, its event and status, a log record and a metric, as OTLP/JSON."""
    s = CLIENT_SECRETS
    now = time.time_ns()
    resource = {"attributes": [_kv("service.name", service), _kv("db.password", s["resource"])]}
    span = {
        "traceId": uuid.uuid4().hex,
        "spanId": uuid.uuid4().hex[:16],
        "name": "GET /orders",
        "kind": 2,
        "startTimeUnixNano": str(now - 10**9),
        "endTimeUnixNano": str(now),
        "attributes": [
            _kv("authorization", f"Bearer {s['authorization']}"),
            _kv("password", s["password"]),
            _kv("url.query", f"token={s['query_token']}&page=2"),
            _kv(
                "url.full",
                f"https://bob:{s['userinfo']}@shop.example/orders?api_key={s['full_apikey']}&x=1",
            ),
            _kv("payment.card", int(CLIENT_CARD)),
            _kv("token_count", 12),
            _kv("author", "alice"),
        ],
        "events": [
            {
                "name": "exception",
                "timeUnixNano": str(now - 5 * 10**8),
                "attributes": [
                    _kv("exception.message", f"login failed: password={s['exception']}")
                ],
            }
        ],
        "status": {"code": 2, "message": f"token={s['status']}"},
    }
    _curl(
        stack,
        "traces",
        {
            "resourceSpans": [
                {"resource": resource, "scopeSpans": [{"scope": {"name": "curl"}, "spans": [span]}]}
            ]
        },
    )
    record = {
        "timeUnixNano": str(now),
        "severityNumber": 13,
        "body": {"stringValue": f"sent Bearer {s['log_body']} upstream for order 77 at 12:30"},
        "attributes": [_kv("password", s["log_password"]), _kv("user", "bob")],
    }
    _curl(
        stack,
        "logs",
        {
            "resourceLogs": [
                {
                    "resource": resource,
                    "scopeLogs": [{"scope": {"name": "curl"}, "logRecords": [record]}],
                }
            ]
        },
    )
    point = {
        "asInt": "1",
        "startTimeUnixNano": str(now - 10**9),
        "timeUnixNano": str(now),
        "attributes": [_kv("api_key", s["metric"]), _kv("route", "/orders")],
    }
    metric = {
        "name": "curl.logins",
        "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [point]},
    }
    _curl(
        stack,
        "metrics",
        {
            "resourceMetrics": [
                {
                    "resource": resource,
                    "scopeMetrics": [{"scope": {"name": "curl"}, "metrics": [metric]}],
                }
            ]
        },
    )


@pytest.fixture(scope="module")
def clients(stack: RunningStack) -> dict[str, str]:
    """Service names of the curl client and the SDK-exporter client, after both sent."""
    names = {"curl": f"e2e-redact-curl-{RUN}", "sdk": f"e2e-redact-sdk-{RUN}"}
    _curl_everything(stack, names["curl"])
    secrets = {**CLIENT_SECRETS, "card": CLIENT_CARD}
    env = {k: v for k, v in environ_snapshot().items() if not k.startswith(("OTEL_", "ASTRA_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(SDK_CLIENT),
            json.dumps(secrets),
            stack.otlp_http,
            names["sdk"],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return names


def test_clients_without_setup_are_masked_by_the_collector(
    stack: RunningStack, clients: dict[str, str]
) -> None:
    """What curl and the SDK's exporters sent arrives with each secret masked (****) and the
    count of masked values on the span, event, log record and metric point; names that
    only look sensitive (token_count, author) keep their values."""
    curl = _span(stack, clients["curl"], "GET /orders")
    attrs = _attrs(curl.get("attributes"))
    assert attrs["authorization"] == M
    assert attrs["password"] == M
    assert attrs["url.query"] == f"{M}&page=2"
    assert attrs["url.full"] == f"https{M}shop.example/orders?{M}&x=1"
    assert attrs["payment.card"] == M
    assert (attrs["token_count"], attrs["author"]) == ("12", "alice")
    assert attrs["redaction.masked.count"] == "5"
    assert curl["status"]["message"] == M
    (event,) = curl["events"]
    assert _attrs(event.get("attributes")) == {
        "exception.message": f"login failed: {M}",
        "redaction.masked.count": "1",
    }
    sdk = _span(stack, clients["sdk"], "GET /orders")
    sdk_attrs = _attrs(sdk.get("attributes"))
    assert sdk_attrs["http.request.header.authorization"] == M
    assert sdk_attrs["payment.note"] == f"card {M} charged"
    assert sdk_attrs["redaction.masked.count"] == "5"
    assert sdk["status"]["message"] == M
    message = _attrs(sdk["events"][0]["attributes"])["exception.message"]
    assert message == f"login failed: {M}"
    for service in clients.values():
        record = _attrs(_log(stack, service, "sent ")["attributes"])
        assert record["password"] == M
        point = wait_for(
            lambda s=service: (
                _points(stack, s, "curl.logins" if "curl" in s else "sdk.logins") or None
            ),
            f"the metric point of {service}",
        )[0]
        assert _attrs(point.get("attributes"))["api_key"] == M
    body = _log(stack, clients["curl"], "sent ")["body"]["stringValue"]
    assert body == f"sent {M} upstream for order 77 at 12:30"


def test_client_secrets_are_nowhere_and_the_redactions_are_counted(
    stack: RunningStack, clients: dict[str, str]
) -> None:
    """No client secret is in the files, Jaeger or Prometheus; Prometheus counts the spans
    the collector redacted per service (the pipeline-health dashboard's panel)."""
    for service in clients.values():
        _span(stack, service, "GET /orders")

        def counted(service: str = service) -> list[dict[str, Any]] | None:
            # The connector reports a new series as 0 first, then its count (so that
            # Prometheus' rate() sees the first increment).
            query = f'astra_redaction_calls_total{{service_name="{service}"}} > 0'
            resp = requests.get(
                f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=10
            )
            return resp.json()["data"]["result"] or None

        series = wait_for(counted, f"{service}'s redacted spans in Prometheus", timeout=60)
        assert [s["metric"]["redaction_masked_count"] for s in series] == ["5"]
        assert [float(s["value"][1]) for s in series] == [1.0], series
        wait_for(lambda s=service: s in _jaeger_traces(stack, s) or None, f"{service} in Jaeger")
    _assert_no_secret_anywhere(stack, list(clients.values()))


def test_the_stack_keeps_its_files_private(
    stack: RunningStack, app_service: tuple[str, int]
) -> None:
    """The state directory and everything the stack creates in it are 0700; the collector's
    queue files are 0600; the JSON files, 0644 by the file exporter's own chmod, sit in a
    0700 directory (docs: the nearest the exporter allows)."""
    assert stat.S_IMODE(stack.state_dir.stat().st_mode) == 0o700
    for child in stack.state_dir.iterdir():
        if child.is_dir():
            assert stat.S_IMODE(child.stat().st_mode) == 0o700, child
    queue = stack.state_dir / "collector-queue"
    assert [p.name for p in queue.iterdir() if stat.S_IMODE(p.stat().st_mode) != 0o600] == []
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in stack.telemetry_dir.iterdir()}
    assert modes
    assert all(mode & 0o033 == 0 for mode in modes.values()), modes
    assert stat.S_IMODE(stack.telemetry_dir.stat().st_mode) == 0o700
