"""Every private OpenTelemetry name astra-otel touches (API, SDK, exporters, contrib), in one place.

The public API cannot do a few things the pipeline needs: send bytes we serialized
ourselves through the SDK's exporters, read span fields without a property call each,
re-arm SDK state in a forked child, re-install the API's globals after ``shutdown()``.
Each such use is a :class:`Hook`. ``setup()`` probes the hooks it is about to use, once
per process: the private name exists *and* behaves as this module expects on the
installed release. A hook whose probe fails is replaced by its public fallback, and one
warning (logger ``astra_otel._internal.sdk_private``) names the hook, the reason and the
fallback. Nothing outside this package names a private OpenTelemetry attribute or module.

The hooks live in the submodules by area; this package's names are the only way in.
The logs SDK only exists under private module names (``opentelemetry.sdk._logs``,
``opentelemetry._logs``, ``..._log_exporter``); those imports live here too.
"""

from __future__ import annotations

from astra_otel._internal.sdk_private._api import (
    ConsoleLogRecordExporter,
    Gauge,
    InMemoryLogRecordExporter,
    LoggerProvider,
    LogRecord,
    LogRecordExportResult,
    LogRecordProcessor,
    ReadableLogRecord,
    ReadWriteLogRecord,
    SeverityNumber,
    force_enabled,
    reset_api_globals,
    set_logger_provider,
    suppressed,
)
from astra_otel._internal.sdk_private._contrib import fastapi_native_settings, set_semconv_mode
from astra_otel._internal.sdk_private._exporters import (
    Delivery,
    grpc_exporter_class,
    http_exporter_class,
    sdk_grpc_class,
    sdk_http_class,
    watch_grpc_calls,
)
from astra_otel._internal.sdk_private._registry import HOOKS, Hook, probe, reset_probes
from astra_otel._internal.sdk_private._spans import (
    attributes_dict,
    detected_instance_id,
    reset_metric_state,
    set_resource_attributes,
    span_fields,
    span_origin,
    with_fields,
)

__all__ = [
    "HOOKS",
    "ConsoleLogRecordExporter",
    "Delivery",
    "Gauge",
    "Hook",
    "InMemoryLogRecordExporter",
    "LogRecord",
    "LogRecordExportResult",
    "LogRecordProcessor",
    "LoggerProvider",
    "ReadWriteLogRecord",
    "ReadableLogRecord",
    "SeverityNumber",
    "attributes_dict",
    "detected_instance_id",
    "fastapi_native_settings",
    "force_enabled",
    "grpc_exporter_class",
    "http_exporter_class",
    "probe",
    "reset_api_globals",
    "reset_metric_state",
    "reset_probes",
    "sdk_grpc_class",
    "sdk_http_class",
    "set_logger_provider",
    "set_resource_attributes",
    "set_semconv_mode",
    "span_fields",
    "span_origin",
    "suppressed",
    "watch_grpc_calls",
    "with_fields",
]
