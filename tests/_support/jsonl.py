"""Reading the JSON-lines files the collector writes (``traces.jsonl``, ``metrics.jsonl``,
``logs.jsonl`` and their rotated backups), tolerating what a crash or a full disk leaves.

The collector's config keeps every complete line valid UTF-8 JSON (docs/faults.md,
"Valid files"). What it cannot prevent is a line cut short: the process killed in the middle
of a write, or a disk that filled up mid-line. The next write then lands on the same line.
:func:`read_documents` skips blank lines, splits two documents that ended up on one line,
and counts (instead of raising on) a fragment that is not a whole document. The request a
torn fragment belonged to is written again from the file sink's persistent queue, so its
data is normally in a later line.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["JsonLines", "read_documents", "signal_files", "span_id_counts", "span_ids"]

_DECODER = json.JSONDecoder()


@dataclass
class JsonLines:
    """The documents read from some JSON-lines files, and what could not be read."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    torn: int = 0
    """Fragments that were not a whole JSON object (cut short by a crash or a full disk)."""
    invalid_utf8_lines: int = 0
    """Lines that were not valid UTF-8 (read with replacement characters)."""
    unfinished: int = 0
    """Files whose last line had no newline yet (not read)."""


def signal_files(telemetry_dir: Path, signal: str) -> list[Path]:
    """``<signal>.jsonl`` and its rotated backups (``<signal>-<timestamp>.jsonl``), oldest
    first, the live file last."""
    backups = sorted(telemetry_dir.glob(f"{signal}-*.jsonl"))
    live = telemetry_dir / f"{signal}.jsonl"
    return [*backups, live] if live.exists() else backups


def _split(line: str) -> Iterator[dict[str, Any] | None]:
    """The JSON objects on one line; None for a fragment that is not one."""
    pos = 0
    while pos < len(line):
        start = line.find("{", pos)
        if start < 0:
            if line[pos:].strip():
                yield None
            return
        if line[pos:start].strip():
            yield None
        try:
            doc, end = _DECODER.raw_decode(line, start)
        except (ValueError, RecursionError):
            # A fragment: resynchronise on the next top-level document of this line.
            nxt = line.find('{"resource', start + 1)
            yield None
            if nxt < 0:
                return
            pos = nxt
            continue
        yield doc if isinstance(doc, dict) else None
        pos = end


def read_documents(paths: Iterable[Path]) -> JsonLines:
    """Every JSON document in ``paths`` (missing files are skipped)."""
    out = JsonLines()
    for path in paths:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            continue
        lines = raw.split(b"\n")
        for number, raw_line in enumerate(lines):
            if not raw_line.strip():
                continue
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError:
                line = raw_line.decode("utf-8", errors="replace")
                if number == len(lines) - 1:
                    out.unfinished += 1  # cut mid-character: still being written
                    continue
                out.invalid_utf8_lines += 1
            docs = list(_split(line))
            if number == len(lines) - 1 and None in docs:
                # No newline yet and not whole: a line still being written (or one a crash
                # cut short, which the next write continues). Not read now.
                out.unfinished += 1
                continue
            for doc in docs:
                if doc is None:
                    out.torn += 1
                else:
                    out.documents.append(doc)
    return out


def span_id_counts(documents: Iterable[dict[str, Any]], service: str | None = None) -> Counter[str]:
    """How often each span id (hex, as the file holds it) occurs in OTLP-JSON trace
    documents, optionally only those of one ``service.name``: more than once is a
    duplicate (the pipeline delivers at least once)."""
    ids: Counter[str] = Counter()
    for doc in documents:
        for rs in doc.get("resourceSpans", []):
            if service is not None:
                attrs = rs.get("resource", {}).get("attributes", [])
                names = [a["value"].get("stringValue") for a in attrs if a["key"] == "service.name"]
                if service not in names:
                    continue
            for ss in rs.get("scopeSpans", []):
                ids.update(span["spanId"] for span in ss.get("spans", []))
    return ids


def span_ids(documents: Iterable[dict[str, Any]], service: str | None = None) -> set[str]:
    """The distinct span ids of :func:`span_id_counts`."""
    return set(span_id_counts(documents, service))
