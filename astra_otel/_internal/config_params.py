"""Every setting ``setup()`` reads, declared once as a :class:`Param`.

Standard ``OTEL_*`` variables come first where one exists; the rest are ``ASTRA_OTEL_*``.
Durations are seconds in keyword arguments; the standard variables carry milliseconds
(as the OpenTelemetry specification says) and are converted by their parsers.
Per-signal parameters are named ``<signal>.<option>`` (``traces.endpoint``) and are fed
from ``TracesOptions``/``MetricsOptions``/``LogsOptions`` in ``setup()``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlparse

from astra_otel._internal.params import (
    Param,
    parse_bool,
    parse_nonneg_float,
    parse_port,
    parse_positive_int,
    register,
)

__all__ = [
    "CAPTURE_HEADERS",
    "DEPLOYMENT_ENVIRONMENT",
    "ENABLED",
    "ENDPOINT",
    "EXCLUDED_URLS",
    "EXPORT_TIMEOUT",
    "EXPORT_WARNINGS",
    "FASTAPI_EXCLUDE_SPANS",
    "GC_FREEZE",
    "HEADERS",
    "INSTRUMENT",
    "LOGS",
    "LOG_CONSOLE",
    "LOG_LEVEL",
    "METRICS",
    "METRIC_EXPORT_INTERVAL",
    "METRIC_EXPORT_TIMEOUT",
    "PROMETHEUS_PORT",
    "PROTOCOL",
    "RESOURCE_ATTRIBUTES",
    "SAMPLER",
    "SAMPLER_ARG",
    "SEMCONV_OPT_IN",
    "SERVICE_NAME",
    "SERVICE_NAMESPACE",
    "SERVICE_VERSION",
    "SHUTDOWN_TIMEOUT",
    "SIGNALS",
    "TRACES",
    "SignalParams",
    "parse_endpoint",
    "parse_headers",
    "parse_log_level",
    "parse_millis",
    "parse_protocol",
    "parse_ratio",
    "parse_resource_attributes",
    "parse_sampler",
]

SIGNALS = ("traces", "metrics", "logs")
PROTOCOLS = ("grpc", "http/protobuf")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
LOG_CONSOLE_FORMATS = ("none", "text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-/]+$")


# --- parsers (raise ValueError on bad input; the loader builds the ConfigError) ---


def parse_disabled_flag(raw: str) -> bool:
    """``OTEL_SDK_DISABLED=true`` means *not* enabled."""
    return not parse_bool(raw)


def parse_enabled_flag(raw: str) -> bool:
    """A true/false switch."""
    return parse_bool(raw)


def parse_endpoint(raw: str) -> str:
    """An absolute http(s) URL with a host, e.g. ``http://127.0.0.1:4318``."""
    url = urlparse(raw.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(raw)
    _ = url.port  # raises ValueError on a non-numeric or out-of-range port
    return raw.strip()


def parse_protocol(raw: str) -> str:
    """``grpc`` or ``http/protobuf``."""
    value = raw.strip().lower()
    if value not in PROTOCOLS:
        raise ValueError(raw)
    return value


def _parse_pairs(raw: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = unquote(key.strip())
        if not sep or not key or not _KEY_RE.match(key):
            raise ValueError(item)
        pairs.append((key, unquote(value.strip())))
    return tuple(pairs)


def parse_headers(raw: str) -> tuple[tuple[str, str], ...]:
    """``key=value,key2=value2`` (values URL-encoded), as in the OTLP exporter spec."""
    return tuple((k.lower(), v) for k, v in _parse_pairs(raw))


def parse_resource_attributes(raw: str) -> tuple[tuple[str, str], ...]:
    """``key=value,key2=value2`` (W3C baggage form), as in ``OTEL_RESOURCE_ATTRIBUTES``."""
    return _parse_pairs(raw)


def parse_millis(raw: str) -> float:
    """A non-negative number of milliseconds, returned as seconds."""
    return parse_nonneg_float(raw) / 1000.0


def parse_ratio(raw: str) -> float:
    """A number in [0, 1]."""
    value = float(raw.strip())
    if not 0.0 <= value <= 1.0:
        raise ValueError(raw)
    return value


def parse_sampler(raw: str) -> str:
    """One of the standard ``OTEL_TRACES_SAMPLER`` names we support."""
    value = raw.strip().lower()
    if value not in SAMPLERS:
        raise ValueError(raw)
    return value


def parse_log_console(raw: str) -> str:
    """``none``, ``text`` or ``json``."""
    value = raw.strip().lower()
    if value not in LOG_CONSOLE_FORMATS:
        raise ValueError(raw)
    return value


def parse_log_level(raw: str) -> str:
    """A stdlib logging level name."""
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ValueError(raw)
    return value


def parse_csv(raw: str) -> tuple[str, ...]:
    """Comma-separated values."""
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def parse_optional_port(raw: str) -> int:
    """A TCP port; 0 turns the option off."""
    if raw.strip() == "0":
        return 0
    return parse_port(raw)


_MS = "a number of milliseconds >= 0"
_SEC = "a number of seconds >= 0"
_BOOL = "true or false"

# --- service and resource ---
ENABLED = register(
    Param(
        "enabled",
        ("OTEL_SDK_DISABLED",),
        True,
        parse_disabled_flag,
        _BOOL,
        "Turn everything off (the OpenTelemetry API stays a no-op). "
        "`OTEL_SDK_DISABLED=true` is the same as `enabled=False`.",
    )
)
SERVICE_NAME = register(
    Param(
        "service_name",
        ("OTEL_SERVICE_NAME",),
        "unknown_service",
        str,
        "a non-empty string",
        "`service.name`; also taken from `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.",
    )
)
SERVICE_VERSION = register(
    Param[str | None](
        "service_version",
        ("ASTRA_OTEL_SERVICE_VERSION",),
        None,
        str,
        "a string",
        "`service.version`.",
    )
)
SERVICE_NAMESPACE = register(
    Param[str | None](
        "service_namespace",
        ("ASTRA_OTEL_SERVICE_NAMESPACE",),
        None,
        str,
        "a string",
        "`service.namespace` (Prometheus `job` becomes `namespace/name`).",
    )
)
DEPLOYMENT_ENVIRONMENT = register(
    Param(
        "environment",
        ("ASTRA_OTEL_ENVIRONMENT",),
        "development",
        str,
        "a string",
        "`deployment.environment.name`.",
    )
)
RESOURCE_ATTRIBUTES = register(
    Param[tuple[tuple[str, str], ...]](
        "resource_attributes",
        ("OTEL_RESOURCE_ATTRIBUTES",),
        (),
        parse_resource_attributes,
        "comma-separated key=value pairs (URL-encoded values)",
        "Extra resource attributes; explicit settings above win over the same key here.",
    )
)

# --- OTLP export, general (each signal may override) ---
ENDPOINT = register(
    Param[str | None](
        "endpoint",
        ("OTEL_EXPORTER_OTLP_ENDPOINT",),
        None,
        parse_endpoint,
        "an http:// or https:// URL with a host",
        "Collector base URL. Default `http://localhost:4318` (http/protobuf) or "
        "`http://localhost:4317` (grpc). For http/protobuf `/v1/<signal>` is appended.",
    )
)
PROTOCOL = register(
    Param(
        "protocol",
        ("OTEL_EXPORTER_OTLP_PROTOCOL",),
        "http/protobuf",
        parse_protocol,
        "one of grpc, http/protobuf",
        "OTLP transport.",
    )
)
HEADERS = register(
    Param[tuple[tuple[str, str], ...]](
        "headers",
        ("OTEL_EXPORTER_OTLP_HEADERS",),
        (),
        parse_headers,
        "comma-separated key=value pairs (URL-encoded values)",
        "Headers sent with every export request.",
    )
)
EXPORT_TIMEOUT = register(
    Param(
        "export_timeout",
        ("OTEL_EXPORTER_OTLP_TIMEOUT",),
        10.0,
        parse_millis,
        _MS,
        "Time limit of one export request, retries included (argument in seconds).",
    )
)


class SignalParams:
    """The per-signal OTLP overrides of one signal (`OTEL_EXPORTER_OTLP_<SIGNAL>_*`)."""

    def __init__(self, signal: str) -> None:
        up = signal.upper()
        self.endpoint = register(
            Param[str | None](
                f"{signal}.endpoint",
                (f"OTEL_EXPORTER_OTLP_{up}_ENDPOINT",),
                None,
                parse_endpoint,
                "an http:// or https:// URL with a host",
                f"Full URL for {signal}, used as-is (no path appended).",
            )
        )
        self.protocol = register(
            Param[str | None](
                f"{signal}.protocol",
                (f"OTEL_EXPORTER_OTLP_{up}_PROTOCOL",),
                None,
                parse_protocol,
                "one of grpc, http/protobuf",
                f"OTLP transport for {signal}.",
            )
        )
        self.headers = register(
            Param[tuple[tuple[str, str], ...] | None](
                f"{signal}.headers",
                (f"OTEL_EXPORTER_OTLP_{up}_HEADERS",),
                None,
                parse_headers,
                "comma-separated key=value pairs (URL-encoded values)",
                f"Headers for {signal} export requests.",
            )
        )
        self.timeout = register(
            Param[float | None](
                f"{signal}.timeout",
                (f"OTEL_EXPORTER_OTLP_{up}_TIMEOUT",),
                None,
                parse_millis,
                _MS,
                f"Time limit of one {signal} export request (argument in seconds).",
            )
        )
        self.enabled = register(
            Param(
                f"{signal}.enabled",
                (f"ASTRA_OTEL_{up}_ENABLED",),
                True,
                parse_enabled_flag,
                _BOOL,
                f"Export {signal}.",
            )
        )


TRACES = SignalParams("traces")
METRICS = SignalParams("metrics")
LOGS = SignalParams("logs")

# --- traces ---
SAMPLER = register(
    Param(
        "traces.sampler",
        ("OTEL_TRACES_SAMPLER",),
        "parentbased_always_on",
        parse_sampler,
        "one of " + ", ".join(SAMPLERS),
        "Sampler.",
    )
)
SAMPLER_ARG = register(
    Param(
        "traces.sampler_arg",
        ("OTEL_TRACES_SAMPLER_ARG",),
        1.0,
        parse_ratio,
        "a number in [0, 1]",
        "Ratio for the traceidratio samplers.",
    )
)


def _batch_params(signal: str, prefix: str, delay_ms: int) -> tuple[Param[float], ...]:
    return (
        register(
            Param(
                f"{signal}.schedule_delay",
                (f"{prefix}_SCHEDULE_DELAY",),
                delay_ms / 1000.0,
                parse_millis,
                _MS,
                f"Longest wait before a {signal} batch is exported (argument in seconds).",
            )
        ),
        register(
            Param(
                f"{signal}.batch_export_timeout",
                (f"{prefix}_EXPORT_TIMEOUT",),
                30.0,
                parse_millis,
                _MS,
                f"Time limit of one {signal} batch export (argument in seconds).",
            )
        ),
    )


def _size_params(signal: str, prefix: str) -> tuple[Param[int], ...]:
    return (
        register(
            Param(
                f"{signal}.max_queue_size",
                (f"{prefix}_MAX_QUEUE_SIZE",),
                2048,
                parse_positive_int,
                "an integer > 0",
                f"Bound of the {signal} queue; when full the oldest item is dropped and counted.",
            )
        ),
        register(
            Param(
                f"{signal}.max_export_batch_size",
                (f"{prefix}_MAX_EXPORT_BATCH_SIZE",),
                512,
                parse_positive_int,
                "an integer > 0",
                f"Largest {signal} batch per export request.",
            )
        ),
    )


# 1 s rather than the specification's 5 s: a span then reaches Jaeger within ~2 s at p95
# (benchmarks/bench_pipeline_freshness.py; 5 s gave a 5.3 s p95). A full batch
# (max_export_batch_size) is still exported at once, so busy services are unaffected.
BSP_DELAY, BSP_TIMEOUT = _batch_params("traces", "OTEL_BSP", 1000)
BSP_QUEUE, BSP_BATCH = _size_params("traces", "OTEL_BSP")
BLRP_DELAY, BLRP_TIMEOUT = _batch_params("logs", "OTEL_BLRP", 1000)
BLRP_QUEUE, BLRP_BATCH = _size_params("logs", "OTEL_BLRP")

# --- metrics ---
METRIC_EXPORT_INTERVAL = register(
    Param(
        "metrics.export_interval",
        ("OTEL_METRIC_EXPORT_INTERVAL",),
        15.0,
        parse_millis,
        _MS,
        "Period of the metric reader (argument in seconds). Default 15 s (the specification "
        "says 60 s) to match a 15 s Prometheus scrape.",
    )
)
METRIC_EXPORT_TIMEOUT = register(
    Param(
        "metrics.export_timeout_total",
        ("OTEL_METRIC_EXPORT_TIMEOUT",),
        30.0,
        parse_millis,
        _MS,
        "Time limit of one metric collection + export (argument in seconds).",
    )
)
PROMETHEUS_PORT = register(
    Param(
        "metrics.prometheus_port",
        ("ASTRA_OTEL_PROMETHEUS_PORT",),
        0,
        parse_optional_port,
        "a TCP port in 1..65535, or 0 for off",
        "Serve a Prometheus pull endpoint on 127.0.0.1 at this port (off by default).",
    )
)

# --- logs ---
LOG_LEVEL = register(
    Param(
        "logs.level",
        ("ASTRA_OTEL_LOG_LEVEL",),
        "INFO",
        parse_log_level,
        "one of " + ", ".join(LOG_LEVELS),
        "Lowest level the logging bridge exports; the root logger is lowered to it if higher.",
    )
)
LOG_CONSOLE = register(
    Param(
        "logs.console",
        ("ASTRA_OTEL_LOG_CONSOLE",),
        "none",
        parse_log_console,
        "one of none, text, json",
        "Also print records to stderr: `json` is one object per line with trace_id/span_id.",
    )
)

# --- instrumentations ---
INSTRUMENT = {
    name: register(
        Param(
            f"instrumentations.{name}",
            (f"ASTRA_OTEL_INSTRUMENT_{name.upper()}",),
            True,
            parse_enabled_flag,
            _BOOL,
            f"Instrument {name} when it is importable.",
        )
    )
    for name in ("fastapi", "requests", "redis", "sqlalchemy")
}
CAPTURE_HEADERS = register(
    Param(
        "instrumentations.capture_headers",
        ("ASTRA_OTEL_CAPTURE_HEADERS",),
        False,
        parse_enabled_flag,
        _BOOL,
        "Record HTTP request/response headers; sensitive ones are replaced by `[REDACTED]`.",
    )
)
EXCLUDED_URLS = register(
    Param[tuple[str, ...]](
        "instrumentations.excluded_urls",
        ("ASTRA_OTEL_EXCLUDED_URLS",),
        ("/health", "/healthz", "/livez", "/readyz", "/metrics"),
        parse_csv,
        "comma-separated URL path patterns",
        "Server routes that produce no spans.",
    )
)
FASTAPI_EXCLUDE_SPANS = register(
    Param[tuple[str, ...]](
        "instrumentations.fastapi_exclude_spans",
        ("ASTRA_OTEL_FASTAPI_EXCLUDE_SPANS",),
        ("receive", "send"),
        parse_csv,
        "comma-separated subset of receive, send (empty to keep both)",
        "FastAPI per-message ASGI spans left out. Keeping either switches from our lean "
        "middleware to the contrib `FastAPIInstrumentor`, which has them.",
    )
)

SEMCONV_OPT_IN = register(
    Param[tuple[str, ...]](
        "instrumentations.semconv_opt_in",
        ("OTEL_SEMCONV_STABILITY_OPT_IN",),
        ("http", "database"),
        parse_csv,
        "comma-separated subset of http, http/dup, database, database/dup",
        "Semantic-convention mode of the instrumentations. Default: the stable HTTP and "
        "database conventions (`http.server.request.duration` in seconds, which the "
        "dashboards query), not the contrib default (old names).",
    )
)

# --- lifecycle ---
SHUTDOWN_TIMEOUT = register(
    Param(
        "shutdown_timeout",
        ("ASTRA_OTEL_SHUTDOWN_TIMEOUT",),
        5.0,
        parse_nonneg_float,
        _SEC,
        "Deadline for the flush at exit/SIGTERM, all three signals in parallel.",
    )
)
GC_FREEZE = register(
    Param(
        "gc_freeze",
        ("ASTRA_OTEL_GC_FREEZE",),
        True,
        parse_enabled_flag,
        _BOOL,
        "Call `gc.freeze()` after setup so long-lived SDK objects leave the collector's scans.",
    )
)
EXPORT_WARNINGS = register(
    Param(
        "export_warnings",
        ("ASTRA_OTEL_EXPORT_WARNINGS",),
        True,
        parse_enabled_flag,
        _BOOL,
        "Print one line on stderr (not through `logging`) when a signal's exports start "
        "failing, again at most once a minute while they fail, one when they recover, and "
        "one at exit naming what was not exported. `false` keeps them quiet; `health()` "
        "still carries the last error.",
    )
)
