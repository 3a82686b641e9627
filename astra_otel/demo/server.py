"""Run the demo: ``setup()``, the downstream feed, the API and the traffic generator.

Both apps run in this process under uvicorn (the downstream on a thread with its own event
loop, the API on the main thread, which owns SIGINT/SIGTERM). ``setup()`` runs before the
apps and the SQLAlchemy engine are created, so its instrumentations (FastAPI, requests,
Redis, SQLAlchemy) cover them. On exit the traffic stops, the downstream stops and the
telemetry is flushed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass

import uvicorn

from astra_otel import setup
from astra_otel.demo.app import DemoServices, create_app
from astra_otel.demo.detector import Detector
from astra_otel.demo.downstream import create_downstream_app
from astra_otel.demo.reliability import ChaosMonkey, CircuitBreaker
from astra_otel.demo.storage import MemoryEngine, ResultStore
from astra_otel.demo.traffic import TrafficGenerator

__all__ = ["DemoConfig", "build_services", "make_chaos", "make_server", "run", "start_in_thread"]

HOST = "127.0.0.1"
_ANY = ("0.0.0.0", "::")  # noqa: S104  # names of "all interfaces", compared, never bound here
SERVICE_NAME = "astraguard-api"
_log = logging.getLogger("astra_otel.demo")


@dataclass(frozen=True)
class DemoConfig:
    """Everything the demo's command line sets."""

    host: str = HOST  # bind address of both apps; 0.0.0.0 only inside a container
    port: int = 8000
    downstream_port: int = 8001
    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str = "sqlite:///astra-demo.db"
    traffic_rps: float = 5.0
    traffic_duration: float = 3600.0
    traffic_max_requests: int = 100_000
    service_name: str = SERVICE_NAME
    chaos: bool = True  # False: no injected faults (a calm demo, or a benchmark)


def _local(host: str) -> str:
    """The address this process reaches its own server bound to ``host`` at."""
    return HOST if host in _ANY else host


def make_chaos(config: DemoConfig) -> ChaosMonkey:
    """The fault injector: the default rates, or none at all with ``--no-chaos``."""
    return ChaosMonkey() if config.chaos else ChaosMonkey(base_rate=0.0, storm_rate=0.0)


def build_services(config: DemoConfig, chaos: ChaosMonkey) -> DemoServices:
    """The API's collaborators: Redis memory engine, SQL store, detector, breaker."""
    detector = Detector(chaos)
    return DemoServices(
        memory=MemoryEngine(config.redis_url),
        store=ResultStore(config.database_url),
        detector=detector,
        breaker=CircuitBreaker("anomaly-detector", recovery=detector.reload),
        downstream_url=f"http://{_local(config.host)}:{config.downstream_port}",
    )


def make_server(app: object, port: int, host: str = HOST) -> uvicorn.Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]  # an ASGI app
        host=host,
        port=port,
        log_config=None,  # keep setup()'s logging bridge; no uvicorn handlers
        access_log=False,  # requests are logged as astra.request events
        lifespan="off",
    )
    return uvicorn.Server(config)


def start_in_thread(server: uvicorn.Server, timeout: float = 15.0) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve()), name="astra-demo-downstream", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            msg = "the downstream service did not start"
            raise RuntimeError(msg)
        time.sleep(0.05)
    return thread


def run(config: DemoConfig) -> int:
    """Run the demo until SIGINT/SIGTERM; return the exit status."""
    telemetry = setup(service_name=config.service_name)
    chaos = make_chaos(config)
    services = build_services(config, chaos)
    downstream = make_server(create_downstream_app(chaos), config.downstream_port, config.host)
    api = make_server(create_app(services), config.port, config.host)
    traffic = TrafficGenerator(
        f"http://{_local(config.host)}:{config.port}",
        rps=config.traffic_rps,
        duration=config.traffic_duration,
        max_requests=config.traffic_max_requests,
    )
    downstream_thread = start_in_thread(downstream)
    try:
        traffic.start(wait_for_ready=30.0)
        _log.info(
            "demo API on http://%s:%d, downstream on :%d, traffic %.1f rps",
            config.host,
            config.port,
            config.downstream_port,
            config.traffic_rps,
        )
        api.run()
    finally:
        traffic.stop()
        downstream.should_exit = True
        downstream_thread.join(timeout=10.0)
        services.memory.close()
        services.store.close()
        telemetry.shutdown()
    return 0
