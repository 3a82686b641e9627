"""The setup issue's "stock configuration", shared by the benchmarks that compare with it:
the OpenTelemetry SDK with its defaults, wired by hand (batch span processor, periodic
metric reader every 15 s, batch log processor, the SDK's ``LoggingHandler`` on the root
logger). The caller picks the OTLP exporters (HTTP or gRPC)."""

# Imports inside the function: only the process that runs the stock mode loads the SDK.
# ruff: noqa: PLC0415

from __future__ import annotations

from typing import Any


def wire_stock(service_name: str, spans: Any, metrics_exporter: Any, logs: Any) -> None:
    """Install the stock providers globally, exporting through the given exporters."""
    import logging
    import warnings

    from opentelemetry import _logs, metrics, trace
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": service_name})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(metrics_exporter, export_interval_millis=15_000)
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[reader]))
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs))
    _logs.set_logger_provider(logger_provider)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))
    logging.getLogger().setLevel(logging.INFO)
