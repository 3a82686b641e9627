"""astra_otel.setup() against the real stack: fork, idempotence, redaction, exit, disabled.

Each case runs a small program in a fresh Python process configured only through the
standard ``OTEL_*`` variables, exactly as a service would be, and then looks for what it
sent in Prometheus, Jaeger and the collector's JSON files.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests

from astra_otel._config.params import environ_snapshot

from _support import otlp_files
from _support.exit_timing import timed_exit
from _support.scripts import run_script
from _support.stack import RunningStack, wait_for

_poll = wait_for

pytestmark = pytest.mark.e2e

SECRET = f"top-secret-{uuid.uuid4().hex}"


def _env(stack: RunningStack, service: str, **extra: str) -> dict[str, str]:
    env = environ_snapshot()
    for key in list(env):
        if key.startswith(("OTEL_", "ASTRA_OTEL_")):
            del env[key]
    env.update(
        {
            "OTEL_SERVICE_NAME": service,
            "OTEL_EXPORTER_OTLP_ENDPOINT": stack.otlp_http,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "ASTRA_OTEL_ENVIRONMENT": "e2e",
        }
    )
    env.update(extra)
    return env


_attrs = otlp_files.attrs


def _spans(stack: RunningStack, service: str) -> list[dict[str, Any]]:
    return otlp_files.spans(stack.telemetry_dir, service)


def _logs(stack: RunningStack, service: str) -> list[dict[str, Any]]:
    return otlp_files.log_records(stack.telemetry_dir, service)


def _metric_names(stack: RunningStack, service: str) -> set[str]:
    entries = otlp_files.for_service(stack.telemetry_dir, "metrics", service)
    return {m["name"] for e in entries for s in e["scopeMetrics"] for m in s["metrics"]}


def _prom(stack: RunningStack, query: str) -> list[dict[str, Any]]:
    resp = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=5)
    resp.raise_for_status()
    result: list[dict[str, Any]] = resp.json()["data"]["result"]
    return result


def _service(case: str) -> str:
    return f"e2e-setup-{case}-{uuid.uuid4().hex[:8]}"


FORK = """
import os, time
import astra_otel
from opentelemetry import metrics
handle = astra_otel.setup()
counter = metrics.get_meter("astra.e2e").create_counter("astra.e2e.worker.jobs", unit="{job}")
children = []
for n in range(3):
    pid = os.fork()
    if pid == 0:
        counter.add(n + 1)
        time.sleep(2.5)  # at least two periodic exports
        handle.shutdown(5.0)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
"""


def test_forked_workers_report_distinct_instances_in_prometheus(stack: RunningStack) -> None:
    """Three forked workers appear in Prometheus as three service_instance_id series,
    each with its own count (nothing duplicated from the parent)."""
    service = _service("fork")
    run_script(FORK, _env(stack, service))
    query = f'astra_e2e_worker_jobs_total{{service_name="{service}"}}'

    def three() -> list[dict[str, Any]] | None:
        found = _prom(stack, query)
        return found if len(found) >= 3 else None

    found_in_file = _poll(
        lambda: _metric_names(stack, service) or None, "the workers' metrics in metrics.jsonl"
    )
    assert "astra.e2e.worker.jobs" in found_in_file
    deadline = time.monotonic() + 90.0
    series = three()
    while series is None and time.monotonic() < deadline:
        time.sleep(1.0)
        series = three()
    if series is None:
        anything = _prom(stack, f'{{service_name="{service}"}}')
        pytest.fail(f"no three series for {query}; Prometheus has {anything[:5]}")
    instances = {s["metric"]["service_instance_id"] for s in series}
    assert len(instances) == 3
    assert sorted(float(s["value"][1]) for s in series) == [1.0, 2.0, 3.0]


IDEMPOTENT = """
import logging, logging.config, sys
import astra_otel
from opentelemetry import trace
first = astra_otel.setup()
for _ in range(4):
    assert astra_otel.setup() is first
logging.basicConfig(level=logging.INFO)
with trace.get_tracer("astra.e2e").start_as_current_span("idempotent-op"):
    logging.getLogger("app").warning(sys.argv[1])
"""


def test_repeated_setup_sends_each_record_and_span_once(stack: RunningStack) -> None:
    """Five setup() calls and basicConfig: the collector gets one log record and one span."""
    service = _service("idem")
    marker = f"only-once-{uuid.uuid4().hex}"
    run_script(IDEMPOTENT, _env(stack, service), marker)
    records = _poll(lambda: _logs(stack, service) or None, "the log record")
    time.sleep(2.0)  # a duplicate would arrive in the same or the next batch
    records = _logs(stack, service)
    assert [r["body"]["stringValue"] for r in records] == [marker]
    assert records[0]["traceId"]
    assert [s["name"] for s in _spans(stack, service)] == ["idempotent-op"]


REDACT = """
import asyncio, logging, sys
import astra_otel
from astra_otel import InstrumentationOptions
astra_otel.setup(instrumentations=InstrumentationOptions(capture_headers=True))
import fastapi, httpx, redis, sqlalchemy
secret = sys.argv[1]
app = fastapi.FastAPI()

@app.get("/orders/{oid}")
def order(oid: int) -> dict[str, int]:
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f"SELECT 1 WHERE 'k' = '{secret}'"))
    client = redis.Redis.from_url(sys.argv[2])
    client.set("astra:e2e:session", secret)
    assert client.get("astra:e2e:session") == secret.encode()
    return {"id": oid}

async def call() -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        headers = {
            "Authorization": f"Bearer {secret}",
            "Cookie": f"session={secret}",
            "X-API-Key": secret,
            "X-Refresh-Token": secret,
            "Proxy-Authorization": f"Basic {secret}",
            "X-Trace-Me": "visible",
        }
        assert (await client.get("/orders/7", headers=headers)).status_code == 200

asyncio.run(call())
"""


def test_no_secret_reaches_any_json_file(stack: RunningStack) -> None:
    """With header capture on, secrets in headers, SQL literals and Redis values appear
    nowhere in the collector's traces/metrics/logs files; the span shows [REDACTED]."""
    service = _service("redact")
    run_script(REDACT, _env(stack, service), SECRET, stack.redis_url)

    def server_span() -> dict[str, Any] | None:
        for span in _spans(stack, service):
            if _attrs(span["attributes"]).get("http.route") == "/orders/{oid}":
                return span
        return None

    span = _poll(server_span, "the server span")
    attrs = _attrs(span["attributes"])
    assert attrs["http.request.header.authorization"] == ["[REDACTED]"]
    assert attrs["http.request.header.x_trace_me"] == ["visible"]
    systems = {
        _attrs(s["attributes"]).get("db.system.name") or _attrs(s["attributes"]).get("db.system")
        for s in _spans(stack, service)
    }
    assert {"redis", "sqlite"} <= systems
    _poll(lambda: _metric_names(stack, service) or None, "the service's metrics")
    for path in (stack.traces_file, stack.metrics_file, stack.logs_file):
        assert SECRET not in path.read_text(), f"secret found in {path.name}"


EXIT = """
import logging, sys, time
import astra_otel
from opentelemetry import metrics, trace
astra_otel.setup()
with trace.get_tracer("astra.e2e").start_as_current_span("last-request"):
    logging.getLogger("app").warning("last log line")
    metrics.get_meter("astra.e2e").create_counter("astra.e2e.last").add(1)
print("READY", time.monotonic(), flush=True)
"""


def test_exit_with_collector_down_is_bounded(stack: RunningStack) -> None:
    """Collector stopped: from its last line of work the process exits within the 2 s
    deadline plus 1 s."""
    service = _service("down")
    env = _env(
        stack,
        service,
        ASTRA_OTEL_SHUTDOWN_TIMEOUT="2",
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_BLRP_SCHEDULE_DELAY="60000",
        OTEL_METRIC_EXPORT_INTERVAL="60000",
    )
    stack.stack.stop("collector")
    try:
        elapsed = timed_exit(EXIT, env=env)
    finally:
        stack.stack.start("collector")
    assert elapsed < 2.0 + 1.0


def test_exit_with_collector_up_delivers_last_span_log_and_metric(stack: RunningStack) -> None:
    """Nothing flushed by hand, long batch delays: exit still delivers all three signals."""
    service = _service("up")
    env = _env(
        stack,
        service,
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_BLRP_SCHEDULE_DELAY="60000",
        OTEL_METRIC_EXPORT_INTERVAL="60000",
    )
    run_script(EXIT, env)
    spans = _poll(lambda: _spans(stack, service) or None, "the last span")
    assert [s["name"] for s in spans] == ["last-request"]
    logs = _poll(lambda: _logs(stack, service) or None, "the last log record")
    assert [r["body"]["stringValue"] for r in logs] == ["last log line"]
    assert logs[0]["traceId"] == spans[0]["traceId"]
    names = _poll(lambda: _metric_names(stack, service) or None, "the last metric")
    assert "astra.e2e.last" in names

    def in_jaeger() -> dict[str, Any] | None:
        resp = requests.get(f"{stack.jaeger_url}/api/traces/{spans[0]['traceId']}", timeout=5)
        return resp.json() if resp.status_code == 200 and resp.json().get("data") else None

    _poll(in_jaeger, "the last span in Jaeger")


DISABLED = """
import logging
import astra_otel
from opentelemetry import metrics, trace
handle = astra_otel.setup()
assert handle.enabled is False
with trace.get_tracer("astra.e2e").start_as_current_span("should-not-exist") as span:
    assert not span.is_recording()
    logging.getLogger("app").warning("should not be exported")
metrics.get_meter("astra.e2e").create_counter("astra.e2e.disabled").add(1)
"""


def test_disabled_mode_sends_nothing(stack: RunningStack) -> None:
    """OTEL_SDK_DISABLED=true: nothing from that service reaches the collector, while a
    service run after it (same stack) does arrive."""
    off = _service("off")
    run_script(DISABLED, _env(stack, off, OTEL_SDK_DISABLED="true"))
    on = _service("on")
    run_script(EXIT, _env(stack, on))
    _poll(lambda: _spans(stack, on) or None, "the enabled service's span")
    _poll(lambda: _logs(stack, on) or None, "the enabled service's log")
    assert _spans(stack, off) == []
    assert _logs(stack, off) == []
    assert _metric_names(stack, off) == set()


SELECTED = """
import logging
import astra_otel
from opentelemetry import metrics, trace
handle = astra_otel.setup()
providers = {
    "traces": handle.tracer_provider,
    "metrics": handle.meter_provider,
    "logs": handle.logger_provider,
}
print("NO_PROVIDER", ",".join(sorted(k for k, v in providers.items() if v is None)), flush=True)
with trace.get_tracer("astra.e2e").start_as_current_span("selected-request"):
    logging.getLogger("app").warning("selected log line")
    metrics.get_meter("astra.e2e").create_counter("astra.e2e.selected").add(1)
"""

_RECEIVED = {"traces": _spans, "logs": _logs, "metrics": _metric_names}


@pytest.mark.parametrize("signal", ["traces", "metrics", "logs"])
def test_exporter_none_sends_nothing_of_that_signal(stack: RunningStack, signal: str) -> None:
    """OTEL_<SIGNAL>_EXPORTER=none: the signal gets no SDK provider and nothing of it
    reaches the collector; the same process's two other signals do, and so does that
    signal from a service run after it."""
    off = _service(f"none-{signal}")
    proc = run_script(SELECTED, _env(stack, off, **{f"OTEL_{signal.upper()}_EXPORTER": "none"}))
    assert f"NO_PROVIDER {signal}\n" in proc.stdout
    for other, received in _RECEIVED.items():
        if other != signal:
            _poll(lambda r=received: r(stack, off) or None, f"the service's {other}")
    on = _service(f"some-{signal}")
    run_script(SELECTED, _env(stack, on))
    _poll(lambda: _RECEIVED[signal](stack, on) or None, f"the next service's {signal}")
    assert not _RECEIVED[signal](stack, off)


def test_otlp_and_console_exporters_both_get_the_span(stack: RunningStack) -> None:
    """OTEL_TRACES_EXPORTER=otlp,console: the span is printed as JSON on stdout and
    reaches the collector with the same trace id."""
    service = _service("tee")
    proc = run_script(SELECTED, _env(stack, service, OTEL_TRACES_EXPORTER="otlp,console"))
    printed = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert printed["name"] == "selected-request"
    spans = _poll(lambda: _spans(stack, service) or None, "the span at the collector")
    assert [s["name"] for s in spans] == ["selected-request"]
    assert "0x" + spans[0]["traceId"] == printed["context"]["trace_id"]
