"""One frozen :class:`Settings`, resolved once by :func:`load_settings`.

Keyword arguments > environment > defaults, per declared :class:`Param`. Options given as
Python values (not strings) are checked by the same rules as the environment, so
``sampler_arg=1.5`` fails exactly like ``OTEL_TRACES_SAMPLER_ARG=1.5``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from astra_otel._internal import config_params as p
from astra_otel._internal.params import Param
from astra_otel.errors import ConfigError

__all__ = [
    "ExportSettings",
    "InstrumentationOptions",
    "InstrumentationSettings",
    "LogsOptions",
    "LogsSettings",
    "MetricsOptions",
    "MetricsSettings",
    "Settings",
    "TracesOptions",
    "TracesSettings",
    "diff_settings",
    "load_settings",
]

T = TypeVar("T")


# --- what users pass (every field optional: None means "environment, then default") ---


@dataclass(frozen=True)
class TracesOptions:
    """Trace pipeline options for ``setup(traces=...)``; durations in seconds."""

    enabled: bool | None = None
    endpoint: str | None = None
    protocol: str | None = None
    headers: Mapping[str, str] | None = None
    timeout: float | None = None
    sampler: str | None = None
    sampler_arg: float | None = None
    max_queue_size: int | None = None
    max_export_batch_size: int | None = None
    schedule_delay: float | None = None


@dataclass(frozen=True)
class MetricsOptions:
    """Metric pipeline options for ``setup(metrics=...)``; durations in seconds."""

    enabled: bool | None = None
    endpoint: str | None = None
    protocol: str | None = None
    headers: Mapping[str, str] | None = None
    timeout: float | None = None
    export_interval: float | None = None
    prometheus_port: int | None = None


@dataclass(frozen=True)
class LogsOptions:
    """Log pipeline options for ``setup(logs=...)``; durations in seconds."""

    enabled: bool | None = None
    endpoint: str | None = None
    protocol: str | None = None
    headers: Mapping[str, str] | None = None
    timeout: float | None = None
    level: str | None = None
    console: str | None = None
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


# --- what the wiring receives (fully resolved, hashable, comparable) ---


@dataclass(frozen=True)
class ExportSettings:
    """Where and how one signal is exported over OTLP."""

    endpoint: str
    protocol: str
    headers: tuple[tuple[str, str], ...]
    timeout: float


@dataclass(frozen=True)
class TracesSettings:
    """Resolved trace pipeline."""

    enabled: bool
    export: ExportSettings
    sampler: str
    sampler_arg: float
    max_queue_size: int
    max_export_batch_size: int
    schedule_delay: float
    batch_export_timeout: float


@dataclass(frozen=True)
class MetricsSettings:
    """Resolved metric pipeline."""

    enabled: bool
    export: ExportSettings
    export_interval: float
    export_timeout: float
    prometheus_port: int


@dataclass(frozen=True)
class LogsSettings:
    """Resolved log pipeline."""

    enabled: bool
    export: ExportSettings
    level: str
    console: str
    max_queue_size: int
    max_export_batch_size: int
    schedule_delay: float
    batch_export_timeout: float


@dataclass(frozen=True)
class InstrumentationSettings:
    """Resolved instrumentation switches."""

    fastapi: bool
    requests: bool
    redis: bool
    sqlalchemy: bool
    capture_headers: bool
    excluded_urls: tuple[str, ...]
    fastapi_exclude_spans: tuple[str, ...]
    semconv_opt_in: tuple[str, ...] = ("http", "database")


@dataclass(frozen=True)
class Settings:
    """Everything ``setup()`` decided, resolved once; equal settings mean the same setup."""

    enabled: bool
    service_name: str
    service_version: str | None
    service_namespace: str | None
    environment: str
    resource_attributes: tuple[tuple[str, str], ...]
    traces: TracesSettings
    metrics: MetricsSettings
    logs: LogsSettings
    instrumentations: InstrumentationSettings
    shutdown_timeout: float
    gc_freeze: bool = True
    export_warnings: bool = True


# --- loader ---

_Check = Callable[[Any], object]


def _check_str(parser: Callable[[str], object]) -> _Check:
    def check(value: Any) -> object:
        return parser(str(value))

    return check


def _check_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise TypeError(value)
    text = ",".join(f"{k}={v}" for k, v in value.items())
    if any("," in str(k) or "=" in str(k) for k in value):
        raise ValueError(value)
    return p.parse_resource_attributes(text)


def _check_headers(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise TypeError(value)
    return tuple((str(k).lower(), str(v)) for k, v in value.items())


def _check_nonneg(value: Any) -> float:
    number = float(value)
    if number < 0 or math.isnan(number):
        raise ValueError(value)
    return number


def _check_positive_int(value: Any) -> int:
    if isinstance(value, bool) or int(value) != value or value <= 0:
        raise ValueError(value)
    return int(value)


def _check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _check_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return p.parse_csv(value)
    return tuple(str(v) for v in value)


def _check_port(value: Any) -> int:
    return p.parse_optional_port(str(int(value)))


def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    return value


def _opt_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


_CHECKS: dict[str, _Check] = {
    "enabled": _check_bool,
    "service_name": _check_name,
    "service_version": _opt_str,
    "service_namespace": _opt_str,
    "environment": _opt_str,
    "resource_attributes": _check_pairs,
    "endpoint": _check_str(p.parse_endpoint),
    "protocol": _check_str(p.parse_protocol),
    "headers": _check_headers,
    "export_timeout": _check_nonneg,
    "shutdown_timeout": _check_nonneg,
    "gc_freeze": _check_bool,
    "export_warnings": _check_bool,
}
for _signal in p.SIGNALS:
    _CHECKS.update(
        {
            f"{_signal}.enabled": _check_bool,
            f"{_signal}.endpoint": _check_str(p.parse_endpoint),
            f"{_signal}.protocol": _check_str(p.parse_protocol),
            f"{_signal}.headers": _check_headers,
            f"{_signal}.timeout": _check_nonneg,
            f"{_signal}.schedule_delay": _check_nonneg,
            f"{_signal}.max_queue_size": _check_positive_int,
            f"{_signal}.max_export_batch_size": _check_positive_int,
        }
    )
_CHECKS.update(
    {
        "traces.sampler": _check_str(p.parse_sampler),
        "traces.sampler_arg": _check_str(p.parse_ratio),
        "metrics.export_interval": _check_nonneg,
        "metrics.prometheus_port": _check_port,
        "logs.level": _check_str(p.parse_log_level),
        "logs.console": _check_str(p.parse_log_console),
        "instrumentations.capture_headers": _check_bool,
        "instrumentations.excluded_urls": _check_tuple,
        "instrumentations.fastapi_exclude_spans": _check_tuple,
        "instrumentations.semconv_opt_in": _check_tuple,
    }
)
for _name in p.INSTRUMENT:
    _CHECKS[f"instrumentations.{_name}"] = _check_bool


class _Resolver:
    def __init__(self, kwargs: Mapping[str, object], environ: Mapping[str, str]) -> None:
        self.kwargs = kwargs
        self.environ = environ

    def explicit(self, param: Param[T]) -> bool:
        """Whether an argument or environment variable gave this setting (not its default)."""
        if self.kwargs.get(param.name) is not None:
            return True
        return any(self.environ.get(var, "").strip() for var in param.env)

    def get(self, param: Param[T]) -> T:
        value = self.kwargs.get(param.name)
        if value is None or isinstance(value, str):
            return param.resolve(self.kwargs, self.environ)
        check = _CHECKS.get(param.name)
        if check is None:
            return value  # type: ignore[return-value]  # typed by setup()'s signature
        try:
            return check(value)  # type: ignore[return-value]  # checkers return the param's type
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{param.name} (argument)", value, param.accepted) from exc


def _flatten(prefix: str, options: object | None) -> dict[str, object]:
    if options is None:
        return {}
    out: dict[str, object] = {}
    for f in dataclasses.fields(options):  # type: ignore[arg-type]  # options are dataclasses
        value = getattr(options, f.name)
        if value is not None:
            out[f"{prefix}.{f.name}"] = value
    return out


def _export(r: _Resolver, signal: str, sp: p.SignalParams) -> ExportSettings:
    protocol = r.get(sp.protocol) or r.get(p.PROTOCOL)
    headers = r.get(sp.headers)
    timeout = r.get(sp.timeout)
    endpoint = r.get(sp.endpoint)
    if endpoint is None:
        base = r.get(p.ENDPOINT)
        if base is None:
            base = "http://localhost:4317" if protocol == "grpc" else "http://localhost:4318"
        endpoint = base if protocol == "grpc" else base.rstrip("/") + f"/v1/{signal}"
    return ExportSettings(
        endpoint=endpoint,
        protocol=protocol,
        headers=headers if headers is not None else r.get(p.HEADERS),
        timeout=timeout if timeout is not None else r.get(p.EXPORT_TIMEOUT),
    )


def load_settings(
    kwargs: Mapping[str, object],
    environ: Mapping[str, str],
    *,
    traces: TracesOptions | None = None,
    metrics: MetricsOptions | None = None,
    logs: LogsOptions | None = None,
    instrumentations: InstrumentationOptions | None = None,
) -> Settings:
    """Resolve every setting once: keyword argument > environment > default."""
    flat: dict[str, object] = {k: v for k, v in kwargs.items() if v is not None}
    flat.update(_flatten("traces", traces))
    flat.update(_flatten("metrics", metrics))
    flat.update(_flatten("logs", logs))
    flat.update(_flatten("instrumentations", instrumentations))
    r = _Resolver(flat, environ)

    attrs = r.get(p.RESOURCE_ATTRIBUTES)
    attr_map = dict(attrs)
    name = r.get(p.SERVICE_NAME)
    if not r.explicit(p.SERVICE_NAME):
        name = attr_map.get("service.name", name)

    traces_s = TracesSettings(
        enabled=r.get(p.TRACES.enabled),
        export=_export(r, "traces", p.TRACES),
        sampler=r.get(p.SAMPLER),
        sampler_arg=r.get(p.SAMPLER_ARG),
        max_queue_size=r.get(p.BSP_QUEUE),
        max_export_batch_size=r.get(p.BSP_BATCH),
        schedule_delay=r.get(p.BSP_DELAY),
        batch_export_timeout=r.get(p.BSP_TIMEOUT),
    )
    metrics_s = MetricsSettings(
        enabled=r.get(p.METRICS.enabled),
        export=_export(r, "metrics", p.METRICS),
        export_interval=r.get(p.METRIC_EXPORT_INTERVAL),
        export_timeout=r.get(p.METRIC_EXPORT_TIMEOUT),
        prometheus_port=r.get(p.PROMETHEUS_PORT),
    )
    logs_s = LogsSettings(
        enabled=r.get(p.LOGS.enabled),
        export=_export(r, "logs", p.LOGS),
        level=r.get(p.LOG_LEVEL),
        console=r.get(p.LOG_CONSOLE),
        max_queue_size=r.get(p.BLRP_QUEUE),
        max_export_batch_size=r.get(p.BLRP_BATCH),
        schedule_delay=r.get(p.BLRP_DELAY),
        batch_export_timeout=r.get(p.BLRP_TIMEOUT),
    )
    inst = InstrumentationSettings(
        fastapi=r.get(p.INSTRUMENT["fastapi"]),
        requests=r.get(p.INSTRUMENT["requests"]),
        redis=r.get(p.INSTRUMENT["redis"]),
        sqlalchemy=r.get(p.INSTRUMENT["sqlalchemy"]),
        capture_headers=r.get(p.CAPTURE_HEADERS),
        excluded_urls=r.get(p.EXCLUDED_URLS),
        fastapi_exclude_spans=r.get(p.FASTAPI_EXCLUDE_SPANS),
        semconv_opt_in=r.get(p.SEMCONV_OPT_IN),
    )
    version = r.get(p.SERVICE_VERSION) or attr_map.get("service.version")
    namespace = r.get(p.SERVICE_NAMESPACE) or attr_map.get("service.namespace")
    environment = r.get(p.DEPLOYMENT_ENVIRONMENT)
    if not r.explicit(p.DEPLOYMENT_ENVIRONMENT):
        environment = attr_map.get("deployment.environment.name", environment)
    return Settings(
        enabled=r.get(p.ENABLED),
        service_name=name,
        service_version=version,
        service_namespace=namespace,
        environment=environment,
        resource_attributes=attrs,
        traces=traces_s,
        metrics=metrics_s,
        logs=logs_s,
        instrumentations=inst,
        shutdown_timeout=r.get(p.SHUTDOWN_TIMEOUT),
        gc_freeze=r.get(p.GC_FREEZE),
        export_warnings=r.get(p.EXPORT_WARNINGS),
    )


def diff_settings(old: Settings, new: Settings, prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ between two settings objects."""
    out: list[str] = []
    for f in dataclasses.fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
            out.extend(diff_settings(a, b, f"{prefix}{f.name}."))  # type: ignore[arg-type]
        else:
            out.append(f"{prefix}{f.name}")
    return out
