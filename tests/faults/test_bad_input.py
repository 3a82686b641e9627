"""Fault 6: garbage on the wire. The collector's OTLP receivers reject each bad request
with a client-error status (HTTP 4xx with a ``google.rpc.Status`` body; a non-retryable
gRPC code) and keep running and serving good clients."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import requests
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk.trace.export import SpanExportResult

from ._shapes import field
from ._support import SpanSource, unique_service, wait_for_spans
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

PROTOBUF = "application/x-protobuf"
EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
# The receivers' documented limits: confighttp max_request_body_size (20 MiB) and
# configgrpc max_recv_msg_size_mib (4 MiB).
HTTP_BODY_LIMIT = 20 * 1024 * 1024
GRPC_MSG_LIMIT = 4 * 1024 * 1024
INVALID_ARGUMENT = 3  # google.rpc.Code
# gRPC codes an OTLP exporter retries (OpenTelemetry specification, OTLP "Failures").
RETRYABLE = {
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS,
}


def _valid_request(n: int = 10) -> bytes:
    req = ExportTraceServiceRequest()
    scope = req.resource_spans.add().scope_spans.add()
    for i in range(n):
        scope.spans.append(
            Span(trace_id=bytes(range(1, 17)), span_id=bytes([1] * 7 + [i + 1]), name="bad-input")
        )
    return req.SerializeToString()


def _huge_protobuf(size: int) -> bytes:
    """A length-delimited field claiming (and carrying) ``size`` bytes: decodable framing."""
    return field(1, b"a" * size)


BAD_HTTP = {
    "garbage bytes": (PROTOBUF, b"\xff\x00not a protobuf\x13\x37" * 20),
    "truncated protobuf": (PROTOBUF, _valid_request()[: len(_valid_request()) // 2]),
    "invalid JSON": ("application/json", b'{"resourceSpans": [{"scopeSpans": '),
    "JSON of the wrong shape": ("application/json", b'{"resourceSpans": 5}'),
}


@pytest.fixture(scope="module")
def collector_pid(stack: RunningStack) -> Iterator[int]:
    """The collector's pid before the garbage; every test checks it is still the same."""
    pid = stack.stack.pid("collector")
    assert pid is not None
    yield pid
    assert stack.stack.pid("collector") == pid, "the collector restarted or died"


def _status(resp: requests.Response) -> Status:
    """The ``google.rpc.Status`` body of an OTLP/HTTP error (protobuf or JSON)."""
    status = Status()
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        status.code = int(resp.json()["code"])
        status.message = str(resp.json()["message"])
    else:
        status.ParseFromString(resp.content)
    return status


@pytest.mark.parametrize("case", sorted(BAD_HTTP))
def test_bad_http_body_is_a_400_invalid_argument(
    stack: RunningStack, collector_pid: int, case: str
) -> None:
    """Undecodable bodies on OTLP/HTTP get 400 with an INVALID_ARGUMENT status, not a 5xx."""
    content_type, body = BAD_HTTP[case]
    resp = requests.post(
        f"{stack.otlp_http}/v1/traces",
        data=body,
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert resp.status_code == 400, (resp.status_code, resp.content[:200])
    status = _status(resp)
    assert status.code == INVALID_ARGUMENT
    assert status.message
    assert stack.stack.pid("collector") == collector_pid


def test_huge_http_body_is_rejected_as_too_large(stack: RunningStack, collector_pid: int) -> None:
    """A body over the receiver's 20 MiB limit is refused with a 4xx naming the size."""
    resp = requests.post(
        f"{stack.otlp_http}/v1/traces",
        data=_huge_protobuf(HTTP_BODY_LIMIT + 1024 * 1024),
        headers={"Content-Type": PROTOBUF},
        timeout=60,
    )
    assert resp.status_code in (400, 413), resp.status_code
    assert "too large" in _status(resp).message
    assert stack.stack.pid("collector") == collector_pid


def test_unsupported_content_type_is_a_415(stack: RunningStack, collector_pid: int) -> None:
    """A body that is neither protobuf nor JSON is refused as an unsupported media type."""
    resp = requests.post(
        f"{stack.otlp_http}/v1/traces",
        data=_valid_request(),
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    assert resp.status_code == 415


def _grpc_export(stack: RunningStack, payload: bytes) -> grpc.RpcError | None:
    """Send raw bytes as a TraceService/Export request; the error, or None on success."""
    target = stack.otlp_grpc.removeprefix("http://")
    with grpc.insecure_channel(target) as channel:
        export = channel.unary_unary(
            EXPORT_METHOD,
            request_serializer=lambda raw: raw,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        try:
            export(payload, timeout=30)
        except grpc.RpcError as exc:
            return exc
    return None


@pytest.mark.parametrize(
    "payload",
    [b"\xff\x00not a protobuf\x13\x37" * 20, _valid_request()[: len(_valid_request()) // 2]],
    ids=["garbage bytes", "truncated protobuf"],
)
def test_undecodable_grpc_request_fails_without_retry(
    stack: RunningStack, collector_pid: int, payload: bytes
) -> None:
    """Undecodable gRPC messages fail with a code OTLP clients do not retry.

    grpc-go rejects a message it cannot unmarshal with INTERNAL before the receiver sees
    it (not INVALID_ARGUMENT); what matters to clients is that the code is not retryable.
    """
    error = _grpc_export(stack, payload)
    assert error is not None
    assert error.code() == grpc.StatusCode.INTERNAL, error.code()
    assert error.code() not in RETRYABLE
    assert "unmarshal" in (error.details() or "")
    assert stack.stack.pid("collector") == collector_pid


def test_oversized_grpc_request_is_resource_exhausted(
    stack: RunningStack, collector_pid: int
) -> None:
    """A message over the receiver's 4 MiB limit fails with RESOURCE_EXHAUSTED."""
    error = _grpc_export(stack, _huge_protobuf(GRPC_MSG_LIMIT + 1024 * 1024))
    assert error is not None
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.code()
    assert "larger than max" in (error.details() or "")


def test_good_clients_are_served_after_the_garbage(stack: RunningStack, collector_pid: int) -> None:
    """After every bad request above, spans over gRPC and HTTP still reach Jaeger."""
    service = unique_service("after-garbage")
    source = SpanSource(stack.otlp_grpc, service)
    try:
        assert source.send(20)
        http = HttpSpanExporter(endpoint=f"{stack.otlp_http}/v1/traces", timeout=10)
        more = source.make(20)
        assert http.export(more) is SpanExportResult.SUCCESS
        http.shutdown()
    finally:
        source.close()
    expected = set(source.accepted) | {f"{s.context.span_id:016x}" for s in more}
    wait_for_spans(stack, service, expected, timeout=45)
    assert wait_for(lambda: stack.stack.healthy("collector") or None, "collector health", 10)
