"""Metric pipeline: MeterProvider, periodic OTLP reader, optional Prometheus pull, self-metrics.

Cumulative temporality for every instrument, explicit-bucket histograms with boundaries
in seconds for instruments whose unit is ``s``, exemplars taken from the active sampled
span (``TraceBasedExemplarFilter``, passed explicitly). The pipeline's own health is
exported as ``astra.telemetry.*`` instruments (see :func:`register_self_metrics`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    TraceBasedExemplarFilter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

from astra_otel._config.settings import MetricsSettings
from astra_otel._internal import sdk_private
from astra_otel._internal.batching import SignalStats
from astra_otel._internal.exporters import ExporterSlot
from astra_otel._internal.redaction import DEFAULT, Redactor
from astra_otel.catalogue.instruments import DURATION_BUCKETS_S

__all__ = [
    "CUMULATIVE",
    "CountingMetricExporter",
    "NullMetricExporter",
    "build_meter_provider",
    "redacted_metrics",
    "register_self_metrics",
    "reset_metric_state_in_child",
    "start_prometheus_endpoint",
]

CUMULATIVE: dict[type, AggregationTemporality] = {
    kind: AggregationTemporality.CUMULATIVE
    for kind in (
        Counter,
        UpDownCounter,
        Histogram,
        ObservableCounter,
        ObservableUpDownCounter,
        ObservableGauge,
    )
}


def _data_points(data: MetricsData) -> int:
    return sum(
        len(metric.data.data_points)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    )


T = TypeVar("T")


def _each(obj: T, field: str, change: Callable[[Any], Any]) -> T:
    """``obj`` (a frozen SDK dataclass) with ``change`` applied to each item of ``field``;
    ``obj`` itself when no item changed."""
    items: Sequence[Any] = getattr(obj, field)
    new = [change(item) for item in items]
    if all(a is b for a, b in zip(new, items, strict=True)):
        return obj
    return dataclasses.replace(obj, **{field: new})  # type: ignore[type-var]  # SDK dataclasses


def redacted_metrics(data: MetricsData, redactor: Redactor) -> MetricsData:
    """``data`` with each data point's attributes redacted (only what changed is copied)."""

    def point(p: Any) -> Any:
        attrs = redactor.attributes(p.attributes)
        return p if attrs is None else dataclasses.replace(p, attributes=attrs)

    def metric(m: Any) -> Any:
        values = _each(m.data, "data_points", point)
        return m if values is m.data else dataclasses.replace(m, data=values)

    def scope(sm: Any) -> Any:
        return _each(sm, "metrics", metric)

    def resource(rm: Any) -> Any:
        return _each(rm, "scope_metrics", scope)

    return _each(data, "resource_metrics", resource)


class CountingMetricExporter(MetricExporter):
    """Delegates to the exporter in a slot, data point attributes redacted, and counts
    exported/failed data points."""

    def __init__(
        self, slot: ExporterSlot[Any], stats: SignalStats, redactor: Redactor = DEFAULT
    ) -> None:
        super().__init__(preferred_temporality=CUMULATIVE)
        self._slot = slot
        self._redactor = redactor
        self._stats = stats
        # Points of the collection being sent, and in which process (a forked child's
        # copy of a parent's export in flight is not its own).
        self._inflight = (0, 0)
        stats.queued = self._sending

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Export one collection; never raises."""
        if self._stats.dormant:
            return MetricExportResult.SUCCESS  # a pre-fork master sends nothing
        points = _data_points(metrics_data)
        self._inflight = (os.getpid(), points)
        try:
            clean = redacted_metrics(metrics_data, self._redactor)
            result = self._slot.get().export(clean, timeout_millis=timeout_millis)
        except Exception:
            result = MetricExportResult.FAILURE
        self._inflight = (0, 0)
        self._stats.count_export(points, result is MetricExportResult.SUCCESS)
        return result if isinstance(result, MetricExportResult) else MetricExportResult.FAILURE

    def _sending(self) -> int:
        pid, points = self._inflight
        return points if pid == os.getpid() else 0

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Nothing is buffered here."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Shut the wrapped exporter down."""
        self._slot.shutdown()


class NullMetricExporter(MetricExporter):
    """Accepts and discards (used when metric readers other than OTLP do the work)."""

    def __init__(self) -> None:
        super().__init__(preferred_temporality=CUMULATIVE)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Discard."""
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Nothing is buffered."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release."""


def build_meter_provider(
    settings: MetricsSettings,
    resource: Resource,
    readers: Iterable[MetricReader],
) -> MeterProvider:
    """MeterProvider with seconds histograms, trace-based exemplars and no atexit hook."""
    views = [
        View(
            instrument_type=Histogram,
            instrument_unit="s",
            aggregation=ExplicitBucketHistogramAggregation(boundaries=DURATION_BUCKETS_S),
        )
    ]
    return MeterProvider(
        metric_readers=list(readers),
        resource=resource,
        exemplar_filter=TraceBasedExemplarFilter(),
        shutdown_on_exit=False,
        views=views,
    )


def otlp_reader(settings: MetricsSettings, exporter: MetricExporter) -> MetricReader:
    """The periodic reader pushing to OTLP every ``export_interval`` seconds."""
    return PeriodicExportingMetricReader(
        exporter,
        export_interval_millis=max(settings.export_interval, 0.001) * 1000,
        export_timeout_millis=max(settings.export_timeout, 0.001) * 1000,
    )


def start_prometheus_endpoint(port: int) -> tuple[MetricReader, Any]:
    """A Prometheus pull endpoint bound to 127.0.0.1:``port``; returns (reader, server)."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader  # noqa: PLC0415  # optional/heavy, loaded on use
    from prometheus_client import start_http_server  # noqa: PLC0415  # optional/heavy, loaded on use

    reader = PrometheusMetricReader()
    server, _thread = start_http_server(port, addr="127.0.0.1")
    return reader, server


def register_self_metrics(meter: Meter, stats: Iterable[SignalStats]) -> None:
    """``astra.telemetry.{exported,dropped,queue.size}`` from the pipeline counters."""
    all_stats = list(stats)

    def exported(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(s.exported, {"astra.telemetry.signal": s.signal}) for s in all_stats]

    def dropped(_options: CallbackOptions) -> Iterable[Observation]:
        out: list[Observation] = []
        for s in all_stats:
            with s.lock:
                items = list(s.dropped.items())
            for reason in ("queue_full", "export_failed"):
                count = dict(items).get(reason, 0)
                attrs = {"astra.telemetry.signal": s.signal, "astra.telemetry.reason": reason}
                out.append(Observation(count, attrs))
        return out

    def queued(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(s.queued(), {"astra.telemetry.signal": s.signal}) for s in all_stats]

    meter.create_observable_counter(
        "astra.telemetry.exported",
        [exported],
        unit="{item}",
        description="Telemetry items exported successfully, per signal.",
    )
    meter.create_observable_counter(
        "astra.telemetry.dropped",
        [dropped],
        unit="{item}",
        description="Telemetry items lost, per signal and reason (queue_full, export_failed).",
    )
    meter.create_observable_gauge(
        "astra.telemetry.queue.size",
        [queued],
        unit="{item}",
        description="Telemetry items waiting in the export queue, per signal.",
    )


def reset_metric_state_in_child(provider: MeterProvider, readers: Iterable[MetricReader]) -> None:
    """In a forked child: forget the parent's aggregations so nothing is counted twice, and
    replace locks a parent thread may have held at the fork (private SDK state: see
    :func:`astra_otel._internal.sdk_private.reset_metric_state`)."""
    sdk_private.reset_metric_state(provider, list(readers))
