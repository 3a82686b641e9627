"""Fault 1: the collector is absent when a service starts and goes away again mid-run.

A FastAPI service wired by ``setup()`` (``_service.py``, its own process) serves a steady,
paced load throughout. Short phases with the collector down alternate with phases with it
up (down first: the service starts without a collector), so both states see the same
background load on this shared machine. The service answers every request, its p99
latency while the collector is down stays within 10 % of the p99 while it is up, its
memory stays bounded, and the spans it had to drop are counted in ``health()`` and, once
the collector is back, in Prometheus.

How p99 is measured: the collector's own start and stop are CPU bursts on the same cores
(and the service flushes its backlog into a collector that has just started), so the
first ``SETTLE_S`` of *every* phase, down or up alike, is left out of the latency sample;
those requests are still sent and must still succeed. Fourteen phases per state give
about 3,300 requests per state (p99 = roughly the 34th-largest value), which keeps the
ratio of two identical states within a few percent here (docs/faults.md). A burst of
someone else's work on this shared machine lasting one whole phase would still decide one
state's p99 on its own, so in each state the one phase with the highest p99 is set aside
(the same rule for both states) before the 10 % comparison; the untrimmed p99s must still
be within 2x of each other, which any stall caused by the exporter would break.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from ._support import prom_query
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

SERVICE = Path(__file__).with_name("_service.py")
RATE_RPS = 120.0
PHASE_S = 3.0
# The first second of every phase (both states) is load but not latency sample.
SETTLE_S = 1.0
# (collector up?, phase) in order: absent at start, then down and up again 13 more times.
PHASES = (False, True) * 14
MEASURED_PER_STATE = (PHASE_S - SETTLE_S) * RATE_RPS * len(PHASES) / 2
# The target: p99 with the collector down within 10 % of p99 with it up.
P99_RATIO_BOUND = 1.10
# Untrimmed (every phase): an export stalling requests costs far more than this.
P99_RATIO_BOUND_ALL_PHASES = 2.0
RSS_GROWTH_BOUND = 32 * 1024 * 1024


@dataclass
class Load:
    """Latencies (seconds, after each phase's settle window) per collector state, one list
    per phase, the slowest request of any phase, and non-200 answers."""

    latencies: dict[bool, list[list[float]]] = field(default_factory=lambda: {True: [], False: []})
    settling: int = 0
    slowest: float = 0.0
    failures: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _pooled(phases: list[list[float]], *, trim: bool) -> list[float]:
    """Every phase's latencies in one list; with ``trim``, without the phase whose own
    p99 is highest."""
    kept = list(phases)
    if trim and len(kept) > 1:
        kept.remove(max(kept, key=lambda phase: _quantile(phase, 0.99) if phase else 0.0))
    return [latency for phase in kept for latency in phase]


@pytest.fixture
def collector_down(stack: RunningStack) -> Iterator[RunningStack]:
    """The session stack with its collector stopped; started again afterwards."""
    stack.stack.stop("collector")
    yield stack
    stack.stack.start("collector")


@pytest.fixture
def service(collector_down: RunningStack, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The service process (started while the collector is absent): (base URL, name)."""
    name = f"fault-absent-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(SERVICE), str(port), collector_down.otlp_grpc, name],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool | None:
        if proc.poll() is not None:
            pytest.fail(f"service exited: {log.read_text()[-2000:]}")
        try:
            return requests.get(f"{url}/stats", timeout=1).ok or None
        except requests.RequestException:
            return None

    try:
        wait_for(ready, "the service to answer", 30)
        yield url, name
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _get(conn: http.client.HTTPConnection, path: str) -> str | None:
    """GET ``path`` on a keep-alive connection: ``None`` if answered 200, else what went
    wrong (the connection is then closed, and reopened by the next request)."""
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return type(exc).__name__
    return None if resp.status == 200 else str(resp.status)


def _drive(port: int, up: bool, load: Load) -> None:
    """Paced GET /work for one phase on a new keep-alive connection (plain ``http.client``:
    ``requests`` would add ~3 ms of client time to every sample): bounded by count and by
    time. Requests sent in the first ``SETTLE_S`` count for failures, not for latency."""
    interval = 1.0 / RATE_RPS
    start = time.monotonic()
    measured: list[float] = []
    load.latencies[up].append(measured)
    with closing(http.client.HTTPConnection("127.0.0.1", port, timeout=5)) as conn:
        for i in range(int(PHASE_S * RATE_RPS)):
            due = start + i * interval
            now = time.monotonic()
            if now - start > PHASE_S * 2:
                break
            if due > now:
                time.sleep(due - now)
            settling = time.monotonic() - start < SETTLE_S
            began = time.perf_counter()
            failure = _get(conn, "/work")
            latency = time.perf_counter() - began
            load.slowest = max(load.slowest, latency)
            if settling:
                load.settling += 1
            else:
                measured.append(latency)
            if failure is not None:
                load.failures.append(failure)


def _stats(url: str) -> dict[str, Any]:
    stats: dict[str, Any] = requests.get(f"{url}/stats", timeout=5).json()
    return stats


def test_service_keeps_serving_without_the_collector(
    collector_down: RunningStack, service: tuple[str, str]
) -> None:
    """Every request answered; p99 down within 10 % of p99 up (settle windows left out);
    RSS bounded; drops counted in health() and in Prometheus after the collector returns."""
    stack = collector_down
    url, name = service
    load = Load()
    rss_after_down: list[int] = []
    port = int(url.rsplit(":", 1)[1])
    for up in PHASES:
        if up:
            stack.stack.start("collector")
        else:
            stack.stack.stop("collector")
        _drive(port, up, load)
        if not up:
            rss_after_down.append(int(_stats(url)["rss"]))
    stack.stack.start("collector")

    assert load.failures == [], load.failures[:10]
    all_up = _pooled(load.latencies[True], trim=False)
    all_down = _pooled(load.latencies[False], trim=False)
    counts = (len(all_down), len(all_up))
    assert min(counts) >= 0.9 * MEASURED_PER_STATE, counts
    untrimmed = _quantile(all_down, 0.99) / _quantile(all_up, 0.99)
    when_up = _pooled(load.latencies[True], trim=True)
    when_down = _pooled(load.latencies[False], trim=True)
    p99_up, p99_down = _quantile(when_up, 0.99), _quantile(when_down, 0.99)
    quantiles = ", ".join(
        f"p{round(q * 100)} up {_quantile(when_up, q) * 1e3:.1f} ms "
        f"down {_quantile(when_down, q) * 1e3:.1f} ms"
        for q in (0.5, 0.95, 0.99)
    )
    sys.stderr.write(
        f"[faults] {counts[0]}/{counts[1]} requests down/up (+{load.settling} settling), "
        f"slowest {load.slowest * 1e3:.1f} ms; {quantiles}; "
        f"p99 down/up {p99_down / p99_up:.3f} (every phase: {untrimmed:.3f})\n"
    )
    assert p99_down <= P99_RATIO_BOUND * p99_up, (p99_down, p99_up)
    assert untrimmed <= P99_RATIO_BOUND_ALL_PHASES, untrimmed
    assert rss_after_down[-1] - rss_after_down[0] <= RSS_GROWTH_BOUND, rss_after_down

    traces = _stats(url)["health"]["traces"]
    assert traces["dropped"] > 0, traces
    assert traces["exported"] > 0, traces
    selector = (
        f'sum(astra_telemetry_dropped_total{{service_name="{name}",'
        f'astra_telemetry_signal="traces"}})'
    )

    def dropped_in_prometheus() -> float | None:
        result = prom_query(stack, selector)
        value = float(result[0]["value"][1]) if result else 0.0
        return value if value > 0 else None

    in_prometheus = wait_for(dropped_in_prometheus, "the drops in Prometheus", 45)
    assert in_prometheus <= _stats(url)["health"]["traces"]["dropped"]
