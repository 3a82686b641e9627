"""Faults 3 and 4: a backend goes away under load and comes back.

Jaeger down for 30 s: the collector's Jaeger exporter retries from its persistent queue,
so every span accepted during the outage is in Jaeger after it returns (count sent ==
count found). Prometheus down: the collector keeps exporting, the JSON file keeps every
data point, and Prometheus shows the metric again once it is back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ._support import SpanSource, manual_meter_provider, prom_query, unique_service, wait_for_spans
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

JAEGER_OUTAGE_S = 30.0
SPANS_PER_SEND = 50
SEND_EVERY_S = 0.25
PROM_OUTAGE_S = 12.0
POINT_EVERY_S = 0.5


@pytest.fixture
def restored(stack: RunningStack) -> Iterator[RunningStack]:
    """The session stack; a backend a test stopped is started again afterwards."""
    yield stack
    for name in ("jaeger", "prometheus"):
        stack.stack.start(name)


def test_every_span_sent_while_jaeger_is_down_reaches_it(restored: RunningStack) -> None:
    """Spans sent at a steady rate during a 30 s Jaeger outage are all in Jaeger after."""
    stack = restored
    stack.stack.stop("jaeger")
    source = SpanSource(stack.otlp_grpc, unique_service("jaeger-down"))
    try:
        start = time.monotonic()
        for _ in range(int(JAEGER_OUTAGE_S / SEND_EVERY_S)):  # bounded in count and time
            if time.monotonic() - start >= JAEGER_OUTAGE_S:
                break
            assert source.send(SPANS_PER_SEND), "the collector refused spans while Jaeger was down"
            time.sleep(SEND_EVERY_S)
        elapsed = time.monotonic() - start
    finally:
        source.close()
    sent = len(source.accepted)
    assert elapsed >= JAEGER_OUTAGE_S * 0.9
    assert sent >= SPANS_PER_SEND * 20
    stack.stack.start("jaeger")
    wait_for_spans(stack, source.service, set(source.accepted), timeout=90)


def _file_points(path: Any, service: str, metric: str) -> set[int]:
    """Values of ``metric``'s data points for ``service`` in the metrics JSON-lines file
    (and its rotated backups)."""
    values: set[int] = set()
    for file in sorted(path.parent.glob(f"{path.stem}*{path.suffix}")):
        for line in file.read_text().splitlines():
            for rm in json.loads(line).get("resourceMetrics", []):
                attrs = {
                    a["key"]: a["value"].get("stringValue") for a in rm["resource"]["attributes"]
                }
                if attrs.get("service.name") != service:
                    continue
                for sm in rm["scopeMetrics"]:
                    for m in sm["metrics"]:
                        if m["name"] == metric:
                            values.update(int(p["asInt"]) for p in m["sum"]["dataPoints"])
    return values


def test_metrics_resume_after_prometheus_returns(restored: RunningStack) -> None:
    """While Prometheus is down every export still lands in metrics.jsonl; afterwards
    Prometheus serves the metric's latest value again."""
    stack = restored
    service = unique_service("prom-down")
    provider = manual_meter_provider(stack.otlp_grpc, service)
    counter = provider.get_meter("astra.faults").create_counter("astra.fault.points")
    selector = f'astra_fault_points_total{{service_name="{service}"}}'
    exported = 0

    def export_one() -> None:
        nonlocal exported
        counter.add(1)
        assert provider.force_flush(10_000)
        exported += 1

    def prom_value() -> float | None:
        result = prom_query(stack, selector)
        return float(result[0]["value"][1]) if result else None

    try:
        export_one()
        wait_for(prom_value, "the metric in Prometheus before the outage", 30)
        stack.stack.stop("prometheus")
        start = time.monotonic()
        for _ in range(int(PROM_OUTAGE_S / POINT_EVERY_S)):  # bounded in count and time
            if time.monotonic() - start >= PROM_OUTAGE_S:
                break
            export_one()
            time.sleep(POINT_EVERY_S)
        stack.stack.start("prometheus")
        export_one()
    finally:
        provider.shutdown()
    wait_for(
        lambda: True if prom_value() == float(exported) else None,
        f"Prometheus to show the latest value {exported}",
        45,
    )
    expected = set(range(1, exported + 1))
    wait_for(
        lambda: (
            True
            if expected <= _file_points(stack.metrics_file, service, "astra.fault.points")
            else None
        ),
        f"all {exported} data points in {stack.metrics_file.name}",
        30,
    )
