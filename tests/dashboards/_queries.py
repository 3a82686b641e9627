"""The PromQL in the dashboards and alert rules, as the tests need it.

Shared by the structure tests (no stack) and the live tests (real Prometheus).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "dashboards" / "grafana" / "dashboards"
RULES_DIR = REPO / "dashboards" / "prometheus"
RATE_INTERVAL = "1m"

# A metric name in a selector: followed by its label matchers, a range, a closing
# parenthesis or a comparison (label names in `by (...)` are removed before matching).
_SELECTOR = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)(?=\s*(?:\{|\[|==|\)))")
# Things that look like selectors but are not metric names.
_NOT_METRICS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel, with the dashboard's variables."""

    dashboard: str
    panel: str
    ref: str
    expr: str
    variables: tuple[dict[str, Any], ...]

    @property
    def id(self) -> str:
        """A readable test id: ``dashboard / panel / refId``."""
        return f"{self.dashboard}/{self.panel}/{self.ref}"

    def substituted(self, service: str) -> str:
        """The expression as Grafana sends it, for ``service`` and "All" elsewhere."""
        expr = self.expr.replace("$__rate_interval", RATE_INTERVAL)
        for variable in self.variables:
            if variable["type"] != "query":
                continue
            value = service if variable["name"] == "service" else variable["allValue"]
            expr = expr.replace(f"${variable['name']}", value)
        return expr


def dashboards() -> dict[str, dict[str, Any]]:
    """Every provisioned dashboard by uid."""
    loaded = (json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json")))
    return {d["uid"]: d for d in loaded}


def panel_queries() -> list[PanelQuery]:
    """Every target of every panel of every dashboard."""
    result = []
    for uid, dashboard in dashboards().items():
        variables = tuple(dashboard["templating"]["list"])
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                result.append(
                    PanelQuery(uid, panel["title"], target["refId"], target["expr"], variables)
                )
    return result


def rule_exprs() -> list[str]:
    """The expression of every alerting and recording rule."""
    exprs = []
    for path in sorted(RULES_DIR.glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            exprs.extend(str(rule["expr"]) for rule in group["rules"])
    return exprs


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` selects."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_groupings = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", without_strings)
    return {m for m in _SELECTOR.findall(without_groupings) if m not in _NOT_METRICS}
