"""What a dashboard is made of: queries, panels, rows and the dashboard itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Dashboard", "Json", "Panel", "Query", "Row"]

Json = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One PromQL target: the expression, its legend, and whether it asks for exemplars."""

    expr: str
    legend: str
    exemplar: bool = False


@dataclass(frozen=True)
class Panel:
    """One panel: a time series (default) or a stat, ``width`` of 24 grid columns."""

    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str
    width: int = 12
    kind: str = "timeseries"
    mappings: tuple[Json, ...] = ()
    max_value: float | None = None


@dataclass(frozen=True)
class Row:
    """A titled row of panels."""

    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    """One dashboard: its fixed uid, and the rows of panels under its variables.

    ``service_metric`` feeds the ``service`` variable's ``label_values``; each of
    ``extra_variables`` is a query variable given by ``name``, ``label``, ``metric`` and
    ``label_name``.
    """

    uid: str
    title: str
    description: str
    service_metric: str
    rows: tuple[Row, ...]
    extra_variables: tuple[Json, ...] = field(default=())
