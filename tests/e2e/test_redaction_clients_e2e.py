"""The collector masks the secrets of clients that do not use ``setup()``.

curl speaking OTLP/JSON and the SDK's own OTLP exporters send secrets straight to the
collector: none of them may reach a JSON file, Jaeger or a Prometheus label value, each
must arrive as the redaction processor's ``****`` with the count of what was masked, and
Prometheus counts the spans the collector redacted.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from typing import Any

import pytest

from ._redaction_support import (
    CLIENT_CARD,
    CLIENT_SECRETS,
    RUN,
    M,
    assert_no_secret_anywhere,
    clean_environ,
    find_log,
    find_span,
    pipeline_health_query,
    points,
    prometheus_query,
    wait_for_jaeger,
)
from _support.otlp_files import attrs
from _support.scripts import run_script
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

# A traceback as a service's own SDK writes it, ending with the exception's message.
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/login.py", line 12, in login\n'
    "    raise ValueError(message)\n"
    "ValueError: login failed: "
)

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
try:
    raise ValueError(f"login failed: password={S['exception']}")
except ValueError as exc:
    span.record_exception(exc)
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
                    _kv("exception.message", f"login failed: password={s['exception']}"),
                    _kv("exception.stacktrace", f"{TRACEBACK}password={s['exception']}\n"),
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
    run_script(SDK_CLIENT, clean_environ(), json.dumps(secrets), stack.otlp_http, names["sdk"])
    return names


def test_clients_without_setup_are_masked_by_the_collector(
    stack: RunningStack, clients: dict[str, str]
) -> None:
    """What curl and the SDK's exporters sent arrives with each secret masked (****) and the
    count of masked values on the span, event, log record and metric point; names that
    only look sensitive (token_count, author) keep their values."""
    curl = find_span(stack, clients["curl"], "GET /orders")
    got = attrs(curl.get("attributes"))
    assert got["authorization"] == M
    assert got["password"] == M
    assert got["url.query"] == f"{M}&page=2"
    assert got["url.full"] == f"https{M}shop.example/orders?{M}&x=1"
    assert got["payment.card"] == M
    assert (got["token_count"], got["author"]) == ("12", "alice")
    assert got["redaction.masked.count"] == "5"
    assert curl["status"]["message"] == M
    (event,) = curl["events"]
    assert attrs(event.get("attributes")) == {
        "exception.message": f"login failed: {M}",
        "exception.stacktrace": f"{TRACEBACK}{M}\n",
        "redaction.masked.count": "2",
    }
    sdk = find_span(stack, clients["sdk"], "GET /orders")
    sdk_attrs = attrs(sdk.get("attributes"))
    assert sdk_attrs["http.request.header.authorization"] == M
    assert sdk_attrs["payment.note"] == f"card {M} charged"
    assert sdk_attrs["redaction.masked.count"] == "5"
    assert sdk["status"]["message"] == M
    (sdk_event,) = sdk["events"]
    event_attrs = attrs(sdk_event["attributes"])
    assert event_attrs["exception.message"] == f"login failed: {M}"
    # The SDK's record_exception() of a raised exception: a real traceback, masked too.
    assert event_attrs["exception.stacktrace"].startswith("Traceback (most recent call last):")
    assert event_attrs["exception.stacktrace"].endswith(f"ValueError: login failed: {M}\n")
    assert event_attrs["redaction.masked.count"] == "2"  # message and stack trace
    for service in clients.values():
        record = attrs(find_log(stack, service, "sent ")["attributes"])
        assert record["password"] == M
        point = wait_for(
            lambda s=service: (
                points(stack, s, "curl.logins" if "curl" in s else "sdk.logins") or None
            ),
            f"the metric point of {service}",
        )[0]
        assert attrs(point.get("attributes"))["api_key"] == M
    body = find_log(stack, clients["curl"], "sent ")["body"]["stringValue"]
    assert body == f"sent {M} upstream for order 77 at 12:30"


def test_client_secrets_are_nowhere_and_the_redactions_are_counted(
    stack: RunningStack, clients: dict[str, str]
) -> None:
    """No client secret is in the files, Jaeger or Prometheus; Prometheus counts the spans
    the collector redacted per service, and marks the metric series whose label it masked
    (the pipeline-health dashboard's two redaction panels)."""
    for service in clients.values():
        find_span(stack, service, "GET /orders")

        # The connector reports a new series as 0 first, then its count (so that
        # Prometheus' rate() sees the first increment).
        query = f'astra_redaction_calls_total{{service_name="{service}"}} > 0'
        series = wait_for(
            lambda q=query: prometheus_query(stack, q),
            f"{service}'s redacted spans in Prometheus",
            timeout=60,
        )
        assert [s["metric"]["redaction_masked_count"] for s in series] == ["5"]
        assert [float(s["value"][1]) for s in series] == [1.0], series
        # What the dashboard's two redaction panels show for this client.
        spans_panel = pipeline_health_query("Spans the collector had to redact", service)
        rates = wait_for(
            lambda q=spans_panel: prometheus_query(stack, f"({q}) > 0"),
            f"{service} on the redacted-spans panel",
            timeout=60,
        )
        assert [s["metric"]["service_name"] for s in rates] == [service]
        series_panel = pipeline_health_query("Metric series with masked labels", service)
        counts = wait_for(
            lambda q=series_panel: prometheus_query(stack, q),
            f"{service} on the masked-series panel",
            timeout=60,
        )
        # One series: the client's logins counter, whose api_key label was masked.
        assert [(s["metric"]["service_name"], s["value"][1]) for s in counts] == [(service, "1")]
        wait_for_jaeger(stack, service)
    assert_no_secret_anywhere(stack, list(clients.values()))
