"""The usual ``main.py`` of a FastAPI service, run by the server end-to-end tests under
uvicorn, ``uvicorn --workers`` and gunicorn with uvicorn workers (``--preload`` or not):
FastAPI imported first, then ``setup()`` (configured by ``OTEL_*`` variables), then the
app. ``GET /boom/{tag}`` raises; ``GET /last/{tag}`` logs a warning; ``GET /ok`` answers.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

import astra_otel

astra_otel.setup()
app = FastAPI()


@app.get("/ok")
async def ok() -> dict[str, bool]:
    """Readiness."""
    return {"ok": True}


@app.get("/boom/{tag}")
async def boom(tag: str) -> None:
    """An unhandled exception."""
    raise ValueError(f"order {tag} has no lines")


@app.get("/last/{tag}")
async def last(tag: str) -> dict[str, str]:
    """Logs one record inside its span (sent just before the server is stopped)."""
    logging.getLogger("app").warning("last request %s", tag)
    return {"tag": tag}
