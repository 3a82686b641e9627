"""No secret leaves a service that uses ``setup()``.

A FastAPI app under ``setup()`` (header capture on) puts a distinct secret in every place
services put them. Every JSON file, Jaeger's API output and every Prometheus label value
must hold none of them, each place must hold exactly the ``[REDACTED]`` expected there, and
the collector must have found nothing left to mask. The clients that do not use ``setup()``
are in test_redaction_clients_e2e.py; both share the secret corpus of _redaction_support.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator

import pytest

from ._redaction_support import (
    APP_CARD,
    APP_SECRETS,
    RUN,
    R,
    assert_no_secret_anywhere,
    clean_environ,
    find_log,
    find_span,
    logs,
    points,
    prometheus_query,
    spans,
    wait_for_jaeger,
)
from _support.otlp_files import attrs, for_service
from _support.scripts import run_script
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

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


def _env(stack: RunningStack, service: str) -> dict[str, str]:
    env = clean_environ()
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


@pytest.fixture(scope="module")
def app_service(stack: RunningStack) -> Iterator[tuple[str, int]]:
    """The FastAPI app's service name and port, after it served its requests and exited."""
    service = f"e2e-redact-app-{RUN}"
    secrets = {**APP_SECRETS, "card": APP_CARD}
    proc = run_script(APP, _env(stack, service), json.dumps(secrets), timeout=90)
    yield service, int(proc.stdout.split()[-1])


def test_setup_app_exports_only_redacted_values(
    stack: RunningStack, app_service: tuple[str, int]
) -> None:
    """Every place a secret was holds exactly [REDACTED] (query parameters, headers, userinfo,
    extra= fields, log bodies, statements, exception messages, span names, status, resource,
    metric labels), and the collector found nothing left to mask."""
    service, port = app_service
    server = find_span(stack, service, "GET /login", **{"http.route": "/login"})
    got = attrs(server.get("attributes"))
    assert got["url.query"] == f"token={R}&password={R}&page=2"
    assert got["http.request.header.authorization"] == [R]
    assert got["http.request.header.cookie"] == [R]
    assert got["http.request.header.x_api_key"] == [R]
    assert got["http.request.header.baggage"] == [f"user=bob,api_key={R}"]
    client = find_span(
        stack,
        service,
        "GET",
        **{"url.full": f"http://127.0.0.1:{port}/login?token={R}&password={R}&page=2"},
    )
    assert client["kind"] == 3  # SPAN_KIND_CLIENT
    find_span(
        stack, service, "GET", **{"url.full": f"http://{R}:{R}@127.0.0.1:{port}/ping?api_key={R}"}
    )
    job = find_span(stack, service, f"job token={R}")
    assert job["status"]["message"] == f"failed: secret={R}"
    (event,) = job["events"]
    assert attrs(event.get("attributes"))["exception.message"] == f"password={R}"
    assert attrs(event.get("attributes"))["exception.stacktrace"].count(R) == 1
    boom = find_span(stack, service, "GET /boom", **{"http.route": "/boom"})
    assert boom["status"]["message"] == f"ValueError: bad api_key={R}"
    assert [attrs(e.get("attributes"))["exception.message"] for e in boom["events"]] == [
        f"bad api_key={R}"
    ]
    # A raised exception's real traceback: frames kept, the message line redacted.
    trace_text = attrs(boom["events"][0].get("attributes"))["exception.stacktrace"]
    assert trace_text.startswith("Traceback (most recent call last):")
    assert f"ValueError: bad api_key={R}" in trace_text
    statements = {attrs(s.get("attributes")).get("db.query.text") for s in spans(stack, service)}
    assert "SELECT ?" in statements
    assert "SELECT * FROM missing WHERE k = ?" in statements
    assert attrs(find_log(stack, service, "login attempt")["attributes"])["password"] == R
    ordinary = find_log(stack, service, "order 1234")["body"]["stringValue"]
    assert ordinary == "order 1234 of user 42 paid 19.99 at 12:30"  # nothing else touched
    upstream = find_log(stack, service, "calling upstream")
    assert upstream["body"]["stringValue"] == f"calling upstream with Bearer {R} for card {R}"
    failed = attrs(find_log(stack, service, "query failed")["attributes"])
    assert "[SQL: SELECT * FROM missing WHERE k = ?]" in failed["exception.message"]
    assert "[SQL: SELECT * FROM missing WHERE k = ?]" in failed["exception.stacktrace"]
    unhandled = [r for r in logs(stack, service) if "bad api_key=" in json.dumps(r)]
    assert unhandled, "the unhandled exception's ERROR record"
    assert all(f"bad api_key={R}" in json.dumps(r) for r in unhandled)
    for entry in for_service(stack.telemetry_dir, "traces", service):
        assert attrs(entry["resource"]["attributes"])["db.password"] == R
    point = wait_for(lambda: points(stack, service, "astra.e2e.logins") or None, "the counter")[0]
    # The collector saw the value arrive redacted: it says so, and masked nothing.
    assert attrs(point.get("attributes")) == {
        "api_key": R,
        "route": "/login",
        "redaction.allowed.count": "1",
    }
    # setup() left the collector nothing to mask.
    assert "redaction.masked.count" not in json.dumps(spans(stack, service) + logs(stack, service))


def test_setup_app_secret_is_nowhere_in_files_jaeger_or_prometheus(
    stack: RunningStack, app_service: tuple[str, int]
) -> None:
    """None of the app's secrets is in any JSON file, Jaeger's traces of the service, or any
    Prometheus label value; the metric's label reads [REDACTED] in Prometheus."""
    service, _port = app_service
    find_span(stack, service, "GET /boom", **{"http.route": "/boom"})

    query = f'astra_e2e_logins_total{{service_name="{service}"}}'
    series = wait_for(
        lambda: prometheus_query(stack, query), "the app's counter in Prometheus", timeout=60
    )
    assert [s["metric"]["api_key"] for s in series] == [R]
    wait_for_jaeger(stack, service)
    assert_no_secret_anywhere(stack, [service])


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
