"""Our OTLP encoders write the same bytes as the SDK's ``encode_spans``/``encode_logs``,
and the exporters send them over OTLP/HTTP and gRPC with the SDK's retry logic."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from opentelemetry import trace
from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk._logs import LoggerProvider, ReadWriteLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)

from astra_otel._config.settings import ExportSettings
from astra_otel._internal.batching import SignalStats
from astra_otel._internal.exporters import ExporterSlot, log_exporter, span_exporter
from astra_otel._internal.logs import _attributes, _Converter, _severity_of
from astra_otel._internal.otlp_logs import BridgeItem, LogEncoder
from astra_otel._internal.otlp_spans import SpanEncoder
from astra_otel._internal.otlp_wire import AttributeCache, any_value, varint
from astra_otel._internal.redaction import DEFAULT
from astra_otel._internal.sdk_private import Delivery
from astra_otel._internal.traces import QueueSpanProcessor
from astra_otel.testing import OtlpHttpSink

REMOTE = SpanContext(
    0x1234,
    0x55,
    is_remote=True,
    trace_flags=TraceFlags(1),
    trace_state=TraceState([("vendor", "v1"), ("other", "x")]),
)


def _spans(provider: TracerProvider, exporter: InMemorySpanExporter) -> tuple[ReadableSpan, ...]:
    tracer = provider.get_tracer("lib.a", "1.2.3", schema_url="https://s/1", attributes={"k": 1})
    other = provider.get_tracer("lib.b")
    attrs = {
        "s": "héllo",
        "i": -5,
        "z": 0,
        "f": 1.25,
        "b": False,
        "ints": (1, 2, 3),
        "bools": (True, False),
        "strs": ("a", ""),
        "empty": "",
    }
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER, attributes=attrs) as root:
        root.add_event("evt", {"x": 1})
        root.add_event("bare")
        root.set_status(Status(StatusCode.ERROR, "boom"))
        with other.start_as_current_span("child", links=[Link(REMOTE, {"why": "batch"})]) as c:
            c.set_status(Status(StatusCode.OK))
    remote_parent = trace.set_span_in_context(NonRecordingSpan(REMOTE))
    with tracer.start_as_current_span("consume", context=remote_parent, kind=SpanKind.CONSUMER):
        pass
    for kind in (SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.INTERNAL):
        with tracer.start_as_current_span("", kind=kind):
            pass
    return exporter.get_finished_spans()


def _provider(resource: Resource) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_spans_encode_to_the_sdk_bytes() -> None:
    """Every span feature (kinds, events, links, status, remote parents, trace state,
    scope attributes, schema URLs, two resources) gives byte-identical requests."""
    one = _spans(*_provider(Resource.create({"service.name": "a", "n": 3}, "https://r/1")))
    two = _spans(*_provider(Resource({"service.name": "b", "list": ("x", "y")})))
    batch = list(one) + list(two) + list(one[:2])
    encoder = SpanEncoder()
    expected = encode_spans(batch).SerializeToString()
    assert encoder.encode(batch) == expected
    assert encoder.encode(batch) == expected, "the cached encodings give the same bytes"
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(expected)
    assert len(request.resource_spans) == 2


def test_a_full_attribute_cache_is_emptied_not_grown() -> None:
    """A tiny cache still encodes correctly, and never holds more than its bound."""
    cache = AttributeCache(max_entries=3)
    for i in range(50):
        cache.encode(b"\x4a", {f"k{i}": i, "route": "/a"})
        assert len(cache._cache) <= 3
    (spans,) = [_spans(*_provider(Resource({"service.name": "c"})))]
    encoder = SpanEncoder()
    encoder._attrs = AttributeCache(max_entries=2)
    assert encoder.encode(spans) == encode_spans(spans).SerializeToString()


def test_values_the_sdk_cannot_encode() -> None:
    """An int beyond int64 is kept as text (the SDK drops it), lone surrogates are
    replaced, and a value of no OTLP type drops only that attribute."""
    assert any_value(2**70) == b"\x0a" + varint(22) + str(2**70).encode()
    assert any_value(-(2**63)) == b"\x18" + varint(2**63)
    assert any_value("a\udc80b") == b"\x0a\x03a?b"
    cache = AttributeCache()
    chunks = cache.encode(b"\x4a", {"ok": 1, "bad": object()})
    assert len(chunks) == 2, "one attribute (tag + body)"
    assert b"ok" in chunks[1]


def _bridge_item(logger: str, span_context: SpanContext, **extra: Any) -> BridgeItem:
    try:
        raise ValueError("broken")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(logger, logging.WARNING, "/app/x.py", 12, "m %s", ("v",), None)
    record.__dict__.update(extra)
    if extra.pop("with_exc", False):
        record.exc_info = exc_info
    return (record, record.getMessage(), span_context)


def _none_as_empty(request: Any) -> Any:
    """``request`` with every value-less attribute and body given an empty ``AnyValue``."""
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                if not record.HasField("body"):
                    record.body.SetInParent()
                for kv in record.attributes:
                    kv.value.SetInParent()
    return request


def _assert_same_logs(ours: bytes, sdk: bytes) -> None:
    """Our bytes are the SDK's. Releases before 1.45 leave out a ``None`` body or
    attribute value where 1.45 writes an empty ``AnyValue`` (ours, like 1.45): for those the
    decoded requests must agree once that one difference is taken out."""
    if ours == sdk or _sdk_encodes_none_as_empty():
        assert ours == sdk
        return
    parse = ExportLogsServiceRequest.FromString
    assert _none_as_empty(parse(ours)) == _none_as_empty(parse(sdk))


def _sdk_encodes_none_as_empty() -> bool:
    """Whether the installed SDK's log encoder writes a ``None`` body as an empty value."""
    provider = LoggerProvider(resource=Resource({}), shutdown_on_exit=False)
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger("probe").emit(ApiLogRecord(body=None))
    (record,) = (
        encode_logs(list(exporter.get_finished_logs())).resource_logs[0].scope_logs[0].log_records
    )  # type: ignore[arg-type]
    return bool(record.HasField("body"))


def test_bridged_records_encode_like_the_sdk_record_they_stand_for() -> None:
    """A bridge tuple encodes to the bytes of the SDK record the in-memory path builds
    from it: body, severity, code and extra attributes, exception, ids, scope."""
    resource = Resource({"service.name": "logs"})
    in_span = SpanContext(0xABC, 0xDEF, is_remote=False, trace_flags=TraceFlags(1))
    items = [
        _bridge_item("app.orders", in_span, order_id=7, tag="x", ratio=0.5, obj=[1, 2]),
        _bridge_item("app.other", INVALID_SPAN_CONTEXT, with_exc=True),
        _bridge_item("app.orders", in_span),
    ]
    convert = _Converter(resource)
    expected = encode_logs([convert(item) for item in items]).SerializeToString()
    _assert_same_logs(LogEncoder(resource, _attributes, _severity_of).encode(items), expected)


def test_api_records_encode_to_the_sdk_bytes() -> None:
    """Records emitted through the Logs API (event name, structured body) match too."""
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider(resource=Resource({"service.name": "api"}), shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("events", "2.0")
    logger.emit(
        ApiLogRecord(
            timestamp=1_700_000_000_000_000_000,
            observed_timestamp=1_700_000_000_000_000_001,
            severity_number=SeverityNumber.ERROR,
            severity_text="ERROR",
            body={"reason": "down", "codes": [1, 2]},
            attributes={"a": 1},
            event_name="astra.test",
        )
    )
    logger.emit(ApiLogRecord(body=None))
    records: list[ReadWriteLogRecord] = list(exporter.get_finished_logs())  # type: ignore[arg-type]
    expected = encode_logs(records).SerializeToString()
    encoder = LogEncoder(Resource({}), _attributes, _severity_of)
    _assert_same_logs(encoder.encode(records), expected)


def _settings(endpoint: str, protocol: str) -> ExportSettings:
    return ExportSettings(endpoint=endpoint, protocol=protocol, headers=(), timeout=5.0)


def test_http_exporter_sends_encoded_requests() -> None:
    """``export_encoded`` over OTLP/HTTP reaches a receiver that decodes it."""
    one = _spans(*_provider(Resource({"service.name": "h"})))
    with OtlpHttpSink() as sink:
        export = _settings(f"{sink.endpoint}/v1/traces", "http/protobuf")
        exporter = span_exporter(export, timeout=5.0)
        assert exporter.export_encoded(SpanEncoder().encode(one), len(one)) is Delivery.SENT
        assert sink.span_names() == [s.name for s in one]
        logs = log_exporter(_settings(f"{sink.endpoint}/v1/logs", "http/protobuf"), 5.0)
        item = _bridge_item("app", INVALID_SPAN_CONTEXT)
        payload = LogEncoder(Resource({}), _attributes, _severity_of).encode([item])
        assert logs.export_encoded(payload, 1) is Delivery.SENT
        assert sink.log_bodies() == ["m v"]
        exporter.shutdown()
        assert exporter.export_encoded(b"", 0) is Delivery.FAILED, "refused after shutdown"


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[trace_service_pb2.ExportTraceServiceRequest] = []

    def Export(self, request: Any, context: Any) -> Any:  # gRPC method name
        if self.failures:
            self.failures -= 1
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        self.received.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def grpc_service() -> Iterator[tuple[_TraceService, int]]:
    service = _TraceService(failures=1)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, port
    server.stop(None)


def test_grpc_exporter_sends_encoded_requests_and_retries(
    grpc_service: tuple[_TraceService, int],
) -> None:
    """Over gRPC the bytes arrive as the same request, after the SDK's retry of an
    UNAVAILABLE answer; the SDK's own ``export(spans)`` still works on the same exporter."""
    service, port = grpc_service
    spans = _spans(*_provider(Resource({"service.name": "g"})))
    exporter = span_exporter(_settings(f"http://127.0.0.1:{port}", "grpc"), timeout=10.0)
    try:
        assert exporter.export_encoded(SpanEncoder().encode(spans), len(spans)) is Delivery.SENT
        assert exporter.export(spans[:1]).name == "SUCCESS"
    finally:
        exporter.shutdown()
    assert service.failures == 0, "the first attempt was refused and retried"
    assert service.received[0] == encode_spans(spans)
    assert service.received[1] == encode_spans(spans[:1])


def test_span_encoder_redacts_as_it_encodes() -> None:
    """With the redaction hook, secret headers and SQL literals never reach the bytes,
    also when the same pair comes again from the cache."""
    provider, exporter = _provider(Resource({"service.name": "r"}))
    tracer = provider.get_tracer("t")
    for _ in range(2):
        with tracer.start_as_current_span("q") as span:
            span.set_attribute("http.request.header.authorization", ("Bearer s3cr3t",))
            span.set_attribute("http.request.header.x-api-key", "k3y")
            span.set_attribute("db.statement", "SELECT * FROM t WHERE pw = 'hunter2' AND n = 42")
            span.set_attribute("http.request.header.accept", ("text/plain",))
    payload = SpanEncoder(DEFAULT.value, DEFAULT.text).encode(exporter.get_finished_spans())
    for secret in (b"s3cr3t", b"k3y", b"hunter2", b"42"):
        assert secret not in payload
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(payload)
    spans = request.resource_spans[0].scope_spans[0].spans
    assert len(spans) == 2
    for span in spans:
        attrs = {a.key: a.value for a in span.attributes}
        assert attrs["http.request.header.authorization"].array_value.values[0].string_value == (
            "[REDACTED]"
        )
        assert attrs["http.request.header.x-api-key"].string_value == "[REDACTED]"
        assert attrs["db.statement"].string_value == "SELECT * FROM t WHERE pw = ? AND n = ?"
        assert attrs["http.request.header.accept"].array_value.values[0].string_value == (
            "text/plain"
        )


class _Broken:
    def encode(self, batch: Any) -> bytes:
        raise RuntimeError("unexpected object")


def test_a_batch_our_encoder_fails_on_goes_out_through_the_sdk_encoder() -> None:
    """Nothing is lost when our encoder raises: the batch is sent with the SDK's encoding
    and counted as exported."""
    with OtlpHttpSink() as sink:
        stats = SignalStats("traces")
        slot = ExporterSlot(
            lambda: span_exporter(_settings(f"{sink.endpoint}/v1/traces", "http/protobuf"), 5.0)
        )
        processor = QueueSpanProcessor(
            slot, stats, max_queue_size=64, max_export_batch_size=16, schedule_delay=0.05
        )
        processor._encoder = _Broken()  # type: ignore[assignment]
        provider = TracerProvider(resource=Resource({"service.name": "f"}), shutdown_on_exit=False)
        provider.add_span_processor(processor)
        tracer = provider.get_tracer("t")
        for name in ("a", "b", "c"):
            with tracer.start_as_current_span(name):
                pass
        assert processor.force_flush(5_000)
        assert sorted(sink.span_names()) == ["a", "b", "c"]
        assert stats.exported == 3
        assert stats.failed == 0
        provider.shutdown()
