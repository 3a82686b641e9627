"""OTLP exporters built from resolved settings, never from the environment.

Every argument the SDK exporters would otherwise look up in ``OTEL_*`` variables
(endpoint, headers, timeout, compression, insecure, TLS files) is passed explicitly, so
what runs is what ``Settings`` says. Exporters sit in an :class:`ExporterSlot` that can be emptied
in a forked child (a gRPC channel or HTTP session must not be shared across a fork).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

import requests

from astra_otel._config.settings import ExportSettings
from astra_otel._internal import sdk_private
from astra_otel._internal.export_status import describe_error

__all__ = [
    "ExporterSlot",
    "Tee",
    "console_exporter",
    "log_exporter",
    "metric_exporter",
    "sdk_log_exporter",
    "sdk_span_exporter",
    "span_exporter",
    "watch_requests",
]

E = TypeVar("E")


class ExporterSlot(Generic[E]):
    """Holds one exporter, created on first use; a forked child gets a new one.

    With a ``fallback`` factory (the SDK's own exporter for the same destination) it also
    holds that one, created only when :meth:`fallback` is first asked for. A primary
    exporter that could not be created is not retried (its error is raised again): our
    fast path's construction failing is not something time fixes.
    """

    def __init__(self, factory: Callable[[], E], fallback: Callable[[], E] | None = None) -> None:
        self._factory = factory
        self._fallback_factory = fallback
        self._exporter: E | None = None
        self._fallback: E | None = None
        self._error: Exception | None = None
        self._lock = threading.Lock()

    def get(self) -> E:
        """The exporter, created now if needed."""
        exporter = self._exporter
        if exporter is None:
            with self._lock:
                if self._error is not None:
                    raise self._error
                if self._exporter is None:
                    try:
                        self._exporter = self._factory()
                    except Exception as exc:
                        if self._fallback_factory is not None:
                            self._error = exc
                        raise
                exporter = self._exporter
        return exporter

    def fallback(self) -> E:
        """The SDK's own exporter (created now if needed); without a fallback factory,
        the primary one."""
        if self._fallback_factory is None:
            return self.get()
        exporter = self._fallback
        if exporter is None:
            with self._lock:
                if self._fallback is None:
                    self._fallback = self._fallback_factory()
                exporter = self._fallback
        return exporter

    def shutdown(self) -> None:
        """Shut the exporters down (aborts an OTLP retry wait); never raises."""
        for exporter in (self._exporter, self._fallback):
            if exporter is not None:
                with contextlib.suppress(Exception):  # shutdown is best-effort by contract
                    exporter.shutdown()  # type: ignore[attr-defined]  # every SDK exporter has it

    def after_fork_in_child(self) -> None:
        """Forget the parent's exporters without touching their sockets/threads."""
        self._lock = threading.Lock()
        self._exporter = None
        self._fallback = None
        self._error = None


def _common(export: ExportSettings, timeout: float) -> dict[str, Any]:
    return {
        "endpoint": export.endpoint,
        "headers": dict(export.headers),
        "timeout": timeout,
    }


def _read(path: str | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


def _grpc_extra(export: ExportSettings) -> dict[str, Any]:
    grpc: Any = importlib.import_module("grpc")  # heavy, only for the grpc protocol

    insecure = export.endpoint.startswith("http://")
    extra: dict[str, Any] = {"insecure": insecure, "compression": grpc.Compression.NoCompression}
    if not insecure:
        # Explicit credentials: the SDK would otherwise look the files up in OTEL_* itself.
        # The files are read once, here; a rotated certificate is used after a restart.
        extra["credentials"] = grpc.ssl_channel_credentials(
            root_certificates=_read(export.certificate),
            private_key=_read(export.client_key),
            certificate_chain=_read(export.client_certificate),
        )
    return extra


def _http_tls(export: ExportSettings) -> dict[str, Any]:
    # True: the system's trust store. requests opens each connection with these paths, so
    # rotated files are used from the next connection on.
    return {
        "certificate_file": export.certificate or True,
        "client_certificate_file": export.client_certificate,
        "client_key_file": export.client_key,
    }


OnAttempt = Callable[[str | None], None]


class _ObservedSession(requests.Session):
    """The session our OTLP/HTTP exporters send with: it tells ``on_attempt`` how each
    request went (``None``: a 2xx/3xx answer, else what failed), whichever SDK release
    sends through it, so a failure is known at the first try, not after the retries."""

    on_attempt: OnAttempt | None = None

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().request(method, url, *args, **kwargs)
        except Exception as exc:
            self._tell(describe_error(exc))
            raise
        if 200 <= response.status_code < 400:
            self._tell(None)
        else:
            self._tell(describe_error(None, response.status_code, response.reason))
        return response

    def _tell(self, error: str | None) -> None:
        if self.on_attempt is not None:
            self.on_attempt(error)


def _http_extra() -> dict[str, Any]:
    from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: PLC0415  # optional/heavy, loaded on use

    # trust_env=False: requests would otherwise read proxy/netrc/CA variables from the
    # environment on every request (our settings are the configuration), and its lazy
    # `import netrc` on an export thread can be copied half-done into a forked child,
    # which then deadlocks on that module's import lock.
    session = _ObservedSession()
    session.trust_env = False
    return {"compression": Compression.NoCompression, "session": session}


def _observed(exporter: Any, extra: dict[str, Any]) -> Any:
    """``exporter``, remembering the session it sends with (see :func:`watch_requests`)."""
    exporter.astra_otel_session = extra["session"]
    return exporter


def _exporter(signal: str, export: ExportSettings, timeout: float, *, ours: bool) -> Any:
    if export.protocol == "grpc":
        grpc_class = (
            sdk_private.grpc_exporter_class(signal) if ours else sdk_private.sdk_grpc_class(signal)
        )
        return grpc_class(**_common(export, timeout), **_grpc_extra(export))
    http_class = (
        sdk_private.http_exporter_class(signal) if ours else sdk_private.sdk_http_class(signal)
    )
    extra = _http_extra()
    return _observed(http_class(**_common(export, timeout), **extra, **_http_tls(export)), extra)


def span_exporter(export: ExportSettings, timeout: float) -> Any:
    """An OTLP span exporter for ``export`` whose export calls end within ``timeout`` s.

    Besides the SDK's ``export(spans)`` it has ``export_encoded(payload, count)``, which
    the pipeline uses with :class:`~astra_otel._internal.otlp_spans.SpanEncoder`, unless
    the installed SDK does not let us send our own bytes (then it is the SDK's exporter).
    """
    return _exporter("traces", export, timeout, ours=True)


def log_exporter(export: ExportSettings, timeout: float) -> Any:
    """An OTLP log exporter for ``export`` (with ``export_encoded``, as for spans)."""
    return _exporter("logs", export, timeout, ours=True)


def sdk_span_exporter(export: ExportSettings, timeout: float) -> Any:
    """The SDK's own OTLP span exporter class, with the same arguments: the path a batch
    takes when anything in ours fails."""
    return _exporter("traces", export, timeout, ours=False)


def sdk_log_exporter(export: ExportSettings, timeout: float) -> Any:
    """The SDK's own OTLP log exporter class, with the same arguments."""
    return _exporter("logs", export, timeout, ours=False)


def metric_exporter(export: ExportSettings, timeout: float, **kwargs: Any) -> Any:
    """An OTLP metric exporter for ``export`` (``kwargs``: temporality/aggregation)."""
    if export.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter  # noqa: PLC0415  # optional/heavy, loaded on use

        return OTLPMetricExporter(**_common(export, timeout), **_grpc_extra(export), **kwargs)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415  # optional/heavy, loaded on use
        OTLPMetricExporter as HTTPMetricExporter,
    )

    extra = _http_extra()
    return _observed(
        HTTPMetricExporter(**_common(export, timeout), **extra, **_http_tls(export), **kwargs),
        extra,
    )


def console_exporter(signal: str) -> Any:
    """The SDK's console exporter for ``signal`` (``OTEL_<SIGNAL>_EXPORTER=console``): one
    JSON object per span, metric collection or log record on stdout."""
    if signal == "traces":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415  # loaded on use

        return ConsoleSpanExporter()
    if signal == "metrics":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter  # noqa: PLC0415  # loaded on use

        return ConsoleMetricExporter()
    from astra_otel._internal.sdk_private import ConsoleLogRecordExporter  # noqa: PLC0415  # loaded on use

    return ConsoleLogRecordExporter()


class Tee:
    """Sends every export to ``primary`` and a copy to ``echo`` (``otlp,console``).

    ``primary``'s result is the export's result: the console copy cannot fail the
    pipeline, and ``health()`` keeps counting what reached the collector.
    """

    def __init__(self, primary: Any, echo: Any) -> None:
        self.primary = primary
        self.echo = echo

    def export(self, *args: Any, **kwargs: Any) -> Any:
        """Echo the batch, then export it through ``primary``."""
        with contextlib.suppress(Exception):  # a console that fails must not lose the batch
            self.echo.export(*args, **kwargs)
        return self.primary.export(*args, **kwargs)

    def force_flush(self, *args: Any, **kwargs: Any) -> bool:
        """Flush both."""
        with contextlib.suppress(Exception):
            self.echo.force_flush(*args, **kwargs)
        return bool(self.primary.force_flush(*args, **kwargs))

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        """Shut both down."""
        with contextlib.suppress(Exception):
            self.echo.shutdown(*args, **kwargs)
        self.primary.shutdown(*args, **kwargs)


def watch_requests(exporter: Any, on_attempt: OnAttempt) -> bool:
    """Have ``on_attempt`` told about every request ``exporter`` sends (``None``: it
    worked, else what failed). ``False`` if we cannot see its requests (then only whole
    exports' outcomes are known): OTLP/HTTP exporters built here are seen through their
    session, OTLP/gRPC ones through a guarded SDK hook; a :class:`Tee`'s OTLP side."""
    if isinstance(exporter, Tee):
        exporter = exporter.primary
    session = getattr(exporter, "astra_otel_session", None)
    if isinstance(session, _ObservedSession):
        session.on_attempt = on_attempt
        return True
    return sdk_private.watch_grpc_calls(
        exporter, lambda exc: on_attempt(describe_error(exc) if exc else None)
    )
