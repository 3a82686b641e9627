"""API globals, ``OTEL_SDK_DISABLED``, instrumentation suppression, and the logs SDK names."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import context, trace
from opentelemetry._logs import _internal as _logs_api
from opentelemetry.metrics import _Gauge as Gauge
from opentelemetry.metrics import _internal as _metrics_api
from opentelemetry.sdk.resources import Resource
from opentelemetry.util._once import Once

from astra_otel._internal.sdk_private._registry import HOOKS, expect, hook

_LOGS_ERROR: ImportError | None = None
try:
    from opentelemetry._logs import LogRecord, SeverityNumber, set_logger_provider
    from opentelemetry.sdk._logs import (
        LoggerProvider,
        LogRecordProcessor,
        ReadableLogRecord,
        ReadWriteLogRecord,
    )
    from opentelemetry.sdk._logs.export import (
        ConsoleLogRecordExporter,
        InMemoryLogRecordExporter,
        LogRecordExportResult,
    )
except ImportError as exc:  # the logs SDK moved or renamed a class: logs are off (see below)
    _LOGS_ERROR = exc

    class _Unavailable:
        """Stands in for a logs class this OpenTelemetry release does not have."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise TypeError(f"OpenTelemetry logs are unavailable: {_LOGS_ERROR}")

    LogRecord = SeverityNumber = LoggerProvider = LogRecordProcessor = _Unavailable  # type: ignore[assignment,misc]
    ReadableLogRecord = ReadWriteLogRecord = InMemoryLogRecordExporter = _Unavailable  # type: ignore[assignment,misc]
    LogRecordExportResult = ConsoleLogRecordExporter = _Unavailable  # type: ignore[assignment,misc]
    set_logger_provider = _Unavailable  # type: ignore[assignment]

__all__ = [
    "ConsoleLogRecordExporter",
    "Gauge",
    "InMemoryLogRecordExporter",
    "LogRecord",
    "LogRecordExportResult",
    "LogRecordProcessor",
    "LoggerProvider",
    "ReadWriteLogRecord",
    "ReadableLogRecord",
    "SeverityNumber",
    "force_enabled",
    "reset_api_globals",
    "set_logger_provider",
    "suppressed",
]


# --- the API's set-once globals -----------------------------------------------------------

_GLOBALS = (
    (trace, "_TRACER_PROVIDER"),
    (_metrics_api, "_METER_PROVIDER"),
    (_logs_api, "_LOGGER_PROVIDER"),
)


@hook(
    "api-globals",
    "opentelemetry.trace/metrics/_logs _*_PROVIDER and _*_PROVIDER_SET_ONCE",
    "the API's set-once globals: a setup() after shutdown() cannot replace the first "
    "providers, so code using the global API keeps sending to them",
)
def _check_api_globals() -> None:
    for module, name in _GLOBALS:
        expect(isinstance(getattr(module, f"{name}_SET_ONCE"), Once), f"{name}_SET_ONCE")
        expect(hasattr(module, name), name)


def reset_api_globals() -> bool:
    """Return the three API globals to their unset state; ``False`` if that is impossible."""
    if not HOOKS["api-globals"].usable():
        return False
    for module, name in _GLOBALS:
        setattr(module, f"{name}_SET_ONCE", Once())
        setattr(module, name, None)
    return True


# --- OTEL_SDK_DISABLED, as read by each SDK provider ---------------------------------------


@hook(
    "sdk-disabled-flag",
    "the SDK providers' _disabled attribute",
    "the SDK's own reading of OTEL_SDK_DISABLED (setup(enabled=True) cannot override it)",
)
def _check_disabled_flag() -> None:
    from opentelemetry.sdk.metrics import Meter, MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace import Tracer, TracerProvider  # noqa: PLC0415

    made: list[tuple[Any, Callable[[Any], Any], type]] = [
        (TracerProvider(shutdown_on_exit=False), lambda p: p.get_tracer("probe"), Tracer),
        (MeterProvider(shutdown_on_exit=False), lambda p: p.get_meter("probe"), Meter),
    ]
    for provider, get, kind in made:
        expect(isinstance(provider._disabled, bool), f"{type(provider).__name__}._disabled")
        provider._disabled = True
        expect(not isinstance(get(provider), kind), "disabled provider still records")
        provider._disabled = False
        expect(isinstance(get(provider), kind), "enabled provider does not record")


def force_enabled(provider: Any) -> None:
    """Make an SDK provider record even if ``OTEL_SDK_DISABLED`` said otherwise (our
    resolved ``enabled`` setting, which an argument may override, is the one that counts)."""
    if HOOKS["sdk-disabled-flag"].usable():
        provider._disabled = False


# --- suppressing instrumentation inside exports -------------------------------------------


@hook(
    "suppress-key",
    "opentelemetry.context._SUPPRESS_INSTRUMENTATION_KEY",
    "opentelemetry.instrumentation.utils.suppress_instrumentation()",
)
def _check_suppress_key() -> None:
    key = context._SUPPRESS_INSTRUMENTATION_KEY
    expect(isinstance(key, str), "key is not a string")
    try:
        utils = importlib.import_module("opentelemetry.instrumentation.utils")
    except ImportError:
        return  # no contrib installed: nothing else reads the key
    token = context.attach(context.set_value(key, True))
    try:
        expect(not utils.is_instrumentation_enabled(), "contrib ignores the key")
    finally:
        context.detach(token)


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """Instrumentations stay silent inside (an exporter's own HTTP/gRPC calls)."""
    if HOOKS["suppress-key"].usable():
        token = context.attach(context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            yield
        finally:
            context.detach(token)
        return
    try:
        utils: Any = importlib.import_module("opentelemetry.instrumentation.utils")
    except ImportError:
        yield
        return
    with utils.suppress_instrumentation():
        yield


# --- the logs SDK (private module names on every release so far) ------------------------------


@hook(
    "logs-sdk",
    "opentelemetry._logs, opentelemetry.sdk._logs (LoggerProvider, LogRecordProcessor, "
    "ReadWriteLogRecord) and opentelemetry.sdk._logs.export",
    "no OpenTelemetry log pipeline (traces, metrics and the console log output still work)",
)
def _check_logs_sdk() -> None:
    if _LOGS_ERROR is not None:
        raise _LOGS_ERROR
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope  # noqa: PLC0415

    resource, scope = Resource({"a": 1}), InstrumentationScope("probe")
    record = ReadWriteLogRecord(
        log_record=LogRecord(body="b", severity_number=SeverityNumber.INFO, attributes={"k": 1}),
        resource=resource,
        instrumentation_scope=scope,
    )
    rec = record.log_record
    expect(rec.body == "b" and dict(rec.attributes or {}) == {"k": 1}, "log_record fields")
    expect(record.resource is resource and record.instrumentation_scope is scope, "origin")
    expect(record.dropped_attributes == 0, "dropped_attributes")
