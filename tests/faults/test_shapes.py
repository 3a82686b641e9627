"""Fault 10: shapes no SDK produces. The collector's transform/limits processor caps what it
stores (docs/faults.md, "Limits on shape"), and every line of the JSON files is valid UTF-8
JSON however bad the input:

* a span with 100,000 attributes keeps 128, and a 1 MB value keeps 16,384 bytes;
* a value nested 10,000 deep is replaced by a marker string (nesting up to 16 levels is
  kept as it came), so the line parses with Python's json at its default recursion limit;
* invalid UTF-8 in names, keys, values, bodies, descriptions and labels becomes U+FFFD.

A collector of its own, so that every line of its files was written for this module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from ._shapes import (
    deep_kvlist,
    invalid_utf8_logs,
    invalid_utf8_metrics,
    invalid_utf8_spans,
    log_request,
    new_span,
    span_request,
)
from ._support import jaeger_span_ids, second_stack, unique_service, wait_for_spans
from _support.jsonl import read_documents, signal_files
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

PROTOBUF = {"Content-Type": "application/x-protobuf"}
COUNT_LIMIT = 128
LENGTH_LIMIT = 16384
DEPTH_LIMIT = 16
TOO_DEEP = f"[astra-otel: nested deeper than {DEPTH_LIMIT} levels]"
FFFD3 = "\ufffd\ufffd\ufffd("  # what the collector makes of BAD: one U+FFFD per bad byte


@pytest.fixture(scope="module")
def shapes_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Jaeger and a collector whose files hold only this module's data."""
    with second_stack(tmp_path_factory.mktemp("shapes") / "state") as running:
        yield running


def _post(stack: RunningStack, signal: str, body: bytes) -> None:
    """Send ``body``; it must be accepted. A retryable refusal (503: the memory limiter
    has not yet freed what the previous test's huge request took) is sent again, as an SDK
    would, for at most 30 s."""
    deadline = time.monotonic() + 30
    while True:
        resp = requests.post(
            f"{stack.otlp_http}/v1/{signal}", data=body, headers=PROTOBUF, timeout=30
        )
        if resp.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert resp.status_code == 200, (resp.status_code, resp.content[:300])


def _records(stack: RunningStack, signal: str, service: str) -> list[dict[str, Any]]:
    """Spans, log records or metrics of ``service`` in the signal's file."""
    key, scopes, items = {
        "traces": ("resourceSpans", "scopeSpans", "spans"),
        "logs": ("resourceLogs", "scopeLogs", "logRecords"),
        "metrics": ("resourceMetrics", "scopeMetrics", "metrics"),
    }[signal]
    found = []
    for doc in read_documents(signal_files(stack.telemetry_dir, signal)).documents:
        for res in doc.get(key, []):
            names = [
                a["value"].get("stringValue")
                for a in res["resource"]["attributes"]
                if a["key"] == "service.name"
            ]
            if service in names:
                found.extend(item for scope in res[scopes] for item in scope[items])
    return found


def _attrs(record: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in record.get("attributes", [])}


def _complete_lines(path: Path) -> list[bytes]:
    """The lines of ``path`` the collector has finished (ended by a newline)."""
    return [line for line in path.read_bytes().split(b"\n")[:-1] if line.strip()]


def test_100k_attributes_are_capped(shapes_stack: RunningStack) -> None:
    """A span with a 1 MB attribute and 100,000 more is stored with 128 attributes, the
    long value cut to 16,384 bytes, in the file and in Jaeger."""
    stack = shapes_stack
    service = unique_service("many-attrs")
    span = new_span("many-attributes")
    span.attributes.append(KeyValue(key="big", value=AnyValue(string_value="x" * 1_000_000)))
    span.attributes.extend(
        KeyValue(key=f"k{i}", value=AnyValue(int_value=i)) for i in range(100_000)
    )
    _post(stack, "traces", span_request(service, span))
    [stored] = wait_for(lambda: _records(stack, "traces", service) or None, "the span", 30)
    attrs = _attrs(stored)
    assert len(attrs) == COUNT_LIMIT
    assert len(attrs["big"]["stringValue"]) == LENGTH_LIMIT
    wait_for_spans(stack, service, {span.span_id.hex()}, timeout=30)
    resp = requests.get(f"{stack.jaeger_url}/api/traces/{span.trace_id.hex()}", timeout=10)
    [jaeger_span] = resp.json()["data"][0]["spans"]
    tags = {t["key"]: t["value"] for t in jaeger_span["tags"]}
    assert len(tags) <= COUNT_LIMIT + 8  # Jaeger adds a few of its own (span.kind, ...)
    assert len(tags["big"]) == LENGTH_LIMIT


def test_deep_nesting_is_replaced_and_16_levels_kept(shapes_stack: RunningStack) -> None:
    """A value nested 10,000 deep (or 17) is stored as the marker string, with every other
    map or list of that record; one nested 16 deep is kept; the file's line parses with
    Python's json at its default recursion limit; Jaeger holds the span."""
    stack = shapes_stack
    service = unique_service("deep")
    bomb, kept, edge = new_span("too-deep", 1), new_span("sixteen-deep", 2), new_span("edge", 3)
    body = b"".join(
        span_request(service, s, extra)
        for s, extra in (
            (bomb, (("deep", deep_kvlist(10_000)), ("shallow", deep_kvlist(2)))),
            (kept, (("nested", deep_kvlist(DEPTH_LIMIT)),)),
            (edge, (("nested", deep_kvlist(DEPTH_LIMIT + 1)),)),
        )
    )  # three resource_spans in one request: repeated fields concatenate
    _post(stack, "traces", body)

    def spans() -> dict[str, dict[str, Any]] | None:
        found = {s["name"]: s for s in _records(stack, "traces", service)}
        return found if len(found) == 3 else None

    stored = wait_for(spans, "the three spans", 30)
    assert _attrs(stored["too-deep"]) == {
        "deep": {"stringValue": TOO_DEEP},
        "shallow": {"stringValue": TOO_DEEP},
    }
    assert _attrs(stored["edge"]) == {"nested": {"stringValue": TOO_DEEP}}
    nested = _attrs(stored["sixteen-deep"])["nested"]
    for _ in range(DEPTH_LIMIT):
        [entry] = nested["kvlistValue"]["values"]
        nested = entry["value"]
    assert nested == {"stringValue": "leaf"}
    for line in _complete_lines(stack.traces_file):
        json.loads(line)  # no RecursionError
    ids = {s.span_id.hex() for s in (bomb, kept, edge)}
    wait_for_spans(stack, service, ids, timeout=30)


def test_deep_log_body_is_replaced(shapes_stack: RunningStack) -> None:
    """A log body nested 10,000 deep is stored as the marker string."""
    stack = shapes_stack
    service = unique_service("deep-body")
    _post(stack, "logs", log_request(service, deep_kvlist(10_000)))
    [stored] = wait_for(lambda: _records(stack, "logs", service) or None, "the log record", 30)
    assert stored["body"] == {"stringValue": TOO_DEEP}


def test_invalid_utf8_leaves_every_line_valid_json(shapes_stack: RunningStack) -> None:
    """Invalid UTF-8 in span, event, scope, resource, log and metric fields: each is stored
    with U+FFFD in its place; every line of the three files decodes as UTF-8 and parses as
    JSON; Jaeger holds the span; the Prometheus exporter serves the gauge."""
    stack = shapes_stack
    service = unique_service("utf8")
    traces, span = invalid_utf8_spans(service)
    _post(stack, "traces", traces)
    _post(stack, "logs", invalid_utf8_logs(service))
    _post(stack, "metrics", invalid_utf8_metrics(service, "astra.faults.bad_utf8"))
    [stored] = wait_for(lambda: _records(stack, "traces", service) or None, "the span", 30)
    assert stored["name"] == f"bad-{FFFD3}-name"
    assert _attrs(stored) == {
        f"k{FFFD3}": {"stringValue": f"v{FFFD3}"},
        "plain": {"stringValue": f"x{FFFD3}y"},
    }
    assert stored["status"]["message"] == f"status {FFFD3}"
    assert stored["events"][0]["name"] == f"event {FFFD3}"
    logs = wait_for(lambda: _records(stack, "logs", service) or None, "the log records", 30)
    assert logs[0]["body"] == {"stringValue": f"body {FFFD3}"}
    assert logs[0]["severityText"] == f"WARN{FFFD3}"
    # A map body with invalid UTF-8 inside is stored as its JSON text.
    assert json.loads(logs[1]["body"]["stringValue"]) == {"inner": FFFD3}
    wait_for(lambda: _records(stack, "metrics", service) or None, "the gauge", 30)
    for signal in ("traces", "logs", "metrics"):
        for line in _complete_lines(stack.telemetry_dir / f"{signal}.jsonl"):
            json.loads(line.decode("utf-8"))  # strict: raises on any invalid byte
    wait_for_spans(stack, service, {span.span_id.hex()}, timeout=30)
    assert span.span_id.hex() in jaeger_span_ids(stack, service)
    scrape = requests.get(stack.collector_metrics_url, timeout=10)
    assert scrape.status_code == 200
    assert f'label="v{FFFD3}"' in scrape.text
    log = stack.stack.components["collector"].log_file.read_text(errors="replace")
    assert "invalid UTF-8" not in log
    assert "panic" not in log
