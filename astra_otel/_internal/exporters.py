"""OTLP exporters built from resolved settings, never from the environment.

Every argument the SDK exporters would otherwise look up in ``OTEL_*`` variables
(endpoint, headers, timeout, compression, insecure) is passed explicitly, so what runs
is what ``Settings`` says. Exporters sit in an :class:`ExporterSlot` that can be emptied
in a forked child (a gRPC channel or HTTP session must not be shared across a fork).
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import requests

from astra_otel._internal.settings import ExportSettings

__all__ = ["ExporterSlot", "log_exporter", "metric_exporter", "span_exporter"]

E = TypeVar("E")


class ExporterSlot(Generic[E]):
    """Holds one exporter, created on first use; a forked child gets a new one."""

    def __init__(self, factory: Callable[[], E]) -> None:
        self._factory = factory
        self._exporter: E | None = None
        self._lock = threading.Lock()

    def get(self) -> E:
        """The exporter, created now if needed."""
        exporter = self._exporter
        if exporter is None:
            with self._lock:
                if self._exporter is None:
                    self._exporter = self._factory()
                exporter = self._exporter
        return exporter

    def shutdown(self) -> None:
        """Shut the exporter down (aborts an OTLP retry wait); never raises."""
        exporter = self._exporter
        if exporter is not None:
            with contextlib.suppress(Exception):  # shutdown is best-effort by contract
                exporter.shutdown()  # type: ignore[attr-defined]  # every SDK exporter has it

    def after_fork_in_child(self) -> None:
        """Forget the parent's exporter without touching its sockets/threads."""
        self._lock = threading.Lock()
        self._exporter = None


def _common(export: ExportSettings, timeout: float) -> dict[str, Any]:
    return {
        "endpoint": export.endpoint,
        "headers": dict(export.headers),
        "timeout": timeout,
    }


def _grpc_extra(export: ExportSettings) -> dict[str, Any]:
    grpc: Any = importlib.import_module("grpc")  # heavy, only for the grpc protocol

    return {
        "insecure": export.endpoint.startswith("http://"),
        "compression": grpc.Compression.NoCompression,
    }


def _http_extra() -> dict[str, Any]:
    from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: PLC0415  # optional/heavy, loaded on use

    # trust_env=False: requests would otherwise read proxy/netrc/CA variables from the
    # environment on every request (our settings are the configuration), and its lazy
    # `import netrc` on an export thread can be copied half-done into a forked child,
    # which then deadlocks on that module's import lock.
    session = requests.Session()
    session.trust_env = False
    return {"compression": Compression.NoCompression, "session": session}


def span_exporter(export: ExportSettings, timeout: float) -> Any:
    """An OTLP span exporter for ``export`` whose export calls end within ``timeout`` s."""
    if export.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415  # optional/heavy, loaded on use

        return OTLPSpanExporter(**_common(export, timeout), **_grpc_extra(export))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415  # optional/heavy, loaded on use
        OTLPSpanExporter as HTTPSpanExporter,
    )

    return HTTPSpanExporter(**_common(export, timeout), **_http_extra())


def log_exporter(export: ExportSettings, timeout: float) -> Any:
    """An OTLP log exporter for ``export``."""
    if export.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter  # noqa: PLC0415  # optional/heavy, loaded on use

        return OTLPLogExporter(**_common(export, timeout), **_grpc_extra(export))
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (  # noqa: PLC0415  # optional/heavy, loaded on use
        OTLPLogExporter as HTTPLogExporter,
    )

    return HTTPLogExporter(**_common(export, timeout), **_http_extra())


def metric_exporter(export: ExportSettings, timeout: float, **kwargs: Any) -> Any:
    """An OTLP metric exporter for ``export`` (``kwargs``: temporality/aggregation)."""
    if export.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter  # noqa: PLC0415  # optional/heavy, loaded on use

        return OTLPMetricExporter(**_common(export, timeout), **_grpc_extra(export), **kwargs)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # noqa: PLC0415  # optional/heavy, loaded on use
        OTLPMetricExporter as HTTPMetricExporter,
    )

    return HTTPMetricExporter(**_common(export, timeout), **_http_extra(), **kwargs)
