"""OTLP-JSON entries per service in the collector's telemetry files (rotated ones too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .jsonl import read_documents, signal_files

__all__ = ["attrs", "for_service", "log_records", "spans"]


def attrs(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    """An OTLP-JSON attribute list (absent when empty) as a plain dict: each value
    unwrapped, an array as the list of its unwrapped values, an empty value as None."""
    out: dict[str, Any] = {}
    for item in items or []:
        wrapped: dict[str, Any] = item["value"]
        if "arrayValue" in wrapped:
            values = wrapped["arrayValue"].get("values", [])
            out[item["key"]] = [next(iter(v.values())) for v in values]
        else:
            out[item["key"]] = next(iter(wrapped.values()), None)
    return out


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


def spans(telemetry_dir: Path, service: str) -> list[dict[str, Any]]:
    """Every span of ``service`` in the trace files."""
    entries = for_service(telemetry_dir, "traces", service)
    return [sp for e in entries for s in e["scopeSpans"] for sp in s["spans"]]


def log_records(telemetry_dir: Path, service: str) -> list[dict[str, Any]]:
    """Every log record of ``service`` in the log files."""
    entries = for_service(telemetry_dir, "logs", service)
    return [r for e in entries for s in e["scopeLogs"] for r in s["logRecords"]]
