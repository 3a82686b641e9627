"""Nothing is lost to our own send path: a fault injected at each of its steps sends the
batch through the SDK's own exporter, counted in ``health()``; a backend that is down or
refuses everything is a failure, never a second send.

Real receivers on 127.0.0.1: ``OtlpHttpSink`` (answers 400 to a body it cannot decode,
as the collector does) and a gRPC ``TraceService`` (INTERNAL for an undecodable request,
as the collector's gRPC server answers).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import astra_otel
from astra_otel._config.settings import ExportSettings, load_settings
from astra_otel._internal import send_path
from astra_otel._internal.batching import SignalStats
from astra_otel._internal.exporters import (
    ExporterSlot,
    log_exporter,
    sdk_log_exporter,
    sdk_span_exporter,
    span_exporter,
)
from astra_otel._internal.logs import QueueLogProcessor
from astra_otel._internal.sdk_private import LoggerProvider, LogRecord, sdk_http_class
from astra_otel._internal.traces import QueueSpanProcessor
from astra_otel.testing import OtlpHttpSink, reset

NAMES = ["a", "b", "c"]


def _export(endpoint: str, protocol: str = "http/protobuf", timeout: float = 5.0) -> ExportSettings:
    return ExportSettings(endpoint=endpoint, protocol=protocol, headers=(), timeout=timeout)


def _slot(export: ExportSettings, fast: Callable[[], Any] | None = None) -> ExporterSlot[Any]:
    return ExporterSlot(
        fast or (lambda: span_exporter(export, export.timeout)),
        lambda: sdk_span_exporter(export, export.timeout),
    )


class _Pipeline:
    """A span processor on ``slot`` (``fault`` applied to it) and a provider feeding it."""

    def __init__(
        self, slot: ExporterSlot[Any], stats: SignalStats, fault: Callable[[Any], None] | None
    ) -> None:
        self.processor = QueueSpanProcessor(
            slot, stats, max_queue_size=64, max_export_batch_size=16, schedule_delay=30.0
        )
        if fault is not None:
            fault(self.processor)
        self.provider = TracerProvider(
            resource=Resource({"service.name": "f"}), shutdown_on_exit=False
        )
        self.provider.add_span_processor(self.processor)

    def send(self) -> bool:
        """Three spans, flushed: ``True`` if they were delivered."""
        tracer = self.provider.get_tracer("t")
        for name in NAMES:
            with tracer.start_as_current_span(name):
                pass
        return self.processor.force_flush(20_000)


def _send_spans(
    slot: ExporterSlot[Any],
    stats: SignalStats,
    fault: Callable[[Any], None] | None = None,
    rounds: int = 1,
) -> list[bool]:
    """``rounds`` batches of three spans through one processor on ``slot``."""
    pipeline = _Pipeline(slot, stats, fault)
    try:
        return [pipeline.send() for _ in range(rounds)]
    finally:
        pipeline.provider.shutdown()


@pytest.fixture
def sink() -> Iterator[OtlpHttpSink]:
    with OtlpHttpSink() as running:
        yield running


def _traces(sink: OtlpHttpSink) -> ExportSettings:
    return _export(f"{sink.endpoint}/v1/traces")


class _Broken:
    def encode(self, batch: Any) -> bytes:
        raise RuntimeError("unexpected object")


class _Garbage:
    def encode(self, batch: Any) -> bytes:
        return b"\xff\xff\xff"  # what a broken encoder might write: no OTLP message


def _assert_resent(sink: OtlpHttpSink, stats: SignalStats) -> None:
    assert sorted(sink.span_names()) == NAMES
    assert stats.exported == 3
    assert stats.failed == 0
    assert stats.sdk_fallback == 3


def test_an_encoder_failure_resends_through_the_sdk_exporter(sink: OtlpHttpSink) -> None:
    """Our encoder raising: the batch goes out with the SDK's encoding, counted."""
    stats = SignalStats("traces")
    slot = _slot(_traces(sink))
    assert _send_spans(slot, stats, lambda p: setattr(p, "_encoder", _Broken())) == [True]
    _assert_resent(sink, stats)
    assert type(slot.fallback()) is sdk_http_class("traces"), "the SDK's own exporter class"


def test_exporter_creation_failure_sends_every_batch_the_sdks_way(sink: OtlpHttpSink) -> None:
    """Our exporter class failing to build: batches go through the SDK's exporter; the
    failed construction is not retried for every batch."""
    calls: list[int] = []

    def broken() -> Any:
        calls.append(1)
        raise TypeError("the SDK changed a constructor")

    stats = SignalStats("traces")
    slot = _slot(_traces(sink), broken)
    assert _send_spans(slot, stats, rounds=2) == [True, True]
    assert sorted(sink.span_names()) == sorted(NAMES * 2)
    assert stats.sdk_fallback == 6
    assert stats.exported == 6
    assert len(calls) == 1


def test_a_batch_neither_exporter_can_take_is_a_failure() -> None:
    """Ours and the SDK's exporter both failing to build: the batch counts as failed, and
    not as sent the SDK's way."""

    def broken() -> Any:
        raise TypeError("no exporter")

    stats = SignalStats("traces")
    assert _send_spans(ExporterSlot(broken, broken), stats) == [False]
    assert (stats.exported, stats.failed, stats.sdk_fallback) == (0, 3, 0)


def test_export_encoded_raising_resends(sink: OtlpHttpSink) -> None:
    """``export_encoded`` raising (a private hook that changed): re-sent, counted."""
    stats = SignalStats("traces")
    slot = _slot(_traces(sink))

    def fault(_processor: Any) -> None:
        def raising(payload: bytes, count: int) -> Any:
            raise AttributeError("'OTLPSpanExporter' object has no attribute '_client'")

        slot.get().export_encoded = raising

    assert _send_spans(slot, stats, fault) == [True]
    _assert_resent(sink, stats)


def test_bytes_refused_as_malformed_over_http_are_resent(sink: OtlpHttpSink) -> None:
    """HTTP 400 for our bytes: the SDK's bytes are sent instead and accepted."""
    stats = SignalStats("traces")
    assert _send_spans(
        _slot(_traces(sink)), stats, lambda p: setattr(p, "_encoder", _Garbage())
    ) == [True]
    _assert_resent(sink, stats)
    assert sink.requests["traces"] == 2, "one refused request, one accepted"


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.names: list[str] = []

    def Export(self, request: Any, context: Any) -> Any:  # gRPC method name
        self.names += [
            s.name for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
        ]
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def grpc_sink() -> Iterator[tuple[_TraceService, str]]:
    service = _TraceService()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield service, f"http://127.0.0.1:{port}"
    server.stop(None)


def test_bytes_refused_over_grpc_are_resent(grpc_sink: tuple[_TraceService, str]) -> None:
    """gRPC INTERNAL (request not decodable) for our bytes: the SDK's exporter resends."""
    service, endpoint = grpc_sink
    stats = SignalStats("traces")
    slot = _slot(_export(endpoint, "grpc"))
    assert _send_spans(slot, stats, lambda p: setattr(p, "_encoder", _Garbage())) == [True]
    assert sorted(service.names) == NAMES
    assert (stats.exported, stats.failed, stats.sdk_fallback) == (3, 0, 3)


def test_a_grpc_exporter_without_a_stub_resends(grpc_sink: tuple[_TraceService, str]) -> None:
    """The channel/stub set-up lost (``_client`` unset): re-sent by the SDK's exporter."""
    service, endpoint = grpc_sink
    stats = SignalStats("traces")
    slot = _slot(_export(endpoint, "grpc"))
    assert _send_spans(slot, stats, lambda _p: setattr(slot.get(), "_client", None)) == [True]
    assert sorted(service.names) == NAMES
    assert stats.sdk_fallback == 3


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_collector_that_is_down_is_a_failure_not_a_resend(protocol: str) -> None:
    """Connection refused: counted as failed, and the SDK's exporter is never even built
    (no second request per batch during an outage)."""
    path = "/v1/traces" if protocol == "http/protobuf" else ""
    stats = SignalStats("traces")
    slot = _slot(_export(f"http://127.0.0.1:{_closed_port()}{path}", protocol, timeout=1.0))
    assert _send_spans(slot, stats) == [False]
    assert (stats.exported, stats.failed, stats.sdk_fallback) == (0, 3, 0)
    assert slot._fallback is None


class _RefusingSink(OtlpHttpSink):
    """Answers 400 to everything (also the SDK's own bytes)."""

    def _record(self, signal: str, body: bytes) -> None:
        with self._lock:
            self.requests[signal] += 1
        from google.protobuf.message import DecodeError  # noqa: PLC0415

        raise DecodeError("refused")


def test_a_backend_refusing_everything_is_not_sent_twice_for_long() -> None:
    """When the SDK's bytes are refused too, refusals are trusted for a while: the next
    batches are failures without a second request."""
    with _RefusingSink() as refusing:
        stats = SignalStats("traces")
        pipeline = _Pipeline(_slot(_traces(refusing)), stats, None)  # type: ignore[arg-type]
        try:
            assert not pipeline.send()
            assert refusing.requests["traces"] == 2, "ours refused, then the SDK's"
            assert not pipeline.send()
            assert refusing.requests["traces"] == 3, "no resend within the trust window"
            pipeline.processor._export._trust_refusals_until = 0.0  # the window has passed
            assert not pipeline.send()
            assert refusing.requests["traces"] == 5, "ours, then the SDK's again"
        finally:
            pipeline.provider.shutdown()
        assert (stats.failed, stats.sdk_fallback) == (9, 6)
        assert send_path.TRUST_REFUSALS_FOR >= 30


def test_log_batches_fall_back_too(sink: OtlpHttpSink) -> None:
    """The log pipeline: an encoder failure sends SDK records through the SDK's
    exporter, counted."""
    export = _export(f"{sink.endpoint}/v1/logs")
    slot = ExporterSlot(lambda: log_exporter(export, 5.0), lambda: sdk_log_exporter(export, 5.0))
    stats = SignalStats("logs")
    resource = Resource({"service.name": "l"})
    processor = QueueLogProcessor(slot, stats, resource, load_settings({}, {}).logs)
    processor._encoder = _Broken()  # type: ignore[assignment]
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    for body in NAMES:
        provider.get_logger("app").emit(LogRecord(body=body))
    assert processor.force_flush(20_000)
    provider.shutdown()
    assert sorted(sink.log_bodies()) == NAMES
    assert (stats.exported, stats.sdk_fallback) == (3, 3)


def test_setup_reports_the_fallback_in_health(
    sink: OtlpHttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``setup()``: with our span encoder broken, spans still arrive and
    ``health().traces.sdk_fallback`` counts them."""
    from astra_otel._internal.otlp_spans import SpanEncoder  # noqa: PLC0415

    monkeypatch.setattr(SpanEncoder, "encode", _Broken.encode)
    try:
        telemetry = astra_otel.setup(
            service_name="fallback",
            endpoint=sink.endpoint,
            protocol="http/protobuf",
            gc_freeze=False,
            export_warnings=False,
        )
        tracer = telemetry.tracer_provider.get_tracer("t")  # type: ignore[union-attr]
        for name in NAMES:
            with tracer.start_as_current_span(name):
                pass
        assert telemetry.force_flush(20.0)
        deadline = time.monotonic() + 10
        while sorted(sink.span_names()) != NAMES and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(sink.span_names()) == NAMES
        health = telemetry.health().traces
        assert (health.exported, health.failed, health.sdk_fallback) == (3, 0, 3)
    finally:
        reset()
