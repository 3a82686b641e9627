"""OTLP ``ExportLogsServiceRequest`` bytes for a batch of log records, written directly.

Takes both kinds of queued item: an SDK ``ReadWriteLogRecord`` (emitted through the Logs
API) and the logging bridge's ``(logging.LogRecord, message, SpanContext)`` tuple, which is
encoded straight from the stdlib record without building an SDK record first. The message
is the one the SDK's ``encode_logs`` would produce for the equivalent SDK record
(``tests/_internal/test_otlp_encoding.py``); see :mod:`astra_otel._internal.otlp_wire`.

Field numbers: ``opentelemetry/proto/logs/v1/logs.proto``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

from astra_otel._internal.otlp_wire import (
    LOG_NULLS,
    SPAN_NULLS,
    AttributeCache,
    ObjectCache,
    ResourceGroups,
    any_value,
    field_string,
    field_varint,
    length_prefixed,
    resource_bytes,
    scope_bytes,
    value_field,
)
from astra_otel._internal.sdk_private import ReadWriteLogRecord, attributes_dict

__all__ = ["BridgeItem", "LogEncoder"]

BridgeItem = tuple[logging.LogRecord, str, SpanContext]

_fixed64 = struct.Struct("<Q").pack
_fixed32 = struct.Struct("<I").pack


def _ids(trace_id: int, span_id: int, flags: int) -> list[bytes]:
    out = []
    if flags:
        out.append(b"\x45" + _fixed32(flags))  # flags 8, fixed32
    if trace_id:
        out.append(b"\x4a\x10" + trace_id.to_bytes(16, "big"))  # trace_id 9
    if span_id:
        out.append(b"\x52\x08" + span_id.to_bytes(8, "big"))  # span_id 10
    return out


def _body(body: Any) -> bytes:
    try:
        return value_field(b"\x2a", body, LOG_NULLS)
    except Exception:
        # The SDK's encoder raises here and the whole batch is lost; keep the record,
        # with the body's text.
        return value_field(b"\x2a", str(body))


def _as_is(body: Any) -> Any:
    return body


class LogEncoder:
    """Encodes log batches; one instance per export thread (its caches are not locked).

    ``resource`` is the one bridged records belong to; ``attributes_of`` and
    ``severity_of`` turn a stdlib record into its attributes and (number, text).
    ``sanitize(key, value)`` rewrites attribute values and ``body(b)`` record bodies before
    they are encoded (redaction).
    """

    def __init__(
        self,
        resource: Resource,
        attributes_of: Callable[[logging.LogRecord], dict[str, Any]],
        severity_of: Callable[[logging.LogRecord], tuple[int, str]],
        sanitize: Callable[[str, Any], Any] | None = None,
        body: Callable[[Any], Any] | None = None,
    ) -> None:
        self._resource = resource
        self._attributes_of = attributes_of
        self._severity_of = severity_of
        self._attrs = AttributeCache(sanitize=sanitize, nulls=LOG_NULLS)
        # Resources and scopes (redacted too).
        self._plain_attrs = AttributeCache(sanitize=sanitize, nulls=SPAN_NULLS)
        self._body = body or _as_is
        self._resources = ObjectCache(lambda r: resource_bytes(self._plain_attrs, r))
        self._scopes = ObjectCache(lambda s: scope_bytes(self._plain_attrs, s))
        self._bridge_scopes: dict[str, InstrumentationScope] = {}
        self._severities: dict[tuple[int, str], bytes] = {}
        self._plain = attributes_dict()

    def encode(self, batch: Sequence[BridgeItem | ReadWriteLogRecord]) -> bytes:
        """The serialized ``ExportLogsServiceRequest`` for ``batch``."""
        groups = ResourceGroups()
        for item in batch:
            if isinstance(item, tuple):
                record = item[0]
                scope = self._bridge_scopes.get(record.name)
                if scope is None:
                    scope = self._bridge_scopes[record.name] = InstrumentationScope(record.name)
                groups.add(self._resource, scope, self._bridged(item))
            else:
                groups.add(item.resource, item.instrumentation_scope or None, self._sdk(item))
        return groups.encode(self._resources, self._scopes)

    def _severity(self, record: logging.LogRecord) -> bytes:
        key = (record.levelno, record.levelname)
        encoded = self._severities.get(key)
        if encoded is None:
            number, text = self._severity_of(record)
            encoded = field_varint(b"\x10", number) + field_string(b"\x1a", text)
            self._severities[key] = encoded
        return encoded

    def _bridged(self, item: BridgeItem) -> bytes:
        record, message, ctx = item
        nanos = int(record.created * 1e9)
        stamp = b"\x09" + _fixed64(nanos) if nanos else b""  # proto3 omits a zero
        parts = [stamp, self._severity(record)]
        parts.append(b"\x2a" + length_prefixed(any_value(self._body(message))))
        parts += self._attrs.encode(b"\x32", self._attributes_of(record))
        parts += _ids(ctx.trace_id, ctx.span_id, int(ctx.trace_flags))
        if nanos:
            parts.append(b"\x59" + stamp[1:])  # observed when the bridge saw it
        return b"".join(parts)

    def _sdk(self, item: ReadWriteLogRecord) -> bytes:
        rec = item.log_record
        parts = []
        if rec.timestamp:
            parts.append(b"\x09" + _fixed64(rec.timestamp))
        severity = getattr(rec.severity_number, "value", None)
        if severity:
            parts.append(field_varint(b"\x10", severity))
        parts.append(field_string(b"\x1a", rec.severity_text or ""))
        parts.append(_body(self._body(rec.body)))
        parts += self._attrs.encode(b"\x32", self._plain(rec.attributes))
        parts.append(field_varint(b"\x38", item.dropped_attributes))
        parts += _ids(rec.trace_id or 0, rec.span_id or 0, int(rec.trace_flags or 0))
        if rec.observed_timestamp:
            parts.append(b"\x59" + _fixed64(rec.observed_timestamp))
        parts.append(field_string(b"\x62", rec.event_name or ""))
        return b"".join(parts)
