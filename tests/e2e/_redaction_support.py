"""The redaction end-to-end tests' secret corpus and readers of what the stack stored.

Every secret is distinct and unique to the run, so finding one anywhere is a leak. Both
test modules search for every secret of both, whichever ran first.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import requests

from astra_otel._config.params import environ_snapshot
from astra_otel._internal.redaction_text import looks_like_card_number

from _support import otlp_files
from _support.otlp_files import attrs
from _support.stack import RunningStack, wait_for

R = "[REDACTED]"  # setup()'s mask
M = "****"  # the collector's redaction processor mask
RUN = uuid.uuid4().hex[:10]
PIPELINE_HEALTH = (
    Path(__file__).resolve().parents[2] / "dashboards/grafana/dashboards/astra-pipeline-health.json"
)


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


def clean_environ() -> dict[str, str]:
    """This process' environment without any OTEL_* or ASTRA_* setting."""
    return {k: v for k, v in environ_snapshot().items() if not k.startswith(("OTEL_", "ASTRA_"))}


def spans(stack: RunningStack, service: str) -> list[dict[str, Any]]:
    """Every span of ``service`` in the JSON files."""
    return otlp_files.spans(stack.telemetry_dir, service)


def logs(stack: RunningStack, service: str) -> list[dict[str, Any]]:
    """Every log record of ``service`` in the JSON files."""
    return otlp_files.log_records(stack.telemetry_dir, service)


def points(stack: RunningStack, service: str, name: str) -> list[dict[str, Any]]:
    """The data points of ``service``'s sum metric ``name`` in the JSON files."""
    found = otlp_files.for_service(stack.telemetry_dir, "metrics", service)
    return [
        p
        for e in found
        for s in e["scopeMetrics"]
        for m in s["metrics"]
        if m["name"] == name
        for p in m["sum"]["dataPoints"]
    ]


def find_span(stack: RunningStack, service: str, name: str, **want: Any) -> dict[str, Any]:
    """The (first) span of ``service`` named ``name`` with these attribute values."""

    def find() -> dict[str, Any] | None:
        for span in spans(stack, service):
            got = attrs(span.get("attributes"))
            if span["name"] == name and all(got.get(k) == v for k, v in want.items()):
                return span
        return None

    return wait_for(find, f"span {name!r} {want} of {service}", timeout=60)


def find_log(stack: RunningStack, service: str, prefix: str) -> dict[str, Any]:
    """The (first) log record of ``service`` whose string body starts with ``prefix``."""

    def find() -> dict[str, Any] | None:
        for record in logs(stack, service):
            if record.get("body", {}).get("stringValue", "").startswith(prefix):
                return record
        return None

    return wait_for(find, f"log record {prefix!r} of {service}", timeout=60)


def jaeger_traces(stack: RunningStack, service: str) -> str:
    """Jaeger's API answer for the traces of ``service``, as text."""
    params: dict[str, str | int] = {"service": service, "limit": 100, "lookback": "1h"}
    response = requests.get(f"{stack.jaeger_url}/api/traces", params=params, timeout=10)
    response.raise_for_status()
    return response.text


def wait_for_jaeger(stack: RunningStack, service: str) -> None:
    """Returns once Jaeger has traces of ``service``."""
    wait_for(lambda: service in jaeger_traces(stack, service) or None, f"{service} in Jaeger")


def prometheus_query(stack: RunningStack, query: str) -> list[dict[str, Any]] | None:
    """The instant query's result series, or None when there are none."""
    resp = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=10)
    result: list[dict[str, Any]] = resp.json()["data"]["result"]
    return result or None


def pipeline_health_query(title: str, service: str) -> str:
    """The PromQL of the pipeline-health dashboard's panel ``title`` for ``service``, as
    Grafana sends it (a one-minute rate interval)."""
    dashboard = json.loads(PIPELINE_HEALTH.read_text())
    (expr,) = [t["expr"] for p in dashboard["panels"] if p["title"] == title for t in p["targets"]]
    return str(expr).replace("$service", service).replace("$__rate_interval", "1m")


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
    files |= {f"jaeger {s}": jaeger_traces(stack, s) for s in services}
    files["prometheus label values"] = _prometheus_label_values(stack)
    return files


def assert_no_secret_anywhere(stack: RunningStack, services: list[str]) -> None:
    """No secret of the corpus is in a JSON file, Jaeger's traces of ``services`` or a
    Prometheus label value."""
    leaks = [
        (where, secret)
        for where, text in _everything_stored(stack, services).items()
        for secret in EVERY_SECRET
        if secret in text
    ]
    assert leaks == []
