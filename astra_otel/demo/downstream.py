"""The downstream 'telemetry feed' the demo API calls over HTTP with ``requests``.

It serves batches of sensor readings per satellite; some are made anomalous on purpose
(and say so, so the detector's accuracy can be scored), and the chaos monkey makes it slow
or fail now and then.
"""

from __future__ import annotations

import asyncio
import random

import fastapi
from fastapi import FastAPI, HTTPException

from astra_otel.demo.reliability import ChaosMonkey

__all__ = ["create_downstream_app"]

READINGS = 24
ANOMALY_RATE = 0.15


def create_downstream_app(chaos: ChaosMonkey, *, rng: random.Random | None = None) -> FastAPI:
    """The telemetry-feed app: ``GET /telemetry/{satellite_id}`` and ``GET /healthz``."""
    app = fastapi.FastAPI(title="AstraGuard telemetry feed (demo downstream)")  # see app.py
    dice = rng or random.Random()  # noqa: S311  # simulation, not security

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        if chaos.should_inject():
            raise HTTPException(status_code=503, detail="feed unhealthy (injected)")
        return {"status": "ok"}

    @app.get("/telemetry/{satellite_id}")
    async def telemetry(satellite_id: str) -> dict[str, object]:
        if chaos.should_inject(weight=0.5):
            await asyncio.sleep(dice.uniform(0.02, 0.08))
        if chaos.should_inject():
            raise HTTPException(status_code=503, detail="feed overloaded (injected)")
        base = dice.uniform(10.0, 50.0)
        readings = [dice.gauss(base, 1.0) for _ in range(READINGS)]
        anomalous = dice.random() < ANOMALY_RATE
        if anomalous:
            readings[dice.randrange(READINGS)] += dice.choice((-1, 1)) * dice.uniform(4.0, 9.0)
        return {
            "satellite_id": satellite_id,
            "readings": readings,
            "injected_anomaly": anomalous,
        }

    return app
