"""OTLP-JSON entries per service in the collector's telemetry files (rotated ones too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .jsonl import read_documents, signal_files

__all__ = ["attrs", "for_service"]


def attrs(items: list[dict[str, Any]]) -> dict[str, Any]:
    """An OTLP-JSON attribute list as a plain dict (each value unwrapped)."""
    return {a["key"]: next(iter(a["value"].values())) for a in items}


def for_service(telemetry_dir: Path, signal: str, service: str) -> list[dict[str, Any]]:
    """The resource entries (``resourceSpans``/``resourceLogs``/``resourceMetrics``) of
    ``service`` in ``signal``'s files."""
    key = {"traces": "resourceSpans", "logs": "resourceLogs", "metrics": "resourceMetrics"}
    documents = read_documents(signal_files(telemetry_dir, signal)).documents
    return [
        entry
        for doc in documents
        for entry in doc.get(key[signal], [])
        if attrs(entry["resource"]["attributes"]).get("service.name") == service
    ]
