"""Prometheus exemplars as links into the viewer: the dashboards' exemplar links without Grafana.

The Grafana dashboards draw the latency histograms' exemplars as dots that open the trace
(compose.yaml). Debian's Prometheus 2.42 UI does not draw exemplars at all, so in the local
stack ``astra-otel stack exemplars`` lists the slowest recent ones of every duration
histogram, each with the viewer URL of its trace and span
(:data:`~astra_otel.stack.components.VIEWER_TRACE_PATH`).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from astra_otel.stack.components import VIEWER_TRACE_PATH
from astra_otel.stack.errors import StackError

__all__ = ["Exemplar", "fetch_exemplars", "parse_exemplars", "trace_url"]

# Every duration histogram's buckets (the latency panels' exemplars); sizes are left out so
# that "slowest" compares seconds with seconds.
_SELECTOR = '{__name__=~".+_seconds_bucket"%s}'


@dataclass(frozen=True)
class Exemplar:
    """One exemplar: the histogram it belongs to, the series' route (if any), its value
    (seconds) and the trace and span it was recorded in."""

    metric: str
    route: str
    value: float
    timestamp: float
    trace_id: str
    span_id: str


def trace_url(viewer_url: str, trace_id: str, span_id: str = "") -> str:
    """The viewer's page of one trace (with ``span_id`` selected, if given)."""
    path = VIEWER_TRACE_PATH.format(trace_id=urllib.parse.quote(trace_id.lower()))
    return f"{viewer_url}{path}" + (f"?span={urllib.parse.quote(span_id)}" if span_id else "")


def parse_exemplars(payload: Mapping[str, Any]) -> list[Exemplar]:
    """Exemplars with a trace id from a ``/api/v1/query_exemplars`` answer, slowest first."""
    found = []
    for series in payload.get("data") or []:
        labels = series.get("seriesLabels", {})
        for item in series.get("exemplars", []):
            tags = item.get("labels", {})
            trace_id = tags.get("trace_id", "")
            if not trace_id:
                continue
            found.append(
                Exemplar(
                    metric=str(labels.get("__name__", "")),
                    route=str(labels.get("http_route", "")),
                    value=float(item["value"]),
                    timestamp=float(item["timestamp"]),
                    trace_id=str(trace_id),
                    span_id=str(tags.get("span_id", "")),
                )
            )
    return sorted(found, key=lambda e: (-e.value, -e.timestamp))


def fetch_exemplars(
    prometheus_url: str, minutes: float, service: str | None = None
) -> list[Exemplar]:
    """The exemplars Prometheus kept over the last ``minutes``, slowest first."""
    matcher = f',service_name="{service}"' if service else ""
    now = time.time()
    query = urllib.parse.urlencode(
        {"query": _SELECTOR % matcher, "start": f"{now - minutes * 60:.3f}", "end": f"{now:.3f}"}
    )
    url = f"{prometheus_url}/api/v1/query_exemplars?{query}"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310  # loopback URL we built
            payload = json.load(resp)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        msg = f"could not read exemplars from Prometheus at {prometheus_url}: {exc}"
        raise StackError(msg) from exc
    return parse_exemplars(payload)
