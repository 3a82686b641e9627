"""The Grafana dashboards as code: they write dashboards/grafana/dashboards/<uid>.json.

Run ``.venv/bin/python -m dashboards`` (from the repository root) after changing a panel;
the JSON files are committed (Grafana provisioning reads them) and tests/dashboards/ checks
that they are exactly what this package writes, that they round-trip through the
grafana-foundation-sdk's typed models unchanged, and that every query returns data from
the live stack.

* :mod:`.model`: queries, panels, rows, dashboards (frozen dataclasses);
* :mod:`.metrics`: metric names, from the catalogue and the collector;
* :mod:`.promql`: the shared selectors and query shapes;
* one module per dashboard; :mod:`.render`: the JSON.

Every dashboard has a ``datasource`` variable (Prometheus) and a ``service`` variable
(``service_name`` label, see docs/architecture.md "Prometheus naming contract"); rates use
``$__rate_interval``. Latency panels ask for exemplars, which the provisioned Prometheus
datasource links to the Jaeger datasource (dashboards/grafana/provisioning/datasources/).
"""

from __future__ import annotations

from pathlib import Path

from .anomaly_detection import ANOMALY_DETECTION
from .model import Dashboard
from .pipeline_health import PIPELINE_HEALTH
from .reliability import RELIABILITY
from .render import render, write
from .service_health import SERVICE_HEALTH

__all__ = ["DASHBOARDS", "OUT_DIR", "render", "write_all"]

OUT_DIR = Path(__file__).resolve().parent / "grafana" / "dashboards"
DASHBOARDS: tuple[Dashboard, ...] = (
    SERVICE_HEALTH,
    RELIABILITY,
    ANOMALY_DETECTION,
    PIPELINE_HEALTH,
)


def write_all(out_dir: Path = OUT_DIR) -> list[Path]:
    """Write every dashboard as ``<uid>.json`` under ``out_dir``; return the paths."""
    return write(DASHBOARDS, out_dir)
