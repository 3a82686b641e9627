"""The option dataclasses users pass to ``setup()`` (every field optional).

``None`` means "the environment, then the default". Each field is the argument of the
declared setting ``<group>.<field>`` in :mod:`astra_otel._config.setup_params`, with the
type its kind accepts; ``tests/_config/test_declarations.py`` proves they match.
Durations are seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "InstrumentationOptions",
    "LogsOptions",
    "MetricsOptions",
    "SignalOptions",
    "TracesOptions",
]


@dataclass(frozen=True)
class SignalOptions:
    """What every signal's options have: the switch, the exporter selection and the OTLP
    export (each falling back to the general ``setup()`` argument of the same name)."""

    enabled: bool | None = None
    exporter: str | tuple[str, ...] | None = None
    endpoint: str | None = None
    protocol: str | None = None
    headers: Mapping[str, str] | None = None
    timeout: float | None = None
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None


@dataclass(frozen=True)
class TracesOptions(SignalOptions):
    """Trace pipeline options for ``setup(traces=...)``; durations in seconds."""

    sampler: str | None = None
    sampler_arg: float | None = None
    max_queue_size: int | None = None
    max_export_batch_size: int | None = None
    schedule_delay: float | None = None


@dataclass(frozen=True)
class MetricsOptions(SignalOptions):
    """Metric pipeline options for ``setup(metrics=...)``; durations in seconds."""

    export_interval: float | None = None
    prometheus_port: int | None = None


@dataclass(frozen=True)
class LogsOptions(SignalOptions):
    """Log pipeline options for ``setup(logs=...)``; durations in seconds."""

    level: str | None = None
    console: str | None = None
    access: bool | None = None
    max_queue_size: int | None = None
    max_export_batch_size: int | None = None
    schedule_delay: float | None = None


@dataclass(frozen=True)
class InstrumentationOptions:
    """Which libraries to instrument (each only if importable) and header capture."""

    fastapi: bool | None = None
    requests: bool | None = None
    redis: bool | None = None
    sqlalchemy: bool | None = None
    capture_headers: bool | None = None
    excluded_urls: tuple[str, ...] | None = None
    fastapi_exclude_spans: tuple[str, ...] | None = None
    semconv_opt_in: tuple[str, ...] | None = None
