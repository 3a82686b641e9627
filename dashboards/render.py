"""Turns a :class:`~.model.Dashboard` into the JSON model Grafana's schema (v36+) describes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from .model import Dashboard, Json, Panel, Query

__all__ = ["DS", "render", "write"]

DS: Json = {"type": "prometheus", "uid": "${datasource}"}
"""Every panel and query uses the dashboard's ``datasource`` variable."""


def _target(ref: str, query: Query) -> Json:
    return {
        "expr": query.expr,
        "refId": ref,
        "range": True,
        "exemplar": query.exemplar,
        "editorMode": "code",
        "legendFormat": query.legend,
        "datasource": DS,
    }


# Panel options by panel type: legends shown as tables with the last and max values, a
# shared tooltip; the rest is Grafana's defaults (the round-trip test fills them in).
_OPTIONS: dict[str, Json] = {
    "timeseries": {
        "legend": {
            "displayMode": "table",
            "placement": "bottom",
            "showLegend": True,
            "calcs": ["lastNotNull", "max"],
        },
        "tooltip": {"mode": "multi", "sort": "desc"},
    },
    "stat": {
        "reduceOptions": {"calcs": ["lastNotNull"]},
        "graphMode": "area",
        "colorMode": "value",
    },
    "state-timeline": {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
        "tooltip": {"mode": "single", "sort": "none"},
        "mergeValues": True,
        "showValue": "auto",
    },
}
_CUSTOM: dict[str, Json] = {
    "timeseries": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"},
    "stat": {},
    "state-timeline": {"lineWidth": 0, "fillOpacity": 70},
}


def _field_config(panel: Panel) -> Json:
    defaults: Json = {"unit": panel.unit, "min": 0, "custom": _CUSTOM[panel.kind]}
    if panel.max_value is not None:
        defaults["max"] = panel.max_value
    if panel.mappings:
        defaults["mappings"] = list(panel.mappings)
    return {"defaults": defaults, "overrides": []}


def _panel(panel: Panel, pid: int, x: int, y: int) -> Json:
    refs = "ABCDEFGH"
    return {
        "type": panel.kind,
        "transparent": False,
        "transformations": [],
        "options": _OPTIONS[panel.kind],
        "fieldConfig": _field_config(panel),
        "id": pid,
        "targets": [_target(refs[i], q) for i, q in enumerate(panel.queries)],
        "title": panel.title,
        "description": panel.description,
        "datasource": DS,
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
    }


def _variables(dash: Dashboard) -> list[Json]:
    variables: list[Json] = [
        {
            "type": "datasource",
            "name": "datasource",
            "label": "Data source",
            "query": "prometheus",
            "current": {"text": "Prometheus", "value": "astra-prometheus"},
            "hide": 0,
            "skipUrlSync": False,
        },
        _query_variable("service", "Service", dash.service_metric, "service_name"),
    ]
    variables.extend(
        _query_variable(v["name"], v["label"], v["metric"], v["label_name"])
        for v in dash.extra_variables
    )
    return variables


def _query_variable(name: str, label: str, metric: str, label_name: str) -> Json:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "query": f"label_values({metric}, {label_name})",
        "datasource": DS,
        "current": {"text": "All", "value": "$__all"},
        "multi": True,
        "includeAll": True,
        "allValue": ".+",
        "refresh": 2,
        "sort": 1,
        "hide": 0,
        "skipUrlSync": False,
    }


def render(dash: Dashboard) -> Json:
    """The dashboard's JSON model: rows of panels laid out left to right on 24 columns."""
    panels: list[Json] = []
    pid, y = 1, 0
    for row in dash.rows:
        panels.append(
            {
                "type": "row",
                "collapsed": False,
                "id": pid,
                "panels": [],
                "title": row.title,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
            }
        )
        pid, y, x = pid + 1, y + 1, 0
        for panel in row.panels:
            if x + panel.width > 24:
                x, y = 0, y + 8
            panels.append(_panel(panel, pid, x, y))
            pid, x = pid + 1, x + panel.width
        y += 8
    return {
        "uid": dash.uid,
        "title": dash.title,
        "description": dash.description,
        "tags": ["astra-otel"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "time": {"from": "now-30m", "to": "now"},
        "refresh": "10s",
        "schemaVersion": 39,
        "panels": panels,
        "templating": {"list": _variables(dash)},
        "annotations": {"list": []},
    }


def write(dashboards: Iterable[Dashboard], out_dir: Path) -> list[Path]:
    """Write each dashboard as ``<uid>.json`` under ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for dash in dashboards:
        path = out_dir / f"{dash.uid}.json"
        path.write_text(json.dumps(render(dash), indent=2) + "\n")
        paths.append(path)
    return paths
