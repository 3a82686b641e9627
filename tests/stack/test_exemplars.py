"""Prometheus exemplars turned into viewer links (`astra-otel stack exemplars`)."""

from __future__ import annotations

import pytest

from astra_otel.stack.errors import StackError
from astra_otel.stack.exemplars import fetch_exemplars, parse_exemplars, trace_url

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


def _series(name: str, route: str, *exemplars: tuple[float, float, dict[str, str]]) -> dict:
    return {
        "seriesLabels": {"__name__": name, "http_route": route, "le": "0.5"},
        "exemplars": [
            {"labels": labels, "value": str(value), "timestamp": ts}
            for value, ts, labels in exemplars
        ],
    }


def test_trace_url_follows_the_documented_pattern() -> None:
    """`/traces/<trace id>` (lowercase hex), `?span=<span id>` when a span is given."""
    base = "http://127.0.0.1:18000"
    assert trace_url(base, TRACE.upper()) == f"{base}/traces/{TRACE}"
    assert trace_url(base, TRACE, SPAN) == f"{base}/traces/{TRACE}?span={SPAN}"


def test_exemplars_are_sorted_slowest_first_and_need_a_trace_id() -> None:
    """Exemplars without a trace_id are left out; the rest come slowest first (newest first
    among equals), with the histogram's name and route."""
    payload = {
        "status": "success",
        "data": [
            _series(
                "http_server_request_duration_seconds_bucket",
                "/a",
                (0.2, 100.0, {"trace_id": TRACE, "span_id": SPAN}),
                (0.9, 101.0, {"span_id": SPAN}),
            ),
            _series(
                "astra_model_inference_duration_seconds_bucket",
                "",
                (0.7, 99.0, {"trace_id": "1" * 32, "span_id": "2" * 16}),
                (0.7, 102.0, {"trace_id": "3" * 32}),
            ),
        ],
    }
    found = parse_exemplars(payload)
    assert [(e.value, e.trace_id, e.span_id) for e in found] == [
        (0.7, "3" * 32, ""),
        (0.7, "1" * 32, "2" * 16),
        (0.2, TRACE, SPAN),
    ]
    assert found[-1].metric == "http_server_request_duration_seconds_bucket"
    assert found[-1].route == "/a"
    assert parse_exemplars({"status": "success", "data": []}) == []


def test_unreachable_prometheus_is_a_stack_error() -> None:
    """No Prometheus at the address gives a StackError naming it (one line in the CLI)."""
    with pytest.raises(StackError, match=r"could not read exemplars from Prometheus at http"):
        fetch_exemplars("http://127.0.0.1:9", 5.0)
