"""Demo AstraGuard service: a FastAPI API, its downstream feed and a bounded traffic
generator that exercise the whole telemetry catalogue. Run ``python -m astra_otel.demo``."""

from __future__ import annotations

from astra_otel.demo.app import DemoServices, create_app
from astra_otel.demo.server import DemoConfig, run

__all__ = ["DemoConfig", "DemoServices", "create_app", "run"]
