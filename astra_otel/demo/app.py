"""The demo AstraGuard API: a FastAPI app that exercises the whole telemetry catalogue.

``POST /api/v1/satellites/{satellite_id}/analyze`` reads the satellite's baseline from the
Redis memory engine, fetches fresh readings from the downstream feed with ``requests``
(retried), runs the anomaly detector behind a circuit breaker (with chaos faults), stores
the verdict through SQLAlchemy and counts the request in Redis. Every step is a span; the
catalogue's metrics and log events are recorded along the way.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import fastapi
import requests
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace

from astra_otel.catalogue import (
    Catalogue,
    dependency_call,
    get_catalogue,
    log_error,
    log_performance,
    log_recovery_action,
    log_request,
    recovery_action,
)
from astra_otel.demo.detector import Detector
from astra_otel.demo.reliability import ChaosFault, CircuitBreaker, CircuitOpenError, retry
from astra_otel.demo.storage import MemoryEngine, ResultStore

__all__ = ["ANALYZE_ROUTE", "DemoServices", "create_app"]

ANALYZE_ROUTE = "/api/v1/satellites/{satellite_id}/analyze"
FEED = "telemetry-feed"
# Failures the analyze endpoint turns into a 503 (counted and logged as errors).
_DEGRADED = (CircuitOpenError, ChaosFault, requests.RequestException)


@dataclass
class DemoServices:
    """What the API talks to; built by :mod:`astra_otel.demo.server` (or a test)."""

    memory: MemoryEngine
    store: ResultStore
    detector: Detector
    breaker: CircuitBreaker
    downstream_url: str
    catalogue: Catalogue | None = None
    feed_timeout: float = 2.0

    def cat(self) -> Catalogue:
        """The catalogue to record on."""
        return self.catalogue or get_catalogue()


def _trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""


def _route_of(request: Request) -> str | None:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def _fetch_readings(services: DemoServices, satellite_id: str) -> dict[str, Any]:
    url = f"{services.downstream_url}/telemetry/{satellite_id}"

    def once() -> dict[str, Any]:
        response = requests.get(url, timeout=services.feed_timeout)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    with dependency_call(FEED, catalogue=services.catalogue):
        return retry(
            f"{FEED}.fetch",
            once,
            retry_on=(requests.RequestException,),
            catalogue=services.catalogue,
        )


def _baseline(readings: list[float]) -> dict[str, float]:
    mean = sum(readings) / len(readings)
    return {"mean": mean, "min": min(readings), "max": max(readings)}


def _check(services: DemoServices, name: str, probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception:
        services.cat().record_health_check_failure(name)
        return "failing"
    return "ok"


def create_app(services: DemoServices) -> FastAPI:
    """The AstraGuard demo API bound to ``services``."""
    # Looked up at call time: setup() swaps in the instrumented FastAPI class, whose
    # middleware records body sizes too (FastAPI's built-in telemetry does not).
    app = fastapi.FastAPI(title="AstraGuard API (astra-otel demo)")

    @app.middleware("http")
    async def request_events(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = _route_of(request)
        if route != "/healthz":
            log_request(
                request.method,
                route or "unmatched",
                response.status_code,
                time.perf_counter() - start,
            )
        if route is None and response.status_code == 404:
            # Deliberately the raw path: an unbounded attribute the cardinality guard caps.
            services.cat().record_error("NotFound", request.url.path)
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(ANALYZE_ROUTE)
    def analyze(satellite_id: str) -> Response:
        start = time.perf_counter()
        try:
            baseline = services.memory.get(satellite_id)
            feed = _fetch_readings(services, satellite_id)
            readings = [float(r) for r in feed["readings"]]
            if baseline is None:
                baseline = _baseline(readings)
                services.memory.put(satellite_id, baseline)
            truth = bool(feed.get("injected_anomaly", False))
            detection = services.breaker.call(
                lambda: services.detector.detect(satellite_id, readings, truth)
            )
            result_id = services.store.add(
                satellite_id, detection.score, detection.severity, detection.anomaly
            )
            seen = services.memory.count_request(satellite_id)
        except _DEGRADED as exc:
            services.cat().record_error(type(exc).__name__, ANALYZE_ROUTE)
            log_error(exc, ANALYZE_ROUTE)
            return JSONResponse(
                {"error": type(exc).__name__, "detail": str(exc), "trace_id": _trace_id()},
                status_code=503,
            )
        log_performance("analyze", time.perf_counter() - start, readings=len(readings))
        return JSONResponse(
            {
                "id": result_id,
                "satellite_id": satellite_id,
                "score": round(detection.score, 4),
                "severity": detection.severity,
                "anomaly": detection.anomaly,
                "baseline": baseline,
                "requests_seen": seen,
                "trace_id": _trace_id(),
            }
        )

    @app.get("/api/v1/anomalies")
    def anomalies(limit: int = 20) -> dict[str, object]:
        rows = services.store.recent(max(1, min(limit, 100)), anomalies_only=True)
        return {
            "anomalies": [
                {
                    "id": r.id,
                    "satellite_id": r.satellite_id,
                    "score": r.score,
                    "severity": r.severity,
                    "created_at": r.created_at.isoformat(),
                }
                for r in rows
            ]
        }

    @app.get("/api/v1/health")
    def health() -> Response:
        def feed() -> None:
            requests.get(
                f"{services.downstream_url}/healthz", timeout=services.feed_timeout
            ).raise_for_status()

        checks = {
            "redis": _check(services, "redis", services.memory.ping),
            "database": _check(services, "database", services.store.ping),
            FEED: _check(services, FEED, feed),
            "anomaly-detector": "ok" if services.breaker.state == "closed" else "degraded",
        }
        failing = any(v == "failing" for v in checks.values())
        return JSONResponse({"checks": checks}, status_code=503 if failing else 200)

    @app.post("/api/v1/recovery/flush-cache")
    def flush_cache() -> dict[str, object]:
        start = time.perf_counter()
        with recovery_action("memory_engine.flush", catalogue=services.catalogue):
            dropped = services.memory.flush()
        log_recovery_action("memory_engine.flush", "success", time.perf_counter() - start)
        return {"dropped": dropped}

    return app
