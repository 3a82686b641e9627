"""One frozen :class:`Settings`, resolved once by :func:`load_settings`.

Every declared setting (:mod:`astra_otel._config.setup_params`) is resolved once, keyword
argument > environment > default, and checked by its kind, so ``sampler_arg=1.5`` fails
like ``OTEL_TRACES_SAMPLER_ARG=1.5``. A field of :class:`Settings` takes the value of the
setting with the same dotted name; the few fields that combine settings (the OTLP export
of each signal, the service fields that ``OTEL_RESOURCE_ATTRIBUTES`` may supply) are
derived in :func:`load_settings`, and nothing else.
"""

from __future__ import annotations

import dataclasses
import typing
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from astra_otel._config import setup_params as declared
from astra_otel._config.params import Param
from astra_otel.errors import ConfigError

__all__ = [
    "ExportSettings",
    "InstrumentationSettings",
    "LogsSettings",
    "MetricsSettings",
    "Settings",
    "TracesSettings",
    "diff_settings",
    "load_settings",
    "public_name",
    "warn_ignored",
]

D = TypeVar("D")


@dataclass(frozen=True)
class ExportSettings:
    """Where and how one signal is exported over OTLP."""

    endpoint: str
    protocol: str
    headers: tuple[tuple[str, str], ...]
    timeout: float
    certificate: str | None = None
    """CA file that verifies the collector (``None``: the system's trust store)."""
    client_certificate: str | None = None
    client_key: str | None = None


@dataclass(frozen=True)
class TracesSettings:
    """Resolved trace pipeline; ``exporter`` is ``()`` for ``none``."""

    enabled: bool
    exporter: tuple[str, ...]
    export: ExportSettings
    sampler: str
    sampler_arg: float
    max_queue_size: int
    max_export_batch_size: int
    schedule_delay: float
    batch_export_timeout: float


@dataclass(frozen=True)
class MetricsSettings:
    """Resolved metric pipeline; ``exporter`` is ``()`` for ``none``."""

    enabled: bool
    exporter: tuple[str, ...]
    export: ExportSettings
    export_interval: float
    export_timeout: float
    prometheus_port: int


@dataclass(frozen=True)
class LogsSettings:
    """Resolved log pipeline; ``exporter`` is ``()`` for ``none``."""

    enabled: bool
    exporter: tuple[str, ...]
    export: ExportSettings
    level: str
    console: str
    access: bool
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
    semconv_opt_in: tuple[str, ...]


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
    gc_freeze: bool
    export_warnings: bool
    redact_patterns: tuple[str, ...]
    redact_allowlist: tuple[str, ...]
    # Every declared setting as resolved from arguments/environment/defaults, before the
    # derivations above: what a repeated setup() call's conflict names (not compared).
    inputs: tuple[tuple[str, Any], ...] = dataclasses.field(default=(), compare=False, repr=False)


# --- loader ---


def _flatten(arguments: Mapping[str, object]) -> dict[str, object]:
    """Arguments by setting name: option dataclasses become ``<group>.<field>`` entries."""
    flat: dict[str, object] = {}
    for key, value in arguments.items():
        if value is None:
            continue
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                item = getattr(value, field.name)
                if item is not None:
                    flat[f"{key}.{field.name}"] = item
        else:
            flat[key] = value
    return flat


def _derive_export(values: dict[str, Any], signal: str) -> None:
    """``<signal>.export.*``: the signal's own setting, else the general one; the endpoint
    gets the ``/v1/<signal>`` path only when it comes from the general base URL."""
    for field in dataclasses.fields(ExportSettings):
        own = values[f"{signal}.{field.name}"]
        general = values[declared.GENERAL_EXPORT_NAMES.get(field.name, field.name)]
        values[f"{signal}.export.{field.name}"] = own if own is not None else general
    if values[f"{signal}.endpoint"] is None:
        grpc = values[f"{signal}.export.protocol"] == "grpc"
        base = values[declared.ENDPOINT.name]
        if base is None:
            base = "http://localhost:4317" if grpc else "http://localhost:4318"
        values[f"{signal}.export.endpoint"] = base if grpc else f"{base.rstrip('/')}/v1/{signal}"
    _check_tls(values, signal)


def _check_tls(values: Mapping[str, Any], signal: str) -> None:
    """A client certificate comes with its key, and TLS files with an https:// endpoint
    (over http:// they would be ignored and the data sent in clear)."""
    cert, key = (values[f"{signal}.export.{f}"] for f in ("client_certificate", "client_key"))
    pair = (
        (cert, key, declared.CLIENT_KEY, "a key file for the {} client certificate {}"),
        (key, cert, declared.CLIENT_CERTIFICATE, "a certificate file for the {} client key {}"),
    )
    for have, missing, param, expected in pair:
        if have is not None and missing is None:
            raise ConfigError(param.env[0], None, expected.format(signal, have))
    endpoint = values[f"{signal}.export.endpoint"]
    if endpoint.startswith("http://") and (
        values[f"{signal}.export.certificate"] is not None or cert is not None
    ):
        raise ConfigError(
            f"{signal} endpoint",
            endpoint,
            "an https:// URL when a certificate is set (over http:// TLS is not used)",
        )


def _derive_service(
    values: dict[str, Any], arguments: Mapping[str, object], environ: Mapping[str, str]
) -> None:
    """Service fields not set directly come from ``OTEL_RESOURCE_ATTRIBUTES`` if there."""
    attributes = dict(values[declared.RESOURCE_ATTRIBUTES.name])
    from_attributes: tuple[tuple[Param[Any], str], ...] = (
        (declared.SERVICE_NAME, "service.name"),
        (declared.SERVICE_VERSION, "service.version"),
        (declared.SERVICE_NAMESPACE, "service.namespace"),
        (declared.DEPLOYMENT_ENVIRONMENT, "deployment.environment.name"),
    )
    for param, key in from_attributes:
        if key not in attributes or param.given(arguments, environ):
            continue
        try:
            values[param.name] = param.kind.check(attributes[key])
        except ValueError as exc:
            source = declared.RESOURCE_ATTRIBUTES
            raise ConfigError(
                source.env[0], attributes[key], f"{key}: {param.kind.accepted}"
            ) from exc


def _build(cls: type[D], prefix: str, values: Mapping[str, Any]) -> D:
    """``cls`` with each field the value named by its dotted path (nested dataclasses too)."""
    kwargs: dict[str, Any] = {}
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]  # cls is a settings dataclass
        hint = hints[field.name]
        path = f"{prefix}{field.name}"
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            kwargs[field.name] = _build(hint, f"{path}.", values)
        else:
            kwargs[field.name] = values[path]
    return cls(**kwargs)


def load_settings(
    arguments: Mapping[str, object],
    environ: Mapping[str, str],
    **options: object,
) -> Settings:
    """Resolve every setting once: keyword argument > environment > default.

    ``arguments`` are ``setup()``'s keyword arguments (option dataclasses included, under
    ``traces``/``metrics``/``logs``/``instrumentations``); ``options`` may pass those too.
    """
    flat = _flatten({**arguments, **options})
    values: dict[str, Any] = {p.name: p.resolve(flat, environ) for p in declared.declare.params}
    values["inputs"] = tuple(values.items())
    _derive_service(values, flat, environ)
    for signal in declared.SIGNALS:
        _derive_export(values, signal)
    return _build(Settings, "", values)


def warn_ignored(environ: Mapping[str, str]) -> list[str]:
    """Warn once per standard variable that is set but not honoured; return their names.

    The value is not shown: it may be a credential.
    """
    ignored = [var for var in declared.IGNORED if environ.get(var, "").strip()]
    for var in ignored:
        warnings.warn(
            f"astra-otel does not support {var} ({declared.IGNORED[var]}); it is ignored",
            stacklevel=3,
        )
    return ignored


# --- comparing two settings objects (a repeated setup() call) ---


def public_name(name: str) -> str:
    """How a user sets the declared setting ``name``: its argument (``traces.endpoint`` is
    ``TracesOptions.endpoint``), or its variable when it has no argument."""
    param = declared.declare.by_name().get(name)
    if param is not None and not param.argument:
        return param.env[0]
    return name


def _shown(name: str, value: object) -> object:
    if name.endswith("headers") and isinstance(value, tuple):
        return {key: "***" for key, _ in value}  # header values are often credentials
    return value


def diff_settings(old: Settings, new: Settings) -> dict[str, tuple[object, object]]:
    """The settings that differ, by :func:`public_name`: ``{name: (old, new)}``, with the
    values as resolved (``None``: not given, so derived or defaulted)."""
    before, after = dict(old.inputs), dict(new.inputs)
    return {
        public_name(name): (_shown(name, value), _shown(name, after.get(name)))
        for name, value in before.items()
        if after.get(name) != value
    }
