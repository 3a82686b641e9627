"""Log pipeline: LoggerProvider, drop-oldest batching and the stdlib ``logging`` bridge.

The bridge's ``emit`` does the least it can on the caller's thread: read the active span
context, render the message and append a tuple to the queue. Turning it into an
OpenTelemetry log record (attributes, severity, exception text) happens on the export
thread. Records from the SDK/exporter loggers, and anything logged on the export thread,
are never fed back into the bridge.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext

from astra_otel._config.settings import LogsSettings
from astra_otel._internal.batching import Batcher, QueueProcessorMixin, SignalStats
from astra_otel._internal.exceptions import escaped_from, exception_message
from astra_otel._internal.exporters import ExporterSlot
from astra_otel._internal.otlp_logs import LogEncoder
from astra_otel._internal.redaction import DEFAULT, Redactor
from astra_otel._internal.sdk_private import (
    LoggerProvider,
    LogRecord,
    LogRecordExportResult,
    LogRecordProcessor,
    ReadableLogRecord,
    ReadWriteLogRecord,
    SeverityNumber,
)
from astra_otel._internal.send_path import SendPath

__all__ = [
    "ACCESS_LOGGERS",
    "SERVER_LOGGERS",
    "BridgeHandler",
    "QueueLogProcessor",
    "build_logger_provider",
    "severity",
    "stop_point",
]

# Loggers whose records must never come back through the bridge (export loops).
EXCLUDED_LOGGERS = ("opentelemetry", "urllib3", "grpc", "requests", "astra_otel._internal")

# Web servers' own loggers, which stop propagating before the root logger (uvicorn's
# logging config, gunicorn's, and uvicorn's gunicorn worker all set propagate=False), so
# the bridge is attached where their records stop. Access logs only when asked for.
SERVER_LOGGERS = ("uvicorn.error", "gunicorn.error")
ACCESS_LOGGERS = ("uvicorn.access", "gunicorn.access")

_RESERVED = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)
_OTEL_TEXT = {"WARNING": "WARN", "CRITICAL": "FATAL"}

_Pending = tuple[logging.LogRecord, str, SpanContext]


def severity(levelno: int) -> SeverityNumber:
    """OpenTelemetry severity number for a stdlib level (DEBUG=5 ... CRITICAL=21)."""
    if levelno <= logging.NOTSET:
        return SeverityNumber.UNSPECIFIED
    bands = (
        (logging.DEBUG, 5),
        (logging.INFO, 9),
        (logging.WARNING, 13),
        (logging.ERROR, 17),
        (logging.CRITICAL, 21),
    )
    base_level, base_number = 0, 1
    for level, number in bands:
        if levelno < level:
            break
        base_level, base_number = level, number
    return SeverityNumber(min(base_number + min(levelno - base_level, 3), 24))


def _severity_of(record: logging.LogRecord) -> tuple[int, str]:
    return severity(record.levelno).value, _OTEL_TEXT.get(record.levelname, record.levelname)


def _attr_value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _attributes(record: logging.LogRecord) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "code.file.path": record.pathname,
        "code.function.name": record.funcName,
        "code.line.number": record.lineno,
    }
    if record.funcName is None:  # a record made by hand: no value (SDK < 1.43 drops None)
        del attrs["code.function.name"]
    for key, value in vars(record).items():
        if key not in _RESERVED and not key.startswith("_"):
            attrs[key] = _attr_value(value)
    if record.exc_info and record.exc_info[0] is not None:
        etype, evalue, _tb = record.exc_info
        attrs["exception.type"] = etype.__name__
        attrs["exception.message"] = exception_message(evalue)
        attrs["exception.stacktrace"] = "".join(traceback.format_exception(*record.exc_info))
    return attrs


class _Converter:
    """Turns a queued item into the SDK log record exporters get (on the export thread),
    redacted as the log encoder redacts."""

    def __init__(self, resource: Resource, redactor: Redactor = DEFAULT) -> None:
        self._resource = resource
        self._redactor = redactor
        self._scopes: dict[str, InstrumentationScope] = {}

    def __call__(self, item: _Pending | ReadWriteLogRecord) -> ReadWriteLogRecord:
        redactor = self._redactor
        if isinstance(item, ReadWriteLogRecord):
            return _redacted_record(item, redactor)
        record, message, span_context = item
        scope = self._scopes.get(record.name)
        if scope is None:
            scope = self._scopes[record.name] = InstrumentationScope(record.name)
        ctx = trace.set_span_in_context(NonRecordingSpan(span_context))
        stamp = int(record.created * 1e9)
        number, text = _severity_of(record)
        attributes = _attributes(record)
        api_record = LogRecord(
            timestamp=stamp,
            observed_timestamp=stamp,  # observed when the bridge saw it
            context=ctx,
            severity_text=text,
            severity_number=SeverityNumber(number),
            body=redactor.text(message),
            attributes=redactor.attributes(attributes) or attributes,
        )
        return ReadWriteLogRecord(
            log_record=api_record, resource=self._resource, instrumentation_scope=scope
        )


def _redacted_record(item: ReadWriteLogRecord, redactor: Redactor) -> ReadWriteLogRecord:
    """An API-emitted record with its body and attributes redacted (in place: it is ours
    once emitted; the SDK's limits and count of dropped attributes stay)."""
    rec = item.log_record
    body = redactor.body(rec.body)
    if body != rec.body:
        rec.body = body
    current = rec.attributes
    attrs = redactor.attributes(current)
    if attrs is not None and current is not None:
        try:  # the SDK's mutable BoundedAttributes
            for key, value in attrs.items():
                if value is not current[key]:
                    current[key] = value  # type: ignore[index]  # checked mutable at run time
        except TypeError:  # an immutable mapping
            rec.attributes = attrs
    return item


def _readable(record: ReadWriteLogRecord, resource: Resource) -> ReadableLogRecord:
    """The frozen record the SDK's processors hand to exporters (``to_json`` and all)."""
    return ReadableLogRecord(
        log_record=record.log_record,
        resource=record.resource if record.resource is not None else resource,
        instrumentation_scope=record.instrumentation_scope,
        limits=record.limits,
    )


class QueueLogProcessor(QueueProcessorMixin, LogRecordProcessor):
    """Appends records (API-emitted or bridged) to a drop-oldest queue; a thread exports."""

    def __init__(
        self,
        slot: ExporterSlot[Any],
        stats: SignalStats,
        resource: Resource,
        settings: LogsSettings,
        redactor: Redactor = DEFAULT,
    ) -> None:
        self._slot = slot
        self._resource = resource
        self._convert = _Converter(resource, redactor)
        self._encoder = LogEncoder(
            resource, _attributes, _severity_of, redactor.value, redactor.body
        )
        # The records the SDK's own processors export, for exporters that are not ours
        # (in-memory in tests, the console) and for any batch our path fails on.
        self._export = SendPath(
            what="log records",
            slot=slot,
            stats=stats,
            encode=lambda batch: self._encoder.encode(batch),  # noqa: PLW0108  # looked up late
            sdk_items=lambda batch: [_readable(self._convert(item), resource) for item in batch],
            success=LogRecordExportResult.SUCCESS,
        )
        self.batcher: Batcher[_Pending | ReadWriteLogRecord] = Batcher(
            name="astra-otel-logs",
            export=self._export,
            stats=stats,
            max_queue_size=settings.max_queue_size,
            max_export_batch_size=settings.max_export_batch_size,
            schedule_delay=settings.schedule_delay,
        )
        self.put = self.batcher.put

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Queue a record emitted through the OpenTelemetry Logs API."""
        self.put(log_record)


class BridgeHandler(logging.Handler):
    """Root-logger handler feeding stdlib records into the log pipeline."""

    def __init__(self, processor: QueueLogProcessor, level: int) -> None:
        super().__init__(level)
        self._processor = processor
        self._put = processor.put
        self._get_span = trace.get_current_span

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit without the per-handler lock: the queue is thread-safe."""
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Hot path: skip SDK loggers/export thread, then enqueue (message, span context)."""
        if record.name.startswith(EXCLUDED_LOGGERS):
            return
        if record.thread == self._processor.batcher.thread_ident:
            return
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        span_context = self._get_span().get_span_context()
        if not span_context.is_valid and record.exc_info:
            # Logged after the span ended (a server reporting an unhandled exception):
            # the request's trace, if the exception escaped from a server span.
            span_context = escaped_from(record.exc_info[1]) or span_context
        self._put((record, message, span_context))


def stop_point(name: str) -> logging.Logger | None:
    """The logger at which records of logger ``name`` stop propagating, or ``None`` when
    they reach the root logger (where the bridge already is)."""
    logger: logging.Logger | None = logging.getLogger(name)
    root = logging.getLogger()
    while logger is not None and logger is not root:
        if not logger.propagate:
            return logger
        logger = logger.parent
    return None


class JsonConsoleFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace_id, span_id."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as a single-line JSON object."""
        ctx = trace.get_current_span().get_span_context()
        out: dict[str, Any] = {
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": format(ctx.trace_id, "032x") if ctx.is_valid else None,
            "span_id": format(ctx.span_id, "016x") if ctx.is_valid else None,
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class TextConsoleFormatter(logging.Formatter):
    """Plain text with the trace and span ids appended."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render the record, then ``trace_id=… span_id=…`` when a span is active."""
        text = super().format(record)
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            text += f" trace_id={ctx.trace_id:032x} span_id={ctx.span_id:016x}"
        return text


JsonConsoleFormatter.converter = time.gmtime  # UTC timestamps


def console_handler(fmt: str) -> logging.Handler | None:
    """A stderr handler in the requested console format, or ``None`` for ``none``."""
    if fmt == "none":
        return None
    handler = logging.StreamHandler()
    handler.setFormatter(JsonConsoleFormatter() if fmt == "json" else TextConsoleFormatter())
    handler.addFilter(lambda r: not r.name.startswith(EXCLUDED_LOGGERS[:3]))
    return handler


def build_logger_provider(
    settings: LogsSettings,
    resource: Resource,
    slot: ExporterSlot[Any],
    stats: SignalStats,
    redactor: Redactor = DEFAULT,
) -> tuple[LoggerProvider, QueueLogProcessor]:
    """LoggerProvider with our processor; the SDK's own atexit hook is off."""
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    processor = QueueLogProcessor(slot, stats, resource, settings, redactor)
    provider.add_log_record_processor(processor)
    return provider, processor
