"""Cases where our encoders once differed from the SDK's: each now gives the SDK's bytes."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.sdk._logs import LoggerProvider, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, TraceFlags

from astra_otel._internal.logs import _attributes, _severity_of
from astra_otel._internal.otlp_logs import LogEncoder
from astra_otel._internal.otlp_spans import SpanEncoder
from astra_otel._internal.otlp_wire import Nulls, key_value, value_field

CTX = SpanContext(0xAB, 0xCD, is_remote=False, trace_flags=TraceFlags(1))
RESOURCE = Resource({"service.name": "parity"})


def _span(name: str, **kwargs: Any) -> ReadableSpan:
    kwargs.setdefault("context", CTX)
    kwargs.setdefault("resource", RESOURCE)
    kwargs.setdefault("start_time", 10)
    kwargs.setdefault("end_time", 20)
    return ReadableSpan(name, **kwargs)


def _assert_same_spans(encoder: SpanEncoder, batch: list[ReadableSpan]) -> None:
    assert encoder.encode(batch) == encode_spans(batch).SerializeToString()


def _assert_same_logs(encoder: LogEncoder, batch: list[ReadWriteLogRecord]) -> None:
    assert encoder.encode(batch) == encode_logs(batch).SerializeToString()


def _log_encoder() -> LogEncoder:
    return LogEncoder(Resource({}), _attributes, _severity_of)


def test_equal_but_separate_resources_share_one_group() -> None:
    """Spans of equal Resource objects are one ResourceSpans, as in the SDK's dict;
    unequal ones (1 vs True: different hashes) stay apart."""
    resources = [Resource({"service.name": "a"}) for _ in range(3)] + [
        Resource({"service.name": "b", "n": 1}),
        Resource({"service.name": "b", "n": True}),
        Resource({"service.name": "a"}, "https://schema/1"),
    ]
    batch = [_span(f"s{i}", resource=r) for i, r in enumerate(resources * 2)]
    _assert_same_spans(SpanEncoder(), batch)


def test_equal_but_separate_scopes_share_one_group() -> None:
    """Equal InstrumentationScope objects (as ``get_logger(name, attributes=...)`` makes)
    are merged, with the first one's attributes encoded, exactly as the SDK does."""
    scopes = [
        InstrumentationScope("lib", "1", "s", {"k": 1}),
        InstrumentationScope("lib", "1", "s", {"k": 1}),
        InstrumentationScope("lib", "1", "s", {"k": True}),  # equal to the first (1 == True)
        InstrumentationScope("lib", "1", "s", {"k": 2}),  # same hash, not equal
        InstrumentationScope("lib", "2"),
    ]
    resource = Resource({"service.name": "a"})
    batch = [
        _span(f"s{i}", resource=resource, instrumentation_scope=s) for i, s in enumerate(scopes)
    ]
    _assert_same_spans(SpanEncoder(), batch + batch[::-1])
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    for i in range(3):
        provider.get_logger("events", attributes={"tier": "x"}).emit(ApiLogRecord(body=i))
    records: list[ReadWriteLogRecord] = list(exporter.get_finished_logs())  # type: ignore[arg-type]
    assert len({id(r.instrumentation_scope) for r in records}) == 3
    _assert_same_logs(_log_encoder(), records)


@pytest.mark.parametrize(
    ("first", "then"),
    [(0.0, -0.0), (-0.0, 0.0), (1, True), (True, 1), (1, 1.0), (1.0, 1), (math.nan, math.nan)],
)
def test_equal_scalars_of_different_encodings_get_their_own_cache_entries(
    first: Any, then: Any
) -> None:
    """A value equal to a cached one (``-0.0 == 0.0``, ``True == 1 == 1.0``) is encoded as
    itself, in the same batch and in a later one through the warm cache."""
    encoder = SpanEncoder()
    one = _span("a", attributes={"v": first})
    two = _span("b", attributes={"v": then})
    _assert_same_spans(encoder, [one, two])
    _assert_same_spans(encoder, [two])
    _assert_same_spans(encoder, [one])
    logs = _log_encoder()
    records = [
        ReadWriteLogRecord(ApiLogRecord(body="x", attributes={"v": v})) for v in (first, then)
    ]
    _assert_same_logs(logs, records)
    _assert_same_logs(logs, records[1:])


def test_dropped_events_and_links_are_written_even_when_all_were_dropped() -> None:
    """With ``max_events=0``/``max_links=0`` the dropped counts still reach the wire."""
    exporter = InMemorySpanExporter()
    limits = SpanLimits(max_events=0, max_links=0, max_attributes=1)
    provider = TracerProvider(span_limits=limits, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("s", links=[Link(CTX), Link(CTX)], attributes={"a": 1}) as s:
        s.add_event("e1")
        s.add_event("e2", {"x": 1})
        s.set_attribute("b", 2)
    spans = list(exporter.get_finished_spans())
    assert spans[0].dropped_events == 2
    assert spans[0].dropped_links == 2
    _assert_same_spans(SpanEncoder(), spans)


def test_zero_timestamps_are_omitted() -> None:
    """Zero or unset span, event and log timestamps are left out as the SDK leaves them."""
    spans = [
        _span("zero", start_time=0, end_time=0, events=[Event("e", timestamp=0)]),
        _span("unset", start_time=None, end_time=None),
    ]
    _assert_same_spans(SpanEncoder(), spans)
    records = [ReadWriteLogRecord(ApiLogRecord(timestamp=0, observed_timestamp=0, body="b"))]
    records[0].log_record.observed_timestamp = 0  # the API fills in "now" for a falsy one
    _assert_same_logs(_log_encoder(), records)


class _StrRaises:
    def __str__(self) -> str:
        raise ValueError("cannot")


def test_an_unencodable_attribute_is_dropped_with_the_sdks_error_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The pair is left out, the rest kept, and the record is the SDK's: ERROR,
    ``Failed to encode key %s: %s`` with the key and the exception."""
    attrs = {"a": 1, "bad": _StrRaises(), "b": 2}
    with caplog.at_level(logging.ERROR):
        _assert_same_spans(SpanEncoder(), [_span("s", attributes=attrs)])
    ours = [r for r in caplog.records if r.name.startswith("astra_otel")]
    assert len(ours) == 1
    assert ours[0].levelno == logging.ERROR
    assert ours[0].msg == "Failed to encode key %s: %s"
    assert ours[0].args is not None
    assert ours[0].args[0] == "bad"
    assert isinstance(ours[0].args[1], Exception)


def test_bytearray_and_memoryview_bodies_are_arrays_as_in_the_sdk() -> None:
    """Only ``bytes`` is an OTLP bytes value; a ``bytearray`` is a sequence of ints."""
    records = [
        ReadWriteLogRecord(ApiLogRecord(body=b)) for b in (b"\x01\x02", bytearray(b"\x03"), [b"x"])
    ]
    _assert_same_logs(_log_encoder(), records)


def test_a_log_body_of_no_otlp_type_keeps_the_record_as_text() -> None:
    """Where the SDK's encoder raises (the batch is lost), the body is sent as its text."""
    stamps = {"timestamp": 5, "observed_timestamp": 6}
    record = ReadWriteLogRecord(ApiLogRecord(body={"when": object}, **stamps))
    with pytest.raises(Exception, match="Invalid type"):
        encode_logs([record])
    text = ReadWriteLogRecord(ApiLogRecord(body=str({"when": object}), **stamps))
    expected = encode_logs([text])
    assert _log_encoder().encode([record]) == expected.SerializeToString()


def test_none_follows_each_sdk_rule() -> None:
    """``None`` as SDK >= 1.43 writes it (an empty AnyValue), and as SDK 1.40-1.42 did:
    rejected in span, resource and scope attributes; in log records no value at all (an
    empty AnyValue as an array element). The SDK 1.40 encoder tests check the same bytes
    in the oldest supported set."""
    empty, omitted = AnyValue(), None
    with_none = {"list": [1, None], "map": {"inner": None}}
    assert key_value("k", None) == KeyValue(key="k", value=empty).SerializeToString()
    assert key_value("k", None, Nulls.OMIT) == KeyValue(key="k", value=omitted).SerializeToString()
    array = AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1), empty]))
    kvlist = AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="inner")]))
    assert key_value("list", with_none["list"], Nulls.OMIT) == (
        KeyValue(key="list", value=array).SerializeToString()
    )
    assert key_value("map", with_none["map"], Nulls.OMIT) == (
        KeyValue(key="map", value=kvlist).SerializeToString()
    )
    for value in (None, *with_none.values()):
        with pytest.raises(TypeError, match="Invalid type <class 'NoneType'> of value None"):
            key_value("k", value, Nulls.REJECT)
    assert value_field(b"\x2a", None, Nulls.OMIT) == b"", "a log body of None: no body field"
    assert value_field(b"\x2a", None) == b"\x2a\x00"
