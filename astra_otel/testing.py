"""In-memory capture of spans, metrics and log records for your own tests.

>>> from astra_otel.testing import capture_telemetry
>>> with capture_telemetry(service_name="svc") as cap:
...     do_work()
...     assert [s.name for s in cap.spans()] == ["work"]

The same wiring as ``setup()`` (resource, processors, logging bridge, instrumentations,
redaction) runs, with in-memory exporters instead of OTLP and no exit/SIGTERM hooks.
:func:`reset` shuts down whatever ``setup()``/``capture_telemetry`` installed and returns
the OpenTelemetry API to its unset state, for an autouse fixture.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric, MetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from astra_otel._config.options import (
    InstrumentationOptions,
    LogsOptions,
    MetricsOptions,
    TracesOptions,
)
from astra_otel._config.settings import load_settings, warn_ignored
from astra_otel._internal import sdk_private
from astra_otel._internal import setup as _setup
from astra_otel._internal.api_globals import reset_providers
from astra_otel._internal.metrics import CountingMetricExporter, redacted_metrics
from astra_otel._internal.redaction import Redactor
from astra_otel._internal.sdk_private import InMemoryLogRecordExporter, ReadableLogRecord
from astra_otel._internal.telemetry import Telemetry
from astra_otel._internal.wiring import Sinks

__all__ = ["Capture", "OtlpHttpSink", "capture_telemetry", "reset"]


class Capture:
    """What the in-memory exporters received; every read flushes first."""

    def __init__(
        self,
        telemetry: Telemetry,
        spans: InMemorySpanExporter,
        logs: InMemoryLogRecordExporter | None,
        reader: InMemoryMetricReader,
    ) -> None:
        self.telemetry = telemetry
        self._spans = spans
        self._logs = logs
        self._reader = reader
        settings = telemetry.settings
        self._redactor = Redactor(settings.redact_patterns, settings.redact_allowlist)

    def spans(self) -> list[ReadableSpan]:
        """Finished, sampled spans exported so far."""
        self.telemetry.force_flush(5.0)
        return list(self._spans.get_finished_spans())

    def logs(self) -> list[ReadableLogRecord]:
        """Log records exported so far (bridge and Logs API)."""
        self.telemetry.force_flush(5.0)
        if self._logs is None:  # this OpenTelemetry release has no usable logs SDK
            return []
        return list(self._logs.get_finished_logs())

    def metrics(self) -> list[Metric]:
        """Every metric stream collected now (cumulative), redacted as exports are."""
        data = self._reader.get_metrics_data()
        if data is None:
            return []
        data = redacted_metrics(data, self._redactor)
        return [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]

    def metric(self, name: str) -> Metric:
        """The collected metric called ``name``; ``KeyError`` if absent."""
        for metric in self.metrics():
            if metric.name == name:
                return metric
        raise KeyError(name)

    def clear(self) -> None:
        """Forget captured spans and logs (metrics are cumulative and stay)."""
        self.telemetry.force_flush(5.0)
        self._spans.clear()
        if self._logs is not None:
            self._logs.clear()


def _sinks(
    spans: InMemorySpanExporter,
    logs: InMemoryLogRecordExporter | None,
    reader: InMemoryMetricReader,
) -> Sinks:
    def readers(_exporter: CountingMetricExporter) -> list[MetricReader]:
        return [reader]

    return Sinks(
        span_exporter=lambda: spans,
        log_exporter=lambda: logs,
        metric_readers=readers,
        install_exit_hooks=False,
    )


@contextmanager
def capture_telemetry(
    *,
    environ: dict[str, str] | None = None,
    traces: TracesOptions | None = None,
    metrics: MetricsOptions | None = None,
    logs: LogsOptions | None = None,
    instrumentations: InstrumentationOptions | None = None,
    **kwargs: Any,
) -> Iterator[Capture]:
    """Run the ``setup()`` wiring into memory for the duration of the block.

    ``kwargs`` are ``setup()``'s keyword arguments; ``environ`` replaces the process
    environment for settings resolution (default: empty, so the test is hermetic).
    Reads flush first; the block's exit shuts everything down. ``gc_freeze`` defaults to
    off here. A signal whose exporter selection is ``none`` is left out as ``setup()``
    leaves it out; any other selection (``otlp``, ``console``) is captured in memory.
    """
    reset()
    kwargs.setdefault("gc_freeze", False)  # tests create and drop many objects
    settings = load_settings(
        kwargs,
        environ or {},
        traces=traces,
        metrics=metrics,
        logs=logs,
        instrumentations=instrumentations,
    )
    warn_ignored(environ or {})
    span_exporter = InMemorySpanExporter()
    log_exporter = (
        InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # SDK lacks hints
        if sdk_private.HOOKS["logs-sdk"].usable()
        else None
    )
    reader = InMemoryMetricReader()
    telemetry = _setup.activate(settings, _sinks(span_exporter, log_exporter, reader))
    try:
        yield Capture(telemetry, span_exporter, log_exporter, reader)
    finally:
        reset()


def reset() -> None:
    """Shut down whatever is installed and unset the OpenTelemetry API globals."""
    live = _setup.current()
    if live is not None:
        live.shutdown(5.0)
    _setup.forget()
    reset_providers()


class OtlpHttpSink:
    """A local OTLP/HTTP receiver on 127.0.0.1 that decodes and keeps what it is sent
    (``decode=False``: only counts requests, for benchmarks).

    For tests and benchmarks that need a real exporter path without a collector::

        with OtlpHttpSink() as sink:
            setup(endpoint=sink.endpoint)
            ...
            assert "checkout" in sink.span_names()
    """

    def __init__(self, port: int = 0, *, decode: bool = True) -> None:
        self._decode = decode
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {"traces": 0, "metrics": 0, "logs": 0}
        self._spans: list[str] = []
        self._logs: list[str] = []
        self._metrics: list[str] = []
        self._payloads: dict[str, list[bytes]] = {"traces": [], "metrics": [], "logs": []}
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """Base URL to pass as ``setup(endpoint=...)``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OtlpHttpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()

    def span_names(self) -> list[str]:
        """Names of every span received, in arrival order."""
        with self._lock:
            return list(self._spans)

    def log_bodies(self) -> list[str]:
        """String bodies of every log record received."""
        with self._lock:
            return list(self._logs)

    def metric_names(self) -> list[str]:
        """Names of every metric stream received (repeats once per export)."""
        with self._lock:
            return list(self._metrics)

    def payloads(self, signal: str) -> list[bytes]:
        """The raw request bodies (serialized OTLP protobuf) received for ``signal``
        (``traces``, ``metrics`` or ``logs``): e.g. to check a secret never left."""
        with self._lock:
            return list(self._payloads[signal])

    def _record(self, signal: str, body: bytes) -> None:
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2  # noqa: PLC0415
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2  # noqa: PLC0415
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2  # noqa: PLC0415

        with self._lock:
            self.requests[signal] += 1
            if not self._decode:
                return
            self._payloads[signal].append(body)
            if signal == "traces":
                req = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
                for rs in req.resource_spans:
                    for ss in rs.scope_spans:
                        self._spans.extend(s.name for s in ss.spans)
            elif signal == "logs":
                lreq = logs_service_pb2.ExportLogsServiceRequest.FromString(body)
                for rl in lreq.resource_logs:
                    for sl in rl.scope_logs:
                        self._logs.extend(r.body.string_value for r in sl.log_records)
            else:
                mreq = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
                for rm in mreq.resource_metrics:
                    for sm in rm.scope_metrics:
                        self._metrics.extend(m.name for m in sm.metrics)

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # Keep-alive, like a collector: exporters reuse their connection.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                from google.protobuf.message import DecodeError  # type: ignore[import-untyped]  # noqa: PLC0415

                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                signal = self.path.rstrip("/").rsplit("/", 1)[-1]
                try:
                    if signal in sink.requests:
                        sink._record(signal, body)
                except DecodeError:  # as a collector answers a request it cannot parse
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the per-request access log."""

        return Handler
