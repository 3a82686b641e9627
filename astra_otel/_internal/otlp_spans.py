"""OTLP ``ExportTraceServiceRequest`` bytes for a batch of SDK spans, written directly.

Same message as the SDK's ``encode_spans(...).SerializeToString()`` (spans grouped by
resource, then scope; flags carry the parent's is-remote bits), at a fraction of the CPU:
see :mod:`astra_otel._internal.otlp_wire`. Span fields are read through the readers of
:mod:`astra_otel._internal.sdk_private` (the spans' private attributes where they match
the public properties, which its probe checks, else the properties).

Field numbers: ``opentelemetry/proto/trace/v1/trace.proto``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan

from astra_otel._internal import sdk_private
from astra_otel._internal.otlp_wire import (
    SPAN_NULLS,
    AttributeCache,
    ObjectCache,
    ResourceGroups,
    field_string,
    field_varint,
    length_prefixed,
    resource_bytes,
    scope_bytes,
)

__all__ = ["SpanEncoder", "status_field"]


_fixed64 = struct.Struct("<Q").pack
_fixed32 = struct.Struct("<I").pack

# SpanFlags: the context-has-is-remote bit, plus the is-remote bit for a remote parent.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
_FLAGS_LOCAL = b"\x85\x01" + _fixed32(_HAS_IS_REMOTE)  # field 16, fixed32
_FLAGS_REMOTE = b"\x85\x01" + _fixed32(_HAS_IS_REMOTE | _IS_REMOTE)
# SDK SpanKind INTERNAL=0..CONSUMER=4 -> OTLP SPAN_KIND_INTERNAL=1..CONSUMER=5 (field 6).
_KINDS = [b"\x30" + bytes((k + 1,)) for k in range(5)]


def _trace_state(span_context: Any) -> bytes:
    state = span_context.trace_state
    if not state:
        return b""
    return field_string(b"\x1a", ",".join(f"{k}={v}" for k, v in state.items()))


def _same(text: str) -> str:
    return text


def status_field(status: Any, text: Callable[[str], str] = _same) -> bytes:
    """The span's ``status`` field (15), tag included; ``None`` leaves it out.
    ``text`` rewrites the description (redaction)."""
    if status is None:
        return b""
    code = status.status_code._value_
    if not code and not status.description:
        return b"\x7a\x00"  # the SDK always sets the (empty) status message
    description = text(status.description) if status.description else ""
    body = field_string(b"\x12", description) + field_varint(b"\x18", code)
    return b"\x7a" + length_prefixed(body)


class SpanEncoder:
    """Encodes span batches; one instance per export thread (its caches are not locked).

    ``sanitize(key, value)`` rewrites attribute values before they are encoded and
    ``text(s)`` span names, event names and status descriptions (redaction; both cached
    with what they produce). Resource and scope attributes go through ``sanitize`` too.
    """

    def __init__(
        self,
        sanitize: Callable[[str, Any], Any] | None = None,
        text: Callable[[str], str] = _same,
    ) -> None:
        self._attrs = AttributeCache(sanitize=sanitize, nulls=SPAN_NULLS)
        self._text = text
        self._resources = ObjectCache(lambda r: resource_bytes(self._attrs, r))
        self._scopes = ObjectCache(lambda s: scope_bytes(self._attrs, s))
        self._names: dict[str, bytes] = {}
        self._fields = sdk_private.span_fields()
        self._origin = sdk_private.span_origin()
        self._plain = sdk_private.attributes_dict()

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        """The serialized ``ExportTraceServiceRequest`` for ``spans``."""
        groups = ResourceGroups()
        add = groups.add
        span_body = self._span
        origin = self._origin
        for span in spans:
            resource, scope = origin(span)
            add(resource, scope or None, span_body(span))
        return groups.encode(self._resources, self._scopes)

    def _name(self, name: str) -> bytes:
        encoded = self._names.get(name)
        if encoded is None:
            encoded = field_string(b"\x2a", self._text(name))
            if len(self._names) >= 4096:
                self._names.clear()
            self._names[name] = encoded
        return encoded

    def _span(self, span: ReadableSpan) -> bytes:
        ctx, parent, name, kind, start, end, attributes, events, links, status = self._fields(span)
        parts = [
            b"\x0a\x10",
            ctx.trace_id.to_bytes(16, "big"),
            b"\x12\x08",
            ctx.span_id.to_bytes(8, "big"),
        ]
        if ctx.trace_state:
            parts.append(_trace_state(ctx))
        if parent is not None:
            parts.append(b"\x22\x08")
            parts.append(parent.span_id.to_bytes(8, "big"))
        parts.append(self._name(name))
        parts.append(_KINDS[kind._value_])  # the stdlib Enum's value slot
        # proto3 omits a zero (or unset) timestamp, and so does the SDK's encoder.
        if start:
            parts.append(b"\x39" + _fixed64(start))
        if end:
            parts.append(b"\x41" + _fixed64(end))
        if type(attributes) is BoundedAttributes:
            parts += self._attrs.encode(b"\x4a", self._plain(attributes))
            if attributes.dropped:
                parts.append(field_varint(b"\x50", attributes.dropped))
        else:  # a plain mapping, None or a subclass (which may count drops)
            parts += self._attrs.encode(b"\x4a", attributes)
            parts.append(field_varint(b"\x50", span.dropped_attributes))
        if events:
            parts += self._events(events)
        # Written whenever non-zero: also when every event (link) was dropped.
        parts.append(field_varint(b"\x60", span.dropped_events))
        if links:
            parts += self._links(links)
        parts.append(field_varint(b"\x70", span.dropped_links))
        parts.append(status_field(status, self._text))
        parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
        return b"".join(parts)

    def _events(self, events: Sequence[Any]) -> list[bytes]:
        out = []
        for event in events:
            stamp = event.timestamp
            name = self._text(event.name)
            body = [b"\x09" + _fixed64(stamp) if stamp else b"", field_string(b"\x12", name)]
            body += self._attrs.encode(b"\x1a", self._plain(event.attributes))
            body.append(field_varint(b"\x20", event.dropped_attributes))
            out.append(b"\x5a")
            out.append(length_prefixed(b"".join(body)))
        return out

    def _links(self, links: Sequence[Any]) -> list[bytes]:
        out = []
        for link in links:
            ctx = link.context
            body = [
                b"\x0a\x10",
                ctx.trace_id.to_bytes(16, "big"),
                b"\x12\x08",
                ctx.span_id.to_bytes(8, "big"),
            ]
            body += self._attrs.encode(b"\x22", self._plain(link.attributes))
            body.append(field_varint(b"\x28", link.dropped_attributes))
            body.append(_FLAGS_LINK_REMOTE if ctx.is_remote else _FLAGS_LINK_LOCAL)
            out.append(b"\x6a")
            out.append(length_prefixed(b"".join(body)))
        return out


# Link.flags is field 6 (fixed32).
_FLAGS_LINK_LOCAL = b"\x35" + _fixed32(_HAS_IS_REMOTE)
_FLAGS_LINK_REMOTE = b"\x35" + _fixed32(_HAS_IS_REMOTE | _IS_REMOTE)
