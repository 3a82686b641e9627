"""OTLP requests no SDK would produce: invalid UTF-8 in string fields, a span with 100,000
attributes, values nested 10,000 deep. Built as protobuf bytes by hand where the protobuf
library refuses (it will not serialise invalid UTF-8, nor nest that deep), from the field
numbers of opentelemetry-proto.
"""

from __future__ import annotations

import os
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = [
    "BAD",
    "deep_kvlist",
    "field",
    "invalid_utf8_logs",
    "invalid_utf8_metrics",
    "invalid_utf8_spans",
    "log_request",
    "new_span",
    "span_request",
    "with_invalid_utf8",
]

BAD = b"\xff\xfe\xc3\x28"
"""Invalid UTF-8: two bytes that never start a character and a broken two-byte sequence."""
_MARK = "\x01\x02\x03\x04"  # as long as BAD, so swapping them keeps the protobuf framing


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def deep_kvlist(depth: int, key: str = "a") -> bytes:
    """An ``AnyValue`` that is a kvlist holding one kvlist ... ``depth`` levels deep."""
    value = field(1, b"leaf")  # string_value
    for _ in range(depth):  # bounded by depth
        key_value = field(1, key.encode()) + field(2, value)
        value = field(6, field(1, key_value))  # kvlist_value { values { ... } }
    return value


def span_request(
    service: str, span: Span, extra_attributes: tuple[tuple[str, bytes], ...] = ()
) -> bytes:
    """An ExportTraceServiceRequest with ``span`` (plus attributes given as raw AnyValue
    bytes, appended to the span: a repeated field may come in pieces)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.add(key="service.name", value=AnyValue(string_value=service))
    raw_span = span.SerializeToString() + b"".join(
        field(9, field(1, k.encode()) + field(2, v)) for k, v in extra_attributes
    )
    scope = field(1, field(1, b"astra.faults.shapes"))  # InstrumentationScope{name}
    scope_spans = scope + field(2, raw_span)
    resource = rs.resource.SerializeToString()
    return field(1, field(1, resource) + field(2, scope_spans))


def log_request(service: str, body: bytes) -> bytes:
    """An ExportLogsServiceRequest with one log record whose body is ``body`` (raw AnyValue
    bytes)."""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.add(key="service.name", value=AnyValue(string_value=service))
    record = LogRecord(time_unix_nano=1, severity_text="INFO").SerializeToString()
    scope_logs = field(2, record + field(5, body))
    return field(1, field(1, rl.resource.SerializeToString()) + field(2, scope_logs))


def new_span(name: str, n: int = 1) -> Span:
    """A span with fresh random ids, starting now (Jaeger's searches look back from now)."""
    return Span(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=time.time_ns() + n,
        end_time_unix_nano=time.time_ns() + n + 1_000_000,
    )


def with_invalid_utf8(message: bytes) -> bytes:
    """``message`` with every marker string replaced by invalid UTF-8 of the same length."""
    return message.replace(_MARK.encode(), BAD)


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def invalid_utf8_spans(service: str) -> tuple[bytes, Span]:
    """A trace request with invalid UTF-8 in the scope name, span name, attribute key and
    value, status message, trace state, event name and event attribute, and a resource
    attribute; and the span (with the markers) for its ids."""
    span = new_span(f"bad-{_MARK}-name")
    span.attributes.extend([_kv(f"k{_MARK}", f"v{_MARK}"), _kv("plain", f"x{_MARK}y")])
    span.status.message = f"status {_MARK}"
    span.trace_state = f"k=v{_MARK}"
    event = span.events.add(name=f"event {_MARK}", time_unix_nano=span.start_time_unix_nano)
    event.attributes.append(_kv("ev", _MARK))
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", service), _kv("res", _MARK)])
    ss = rs.scope_spans.add()
    ss.scope.name = f"scope {_MARK}"
    ss.spans.append(span)
    return with_invalid_utf8(req.SerializeToString()), span


def invalid_utf8_logs(service: str) -> bytes:
    """A log request with invalid UTF-8 in the body, severity text, an attribute, and a
    map body's value."""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.append(_kv("service.name", service))
    scope = rl.scope_logs.add()
    record = scope.log_records.add(severity_text=f"WARN{_MARK}", time_unix_nano=1)
    record.body.string_value = f"body {_MARK}"
    record.attributes.append(_kv(f"a{_MARK}", _MARK))
    nested = scope.log_records.add(time_unix_nano=2)
    nested.body.kvlist_value.values.append(_kv("inner", _MARK))
    return with_invalid_utf8(req.SerializeToString())


def invalid_utf8_metrics(service: str, metric: str) -> bytes:
    """A gauge whose description, unit and data-point attribute carry invalid UTF-8."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.append(_kv("service.name", service))
    m = rm.scope_metrics.add().metrics.add(name=metric, description=f"d{_MARK}", unit="1")
    point = m.gauge.data_points.add(as_int=7, time_unix_nano=1_700_000_000_000_000_000)
    point.attributes.append(_kv("label", f"v{_MARK}"))
    return with_invalid_utf8(req.SerializeToString())
