"""Freshness with default settings: how long after a span ends Jaeger's API returns it, and
how long after a metric is recorded Prometheus returns it (p50/p95).

A child process (``benchmarks/bench_pipeline_emitter.py``) uses ``setup()`` with its
defaults (span schedule delay 1 s, metric export interval 15 s); the collector batches for
up to 1 s; Prometheus scrapes every 5 s. This process polls Jaeger (every 0.25 s) and
Prometheus (every 0.5 s) and notes when each span / each counter value first appears.
Target: spans p95 <= 3 s (no target for metrics in the issue; reported as measured).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import requests

from benchmarks.__main__ import Options, Result
from benchmarks.bench_pipeline_common import bench_stack, say
from tests._support.stack import RunningStack

SPAN_TARGET_P95_S = 3.0
SPAN_RATE = 10.0
SETTLE_S = 20.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _child(
    stack: RunningStack,
    mode: str,
    service: str,
    rate: float,
    seconds: float,
    *,
    env: dict[str, str] | None = None,
) -> Any:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_pipeline_emitter",
            mode,
            stack.otlp_http,
            service,
            str(rate),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _span_freshness(
    stack: RunningStack, seconds: float, env: dict[str, str] | None = None
) -> list[float]:
    service = f"bench-fresh-{uuid.uuid4().hex[:6]}"
    child = _child(stack, "ours", service, SPAN_RATE, seconds, env=env)
    first_seen: dict[str, float] = {}
    ends: dict[str, float] = {}
    deadline = time.monotonic() + seconds + SETTLE_S
    while time.monotonic() < deadline:  # bounded in time
        resp = requests.get(
            f"{stack.jaeger_url}/api/traces",
            params={"service": service, "limit": "5000", "lookback": "1h"},
            timeout=10,
        )
        now = time.time()
        if resp.status_code == 200:
            for trace in resp.json().get("data") or []:
                for span in trace["spans"]:
                    if span["spanID"] not in first_seen:
                        first_seen[span["spanID"]] = now
                        ends[span["spanID"]] = (span["startTime"] + span["duration"]) / 1e6
        if child.poll() is not None and len(first_seen) >= SPAN_RATE * seconds * 0.99:
            break
        time.sleep(0.25)
    child.communicate(timeout=60)
    return [first_seen[s] - ends[s] for s in first_seen]


def _prom_value(stack: RunningStack, service: str) -> float:
    resp = requests.get(
        f"{stack.prometheus_url}/api/v1/query",
        params={"query": f'sum(bench_freshness_total{{service_name="{service}"}})'},
        timeout=5,
    )
    result = resp.json()["data"]["result"] if resp.status_code == 200 else []
    return float(result[0]["value"][1]) if result else 0.0


def _metric_freshness(stack: RunningStack, seconds: float) -> list[float]:
    service = f"bench-fresh-m-{uuid.uuid4().hex[:6]}"
    rate = 1.0
    child = _child(stack, "metrics", service, rate, seconds)
    seen_at: list[tuple[float, float]] = []  # (time, value) whenever the value changed
    last = 0.0
    deadline = time.monotonic() + seconds + 40.0
    while time.monotonic() < deadline:  # bounded in time
        value = _prom_value(stack, service)
        if value != last:
            seen_at.append((time.time(), value))
            last = value
        if child.poll() is not None and value >= rate * seconds:
            break
        time.sleep(0.5)
    out, _ = child.communicate(timeout=60)
    times: list[float] = json.loads(out.strip().splitlines()[-1])["times"]
    delays = []
    for k, recorded in enumerate(times, start=1):
        visible = next((t for t, v in seen_at if v >= k), None)
        if visible is not None:
            delays.append(visible - recorded)
    return delays


def run(options: Options) -> list[Result]:
    """p50/p95 freshness of spans (Jaeger) and metrics (Prometheus) with defaults."""
    span_s = 20.0 if options.quick else 40.0
    metric_s = 30.0 if options.quick else 60.0
    with bench_stack(("jaeger", "collector", "prometheus")) as stack:
        spans = _span_freshness(stack, span_s)
        say(f"spans: {len(spans)}; p50 {_pct(spans, 0.5):.2f} s, p95 {_pct(spans, 0.95):.2f} s")
        fast = _span_freshness(stack, span_s, {"OTEL_BSP_SCHEDULE_DELAY": "1000"})
        say(f"spans, schedule delay 1 s: p50 {_pct(fast, 0.5):.2f} s, p95 {_pct(fast, 0.95):.2f} s")
        metrics = _metric_freshness(stack, metric_s)
        say(
            f"metrics: {len(metrics)} values seen; p50 {_pct(metrics, 0.5):.1f} s, "
            f"p95 {_pct(metrics, 0.95):.1f} s"
        )
    p95 = _pct(spans, 0.95)
    return [
        Result(
            "span freshness p95 (end -> Jaeger API), defaults",
            p95,
            SPAN_TARGET_P95_S,
            "s",
            p95 / SPAN_TARGET_P95_S,
            "≤ 1.00 (p95 ≤ 3 s)",
            p95 <= SPAN_TARGET_P95_S,
            f"p50 {statistics.median(spans):.2f} s over {len(spans)} spans at "
            f"{SPAN_RATE:.0f}/s; setup() default schedule delay 1 s + collector batch 1 s",
        ),
        Result(
            "span freshness p95, OTEL_BSP_SCHEDULE_DELAY=1000 (for comparison)",
            _pct(fast, 0.95),
            SPAN_TARGET_P95_S,
            "s",
            _pct(fast, 0.95) / SPAN_TARGET_P95_S,
            "≤ 1.00 (p95 ≤ 3 s)",
            _pct(fast, 0.95) <= SPAN_TARGET_P95_S,
            f"p50 {statistics.median(fast):.2f} s over {len(fast)} spans; not the default",
        ),
        Result(
            "metric freshness p95 (record -> Prometheus API), defaults",
            _pct(metrics, 0.95),
            _pct(metrics, 0.5),
            "s",
            _pct(metrics, 0.95) / max(_pct(metrics, 0.5), 1e-9),
            "reported (baseline column = p50)",
            True,
            f"{len(metrics)} counter values; export interval 15 s (setup() default) + "
            "collector batch 1 s + scrape 5 s",
        ),
    ]
