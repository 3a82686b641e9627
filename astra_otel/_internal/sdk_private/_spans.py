"""Span and attribute fields, the Resource renewed in place, metric state after a fork."""

from __future__ import annotations

import importlib
import io
import threading
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan

from astra_otel._internal.sdk_private._registry import HOOKS, expect, hook

__all__ = [
    "attributes_dict",
    "detected_instance_id",
    "reset_metric_state",
    "set_resource_attributes",
    "span_fields",
    "span_origin",
    "with_fields",
]


# --- span fields, read without a property call each -----------------------------------------

_SPAN_FIELDS = (
    "context",
    "parent",
    "name",
    "kind",
    "start_time",
    "end_time",
    "attributes",
    "events",
    "links",
    "status",
)
_PRIVATE_FIELDS = attrgetter(*(f"_{f}" for f in _SPAN_FIELDS))
_PUBLIC_FIELDS = attrgetter(*_SPAN_FIELDS)
_PRIVATE_ORIGIN = attrgetter("_resource", "_instrumentation_scope")
_PUBLIC_ORIGIN = attrgetter("resource", "instrumentation_scope")


def _probe_span() -> ReadableSpan:
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.trace import Link, Status, StatusCode  # noqa: PLC0415

    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("astra-otel-probe", "1")
    with tracer.start_as_current_span("parent"):
        other = tracer.start_span("other")
        span: Any = tracer.start_span(
            "probe", attributes={"k": 1}, links=[Link(other.get_span_context(), {"l": "v"})]
        )
    span.add_event("e", {"x": True})
    span.set_status(Status(StatusCode.ERROR, "why"))
    span.end()
    other.end()
    result: ReadableSpan = span
    return result


@hook(
    "span-fields",
    "ReadableSpan._context/_parent/_name/... and _resource/_instrumentation_scope",
    "the spans' public properties (same bytes, a little more CPU per span)",
)
def _check_span_fields() -> None:
    span = _probe_span()
    fast, public = _PRIVATE_FIELDS(span), _PUBLIC_FIELDS(span)
    for name, a, b in zip(_SPAN_FIELDS, fast, public, strict=True):
        same = dict(a) == dict(b) if name == "attributes" else a == b or tuple(a) == tuple(b)
        expect(bool(same), f"_{name} differs from {name}")
    expect(_PRIVATE_ORIGIN(span) == _PUBLIC_ORIGIN(span), "_resource/_instrumentation_scope")


def span_fields() -> Callable[[ReadableSpan], tuple[Any, ...]]:
    """A reader of (context, parent, name, kind, start, end, attributes, events, links,
    status) for one span: the private attributes when they match the public ones."""
    return _PRIVATE_FIELDS if HOOKS["span-fields"].usable() else _PUBLIC_FIELDS


def span_origin() -> Callable[[ReadableSpan], tuple[Any, Any]]:
    """A reader of (resource, instrumentation scope) for one span."""
    return _PRIVATE_ORIGIN if HOOKS["span-fields"].usable() else _PUBLIC_ORIGIN


@hook(
    "attributes-dict",
    "BoundedAttributes._dict",
    "iterating BoundedAttributes through its public mapping (takes its lock per key)",
)
def _check_attributes_dict() -> None:
    attrs = BoundedAttributes(attributes={"a": 1, "b": "x"}, immutable=True)
    inner = attrs._dict
    expect(type(inner) is dict and inner == {"a": 1, "b": "x"}, "_dict is not the mapping")


def attributes_dict() -> Callable[[Any], Mapping[str, Any] | None]:
    """``f(attributes)``: the plain dict inside a ``BoundedAttributes`` (skipping its
    per-key locking), or the mapping as it is (a dict after redaction, or ``None``)."""
    if not HOOKS["attributes-dict"].usable():
        return _as_is

    def plain(attributes: Any) -> Mapping[str, Any] | None:
        if type(attributes) is BoundedAttributes:
            inner: Mapping[str, Any] = attributes._dict
            return inner
        return attributes  # type: ignore[no-any-return]

    return plain


def _as_is(attributes: Any) -> Any:
    return attributes


# The fields the redaction may rewrite, and the ReadableSpan constructor argument of each.
_WRITABLE = ("name", "attributes", "events", "links", "status")


@hook(
    "span-fields-write",
    "ReadableSpan._name/_attributes/_events/_links/_status (assigned)",
    "a public ReadableSpan copy of each span whose redacted fields changed",
)
def _check_span_fields_write() -> None:
    from opentelemetry.sdk.trace import Event  # noqa: PLC0415
    from opentelemetry.trace import Status, StatusCode  # noqa: PLC0415

    span: Any = _probe_span()
    new = {
        "name": "renamed",
        "attributes": {"k": "redacted"},
        "events": (Event("e2", {"x": False}, 1),),
        "links": (),
        "status": Status(StatusCode.ERROR, "redacted"),
    }
    for field, value in new.items():
        setattr(span, f"_{field}", value)
    expect(span.name == "renamed", "name did not change")
    expect(dict(span.attributes) == {"k": "redacted"}, "attributes did not change")
    expect([e.name for e in span.events] == ["e2"], "events did not change")
    expect(tuple(span.links) == (), "links did not change")
    expect(span.status.description == "redacted", "status did not change")


def with_fields(span: ReadableSpan, changes: Mapping[str, Any]) -> ReadableSpan:
    """``span`` with some of name, attributes, events, links and status replaced (in place
    when the SDK allows it, else a public copy)."""
    if HOOKS["span-fields-write"].usable():
        for field, value in changes.items():
            setattr(span, f"_{field}", value)  # plain mappings/sequences encode alike
        return span
    fields = {field: changes.get(field, getattr(span, field)) for field in _WRITABLE}
    fields["attributes"] = dict(fields["attributes"] or {})
    return ReadableSpan(
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        kind=span.kind,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
        **fields,
    )


# --- the Resource, renewed in place in a forked child ---------------------------------------


@hook(
    "resource-attributes-write",
    "Resource._attributes (assigned)",
    "leaving the resource as it is: a forked child keeps the parent's process.pid (and, "
    "before SDK 1.45, its service.instance.id)",
)
def _check_resource_write() -> None:
    resource = Resource({"a": 1})
    resource._attributes = BoundedAttributes(attributes={"a": 2}, immutable=True)
    expect(resource.attributes.get("a") == 2, "attributes did not change")
    expect(resource == Resource({"a": 2}), "equality ignores the new attributes")


def set_resource_attributes(resource: Resource, attributes: Mapping[str, Any]) -> bool:
    """Replace ``resource``'s attributes in place; ``False`` if this SDK does not allow it."""
    if not HOOKS["resource-attributes-write"].usable():
        return False
    resource._attributes = BoundedAttributes(attributes=attributes, immutable=True)
    return True


def detected_instance_id() -> str | None:
    """The SDK's own per-process ``service.instance.id`` (SDK >= 1.4x re-detects it in a
    forked child and merges it into each provider's resource), or ``None`` before that."""
    detector = getattr(
        importlib.import_module("opentelemetry.sdk.resources"),
        "ServiceInstanceIdResourceDetector",
        None,
    )
    if detector is None:
        return None
    value = detector().detect().attributes.get("service.instance.id")
    return str(value) if value else None


# --- metric state in a forked child -----------------------------------------------------------


def _lock_type() -> type:
    return type(threading.Lock())


@hook(
    "metrics-fork-reset",
    "PeriodicExportingMetricReader._export_lock, MeterProvider._measurement_consumer, "
    "its _lock and _reader_storages (_lock, _instrument_view_instrument_matches)",
    "the SDK's own fork handling: a forked child may report its parent's measurements "
    "again, and a fork during a metric export may stall the child's exports",
)
def _check_metrics_fork_reset() -> None:
    import math  # noqa: PLC0415

    from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
    from opentelemetry.sdk.metrics.export import (  # noqa: PLC0415
        ConsoleMetricExporter,
        InMemoryMetricReader,
        PeriodicExportingMetricReader,
    )

    periodic = PeriodicExportingMetricReader(
        ConsoleMetricExporter(out=io.StringIO()), export_interval_millis=math.inf
    )
    expect(isinstance(periodic._export_lock, _lock_type()), "_export_lock")
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader, periodic], shutdown_on_exit=False)
    counter = provider.get_meter("probe").create_counter("probe")
    counter.add(1)
    expect(_points(reader) == [1], "probe counter not collected")
    reset_metric_state(provider, [periodic], probed=True)
    counter.add(1)
    expect(_points(reader) == [1], "state survived the reset")


def _points(reader: Any) -> list[Any]:
    data = reader.get_metrics_data()
    return [
        p.value
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        for p in m.data.data_points
    ]


def reset_metric_state(provider: Any, readers: Sequence[Any], *, probed: bool = False) -> bool:
    """In a forked child: forget the parent's aggregations (nothing counted twice) and
    replace the locks a parent thread may have held at the fork. ``False`` if impossible.

    The SDK restarts the periodic reader's thread in a child but keeps its export lock; if
    the parent's reader was exporting at that moment the child would never export again.
    """
    if not probed and not HOOKS["metrics-fork-reset"].usable():
        return False
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: PLC0415

    for reader in readers:
        if isinstance(reader, PeriodicExportingMetricReader):
            reader._export_lock = threading.Lock()
    consumer = provider._measurement_consumer
    consumer._lock = threading.Lock()
    for storage in consumer._reader_storages.values():
        storage._lock = threading.RLock()
        storage._instrument_view_instrument_matches = {}
    return True
