"""OTLP exporters that send bytes we serialized ourselves, through the SDK's own exporters."""

from __future__ import annotations

import contextlib
import enum
import functools
import importlib
import io
import random
import time
from collections.abc import Callable
from typing import Any

import requests

from astra_otel._internal.sdk_private._registry import HOOKS, ON_RESET, expect, hook

__all__ = [
    "Delivery",
    "grpc_exporter_class",
    "http_exporter_class",
    "sdk_grpc_class",
    "sdk_http_class",
    "watch_grpc_calls",
]


class Delivery(enum.Enum):
    """How ``export_encoded`` went.

    ``FAILED``: the backend could not be reached or refused the request in a way it would
    refuse the SDK's own (unavailable, timeout, 5xx, 429, auth, too large): counted as a
    failure, never sent twice. ``REFUSED``: an answer that may mean our request was at
    fault (HTTP 400; gRPC INVALID_ARGUMENT, UNIMPLEMENTED, INTERNAL: what a server says
    when it cannot decode a request), worth one try through the SDK's own path.
    """

    SENT = "sent"
    FAILED = "failed"
    REFUSED = "refused"


_REFUSED_HTTP = frozenset({400})
_REFUSED_GRPC = frozenset({"INVALID_ARGUMENT", "UNIMPLEMENTED", "INTERNAL"})


def _http_delivery(ok: bool, status: int | None) -> Delivery:
    if ok:
        return Delivery.SENT
    return Delivery.REFUSED if status in _REFUSED_HTTP else Delivery.FAILED


# --- OTLP exporters sending bytes we serialized ourselves ------------------------------------


class _Encoded:
    """An already-serialized OTLP request and how many items it holds."""

    __slots__ = ("count", "payload")

    def __init__(self, payload: bytes, count: int) -> None:
        self.payload = payload
        self.count = count

    def __len__(self) -> int:
        return self.count


_HTTP = {
    "traces": ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter"),
    "logs": ("opentelemetry.exporter.otlp.proto.http._log_exporter", "OTLPLogExporter"),
}
# The OTLP/HTTP exporters' retry policy before SDK 1.45 (their loop lives in export()).
_HTTP_ATTEMPTS = 6


def sdk_http_class(signal: str) -> Any:
    """The SDK's own OTLP/HTTP exporter class for ``signal``."""
    module, name = _HTTP[signal]
    return getattr(importlib.import_module(module), name)


def _client_send(exporter: Any, payload: bytes) -> Delivery:
    """SDK >= 1.45: the exporter's HTTP client (retries, backoff, compression, headers)."""
    result = exporter._client.export(payload)
    return _http_delivery(bool(result.success), result.status_code)


def _session_send(exporter: Any, payload: bytes) -> Delivery:
    """SDK 1.40-1.44: ``_export(bytes, timeout)`` posts once; the retry policy of their
    ``export()`` (408/5xx/connection errors, exponential backoff with jitter, one deadline,
    shutdown aborts the wait) is applied here around it."""
    deadline = time.monotonic() + exporter._timeout
    for attempt in range(_HTTP_ATTEMPTS):
        backoff = 2**attempt * random.uniform(0.8, 1.2)  # noqa: S311  # jitter, not crypto
        status = None
        try:
            response = exporter._export(payload, max(deadline - time.monotonic(), 0.0))
        except requests.exceptions.RequestException as error:
            retryable = isinstance(error, requests.exceptions.ConnectionError)
        else:
            if response.ok:
                return Delivery.SENT
            status = response.status_code
            retryable = status == 408 or 500 <= status <= 599
        last = attempt + 1 == _HTTP_ATTEMPTS or backoff > deadline - time.monotonic()
        if not retryable or last or exporter._shutdown:
            return _http_delivery(False, status)
        if exporter._shutdown_in_progress.wait(backoff):
            return Delivery.FAILED
    return Delivery.FAILED


_HTTP_SENDERS: tuple[tuple[str, Callable[[Any, bytes], Delivery]], ...] = (
    ("client", _client_send),
    ("session", _session_send),
)


@functools.cache
def _http_encoded(signal: str, sender: str) -> type:
    send = dict(_HTTP_SENDERS)[sender]

    class Encoded(sdk_http_class(signal)):  # type: ignore[misc]  # chosen at runtime
        def export_encoded(self, payload: bytes, count: int) -> Delivery:
            """Send one serialized request (with the SDK's retries)."""
            if self._shutdown:
                return Delivery.FAILED
            return send(self, payload)

    return Encoded


class _RecordingSession(requests.Session):
    """A requests session that records what it is asked to send and answers 200 itself."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, bytes]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.sent.append((str(url), bytes(kwargs.get("data") or b"")))
        response = requests.Response()
        response.status_code = 200
        response.url = str(url)
        response.raw = io.BytesIO(b"")
        return response


def _http_sender_works(signal: str, sender: str) -> bool:
    from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: PLC0415

    session = _RecordingSession()
    endpoint = f"http://127.0.0.1:9/v1/{signal}"
    exporter = _http_encoded(signal, sender)(
        endpoint=endpoint, timeout=1.0, session=session, compression=Compression.NoCompression
    )
    try:
        payload = b"\x0a\x00astra-otel-probe"
        sent = exporter.export_encoded(payload, 1)
        return sent is Delivery.SENT and session.sent == [(endpoint, payload)]
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            exporter.shutdown()


def _check_http_senders() -> None:
    for signal in _HTTP:
        senders = [name for name, _send in _HTTP_SENDERS if _http_sender_works(signal, name)]
        expect(bool(senders), f"no way to send serialized {signal} through the exporter")
        _HTTP_CHOICE[signal] = senders[0]


_HTTP_CHOICE: dict[str, str] = {}
hook(
    "otlp-http-bytes",
    "the OTLP/HTTP exporters' _client.export (SDK >= 1.45) or _export/_timeout/"
    "_shutdown_in_progress (SDK 1.40-1.44)",
    "the SDK's OTLP/HTTP exporters with the SDK's own encoder",
)(_check_http_senders)


def http_exporter_class(signal: str) -> Any:
    """The OTLP/HTTP exporter class for ``signal``: one with ``export_encoded`` if this SDK
    lets us send our own bytes through it, else the SDK's own class."""
    if HOOKS["otlp-http-bytes"].usable():
        return _http_encoded(signal, _HTTP_CHOICE[signal])
    return sdk_http_class(signal)


_GRPC = {
    "traces": (
        "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
        "OTLPSpanExporter",
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
        "ExportTraceServiceResponse",
    ),
    "logs": (
        "opentelemetry.exporter.otlp.proto.grpc._log_exporter",
        "OTLPLogExporter",
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        "opentelemetry.proto.collector.logs.v1.logs_service_pb2",
        "ExportLogsServiceResponse",
    ),
}


def sdk_grpc_class(signal: str) -> Any:
    """The SDK's own OTLP/gRPC exporter class for ``signal``."""
    return getattr(importlib.import_module(_GRPC[signal][0]), _GRPC[signal][1])


class _RawExportStub:
    """A gRPC stub whose ``Export`` takes the serialized request bytes as they are, and
    keeps the status code of the last failed call in ``codes`` (the SDK's retry loop
    swallows the error)."""

    def __init__(self, channel: Any, method: str, response: Any, codes: list[str]) -> None:
        self._call = channel.unary_unary(
            method, request_serializer=None, response_deserializer=response.FromString
        )
        self._codes = codes

    def Export(self, request: bytes, **kwargs: Any) -> Any:  # the stub method's name
        try:
            return self._call(request, **kwargs)
        except Exception as error:
            code = getattr(error, "code", None)
            self._codes[:] = [getattr(code(), "name", "") if callable(code) else ""]
            raise


@functools.cache
def _grpc_encoded(signal: str) -> type:
    """The SDK's gRPC exporter, sending bytes we serialized ourselves: its retry loop,
    backoff, channel re-creation and shutdown are kept; ``_translate_data`` (object tree
    -> our bytes) and the stub (no re-serialization) change."""
    _module, _name, method, response_module, response_name = _GRPC[signal]
    response = getattr(importlib.import_module(response_module), response_name)

    class Encoded(sdk_grpc_class(signal)):  # type: ignore[misc]  # chosen at runtime
        def _initialize_channel_and_stub(self) -> None:
            super()._initialize_channel_and_stub()
            # One list for the exporter's life: the stub is re-created after UNAVAILABLE.
            codes: list[str] = self.__dict__.setdefault("_failed_codes", [])
            self._client = _RawExportStub(self._channel, method, response, codes)

        def _translate_data(self, data: Any) -> Any:
            if isinstance(data, _Encoded):
                return data.payload
            return super()._translate_data(data).SerializeToString()

        def _count_data(self, data: Any) -> int:
            return len(data)

        def export_encoded(self, payload: bytes, count: int) -> Delivery:
            """Send one serialized request (with the SDK's retries)."""
            if self._shutdown:
                return Delivery.FAILED
            if self._client is None:  # the SDK's _export would fail without a request
                raise RuntimeError("the gRPC exporter has no stub")
            codes = self._failed_codes
            codes.clear()
            if self._export(_Encoded(payload, count)).name == "SUCCESS":
                return Delivery.SENT
            return Delivery.REFUSED if codes and codes[-1] in _REFUSED_GRPC else Delivery.FAILED

    return Encoded


class _RecordingStub:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def Export(self, request: Any, **kwargs: Any) -> None:  # gRPC stub name
        self.sent.append(request)


@hook(
    "otlp-grpc-bytes",
    "the OTLP/gRPC exporters' _initialize_channel_and_stub, _channel, _client, "
    "_translate_data and _export",
    "the SDK's OTLP/gRPC exporters with the SDK's own encoder",
)
def _check_grpc_bytes() -> None:
    for signal in _GRPC:
        exporter = _grpc_encoded(signal)(endpoint="127.0.0.1:9", insecure=True, timeout=1.0)
        try:
            expect(isinstance(exporter._client, _RawExportStub), f"{signal}: stub not ours")
            stub = exporter._client = _RecordingStub()
            payload = b"\x0a\x00astra-otel-probe"
            sent = exporter.export_encoded(payload, 1)
            expect(sent is Delivery.SENT, f"{signal}: export failed")
            expect(stub.sent == [payload], f"{signal}: sent {stub.sent!r}")
        finally:
            exporter.shutdown()


def grpc_exporter_class(signal: str) -> Any:
    """The OTLP/gRPC exporter class for ``signal`` (with ``export_encoded`` if possible)."""
    if HOOKS["otlp-grpc-bytes"].usable():
        return _grpc_encoded(signal)
    return sdk_grpc_class(signal)


# --- the outcome of every call an OTLP/gRPC exporter makes, retries included -------------

OnCall = Callable[[BaseException | None], None]


class _WatchedStub:
    """A gRPC export stub telling ``on_call`` how each call went (``None``: it worked)."""

    def __init__(self, stub: Any, on_call: OnCall) -> None:
        self._stub = stub
        self._on_call = on_call

    def Export(self, *args: Any, **kwargs: Any) -> Any:  # named as the stub it wraps
        try:
            response = self._stub.Export(*args, **kwargs)
        except Exception as exc:
            self._on_call(exc)
            raise
        self._on_call(None)
        return response


def _watch_stub(exporter: Any, on_call: OnCall) -> None:
    # The exporter re-creates channel and stub after an UNAVAILABLE error: wrap each one.
    reinit = exporter._initialize_channel_and_stub

    def initialize_channel_and_stub() -> None:
        reinit()
        exporter._client = _WatchedStub(exporter._client, on_call)

    exporter._initialize_channel_and_stub = initialize_channel_and_stub
    exporter._client = _WatchedStub(exporter._client, on_call)


@hook(
    "otlp-grpc-calls",
    "the OTLP/gRPC exporters' _client stub and _initialize_channel_and_stub",
    "only whole exports' outcomes for gRPC (a failure is said after the exporter's retries)",
)
def _check_grpc_calls() -> None:
    calls: list[BaseException | None] = []
    exporter = sdk_grpc_class("traces")(endpoint="127.0.0.1:9", insecure=True, timeout=1.0)
    try:
        _watch_stub(exporter, calls.append)
        exporter._initialize_channel_and_stub()  # what a retry after UNAVAILABLE does
        watched = exporter._client
        expect(isinstance(watched, _WatchedStub), "stub not wrapped after re-creation")
        inner = watched._stub  # the stub the SDK just re-created, wrapped once
        real = not isinstance(inner, _WatchedStub) and callable(getattr(inner, "Export", None))
        expect(real, "_client is not the stub the SDK re-created")
        watched._stub = _RecordingStub()
        watched.Export(request=b"", metadata=(), timeout=1.0)
        expect(calls == [None], f"calls seen: {calls!r}")
    finally:
        exporter.shutdown()


def watch_grpc_calls(exporter: Any, on_call: OnCall) -> bool:
    """Have ``on_call`` told about every export call an OTLP/gRPC ``exporter`` makes
    (``None`` when it worked, else the ``RpcError``); ``False`` if it is not such an
    exporter or the hook is not usable here."""
    if not callable(getattr(type(exporter), "_initialize_channel_and_stub", None)):
        return False  # not an OTLP/gRPC exporter
    if not HOOKS["otlp-grpc-calls"].usable():
        return False
    if not callable(getattr(getattr(exporter, "_client", None), "Export", None)):
        return False
    _watch_stub(exporter, on_call)
    return True


ON_RESET.extend((_http_encoded.cache_clear, _grpc_encoded.cache_clear, _HTTP_CHOICE.clear))
