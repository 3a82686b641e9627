"""docs/catalogue.md's metric table matches the code's instrument definitions."""

from __future__ import annotations

from pathlib import Path

from astra_otel.catalogue import SPECS, prometheus_name

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalogue.md"
HEADER = "| OpenTelemetry name | Instrument | Unit | Attributes | Prometheus name |"


def _cells(line: str) -> list[str]:
    return [c.strip().replace("`", "") for c in line.strip().strip("|").split("|")]


def _table_rows() -> list[tuple[str, str, str, tuple[str, ...], str]]:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADER) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        name, kind, unit, attrs, prom = _cells(line)
        keys = tuple(a.strip() for a in attrs.split(",")) if attrs != "—" else ()
        rows.append((name, kind, unit, keys, prom))
    return rows


def test_doc_table_lists_exactly_the_code_instruments() -> None:
    """Every row of the doc table equals one instrument definition, in order, and vice versa."""
    expected = [(s.name, s.kind.value, s.unit, s.attributes, prometheus_name(s)) for s in SPECS]
    assert _table_rows() == expected


def test_doc_has_one_metric_table() -> None:
    """The catalogue page has exactly one metric table, so nobody edits a stale copy."""
    assert DOC.read_text(encoding="utf-8").count(HEADER) == 1
