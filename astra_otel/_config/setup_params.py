"""Every setting ``setup()`` reads, declared once.

Standard ``OTEL_*`` variables come first where one exists; the rest are ``ASTRA_OTEL_*``.
A declaration's name is its argument: a ``setup()`` keyword, or ``<signal>.<field>`` for a
field of ``TracesOptions``/``MetricsOptions``/``LogsOptions``/``InstrumentationOptions``.
The same name is the field's path in :class:`~astra_otel._config.settings.Settings`
(``traces.sampler`` is ``settings.traces.sampler``), except the OTLP export inputs, which
resolve into ``settings.<signal>.export``. ``tests/_config/test_declarations.py`` proves
the option dataclasses, the ``setup()`` signature and ``Settings`` match these.
"""

from __future__ import annotations

from astra_otel._config.kinds import (
    choice,
    duration,
    exporters,
    file,
    flag,
    name,
    names,
    pairs,
    patterns,
    port,
    ratio,
    text,
    url,
    whole,
)
from astra_otel._config.params import Declarations, Param

__all__ = [
    "CAPTURE_HEADERS",
    "CERTIFICATE",
    "CLIENT_CERTIFICATE",
    "CLIENT_KEY",
    "DEPLOYMENT_ENVIRONMENT",
    "ENABLED",
    "ENDPOINT",
    "EXCLUDED_URLS",
    "EXPORT_TIMEOUT",
    "EXPORT_WARNINGS",
    "FASTAPI_EXCLUDE_SPANS",
    "GC_FREEZE",
    "HEADERS",
    "IGNORED",
    "INSTRUMENT",
    "LOGS",
    "LOG_ACCESS",
    "LOG_CONSOLE",
    "LOG_LEVEL",
    "METRICS",
    "METRIC_EXPORT_INTERVAL",
    "METRIC_EXPORT_TIMEOUT",
    "PROMETHEUS_PORT",
    "PROTOCOL",
    "READ_BY_OPENTELEMETRY",
    "REDACT_ALLOWLIST",
    "REDACT_PATTERNS",
    "RESOURCE_ATTRIBUTES",
    "SAMPLER",
    "SAMPLERS",
    "SAMPLER_ARG",
    "SEMCONV_OPT_IN",
    "SERVICE_NAME",
    "SERVICE_NAMESPACE",
    "SERVICE_VERSION",
    "SHUTDOWN_TIMEOUT",
    "SIGNALS",
    "TRACES",
    "SignalParams",
    "declare",
]

declare = Declarations("sdk")

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
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# --- service and resource ---
ENABLED = declare(
    "enabled",
    "OTEL_SDK_DISABLED",
    True,
    flag(inverted=True),
    "Turn everything off (the OpenTelemetry API stays a no-op). "
    "`OTEL_SDK_DISABLED=true` is the same as `enabled=False`.",
)
SERVICE_NAME = declare(
    "service_name",
    "OTEL_SERVICE_NAME",
    "unknown_service",
    name(),
    "`service.name`; also taken from `service.name` in `OTEL_RESOURCE_ATTRIBUTES`.",
)
SERVICE_VERSION: Param[str | None] = declare(
    "service_version", "ASTRA_OTEL_SERVICE_VERSION", None, text(), "`service.version`."
)
SERVICE_NAMESPACE: Param[str | None] = declare(
    "service_namespace",
    "ASTRA_OTEL_SERVICE_NAMESPACE",
    None,
    text(),
    "`service.namespace` (Prometheus `job` becomes `namespace/name`).",
)
DEPLOYMENT_ENVIRONMENT = declare(
    "environment",
    "ASTRA_OTEL_ENVIRONMENT",
    "development",
    text(),
    "`deployment.environment.name`.",
)
RESOURCE_ATTRIBUTES = declare(
    "resource_attributes",
    "OTEL_RESOURCE_ATTRIBUTES",
    (),
    pairs(),
    "Extra resource attributes; explicit settings above win over the same key here.",
)

# --- OTLP export, general (each signal may override) ---
ENDPOINT: Param[str | None] = declare(
    "endpoint",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    None,
    url(),
    "Collector base URL. Default `http://localhost:4318` (http/protobuf) or "
    "`http://localhost:4317` (grpc). For http/protobuf `/v1/<signal>` is appended.",
)
PROTOCOL = declare(
    "protocol",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "http/protobuf",
    choice(*PROTOCOLS),
    "OTLP transport.",
)
HEADERS = declare(
    "headers",
    "OTEL_EXPORTER_OTLP_HEADERS",
    (),
    pairs(lower_keys=True),
    "Headers sent with every export request.",
)
# TLS to the collector (an https:// endpoint): the files are read when the exporter starts.
CERTIFICATE: Param[str | None] = declare(
    "certificate",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    None,
    file(),
    "CA certificate(s), PEM, that verify the collector's certificate (default: the "
    "system's trust store). Only for an https:// endpoint.",
)
CLIENT_CERTIFICATE: Param[str | None] = declare(
    "client_certificate",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    None,
    file(),
    "Client certificate, PEM, presented to a collector that requires one (mTLS); "
    "needs `client_key`.",
)
CLIENT_KEY: Param[str | None] = declare(
    "client_key",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    None,
    file(),
    "Private key, PEM, of the client certificate.",
)
EXPORT_TIMEOUT = declare(
    "export_timeout",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    10.0,
    duration(env_unit="ms"),
    "Time limit of one export request, retries included.",
)

# The general setting each per-signal export field falls back to, where the names differ.
GENERAL_EXPORT_NAMES = {"timeout": EXPORT_TIMEOUT.name}


class SignalParams:
    """The per-signal OTLP overrides of one signal (`OTEL_EXPORTER_OTLP_<SIGNAL>_*`).

    Each falls back to the general setting of the same name (``GENERAL_EXPORT_NAMES``
    where the names differ) when neither its argument nor its variable is set.
    """

    def __init__(self, signal: str) -> None:
        up = signal.upper()
        self.endpoint: Param[str | None] = declare(
            f"{signal}.endpoint",
            f"OTEL_EXPORTER_OTLP_{up}_ENDPOINT",
            None,
            url(),
            f"Full URL for {signal}, used as-is (no path appended).",
        )
        self.protocol: Param[str | None] = declare(
            f"{signal}.protocol",
            f"OTEL_EXPORTER_OTLP_{up}_PROTOCOL",
            None,
            choice(*PROTOCOLS),
            f"OTLP transport for {signal}.",
        )
        self.headers: Param[tuple[tuple[str, str], ...] | None] = declare(
            f"{signal}.headers",
            f"OTEL_EXPORTER_OTLP_{up}_HEADERS",
            None,
            pairs(lower_keys=True),
            f"Headers for {signal} export requests.",
        )
        self.certificate: Param[str | None] = declare(
            f"{signal}.certificate",
            f"OTEL_EXPORTER_OTLP_{up}_CERTIFICATE",
            None,
            file(),
            f"CA certificate(s) that verify the {signal} collector's certificate.",
        )
        self.client_certificate: Param[str | None] = declare(
            f"{signal}.client_certificate",
            f"OTEL_EXPORTER_OTLP_{up}_CLIENT_CERTIFICATE",
            None,
            file(),
            f"Client certificate for {signal} exports (mTLS).",
        )
        self.client_key: Param[str | None] = declare(
            f"{signal}.client_key",
            f"OTEL_EXPORTER_OTLP_{up}_CLIENT_KEY",
            None,
            file(),
            f"Private key of the {signal} client certificate.",
        )
        self.timeout: Param[float | None] = declare(
            f"{signal}.timeout",
            f"OTEL_EXPORTER_OTLP_{up}_TIMEOUT",
            None,
            duration(env_unit="ms"),
            f"Time limit of one {signal} export request.",
        )
        self.enabled = declare(
            f"{signal}.enabled", f"ASTRA_OTEL_{up}_ENABLED", True, flag(), f"Export {signal}."
        )
        self.exporter = declare(
            f"{signal}.exporter",
            f"OTEL_{up}_EXPORTER",
            ("otlp",),
            exporters(),
            f"Where {signal} go: `otlp`; `console` (the SDK's console exporter: one JSON "
            "object per item on stdout); both, `otlp,console` (the OTLP result is what "
            f"`health()` counts); or `none`: no exporter and no SDK provider for {signal}, "
            "whose OpenTelemetry API stays a no-op."
            + (
                " With `none`, a `metrics.prometheus_port` keeps only the pull endpoint."
                if signal == "metrics"
                else ""
            ),
        )


TRACES = SignalParams("traces")
METRICS = SignalParams("metrics")
LOGS = SignalParams("logs")

# --- traces ---
SAMPLER = declare(
    "traces.sampler",
    "OTEL_TRACES_SAMPLER",
    "parentbased_always_on",
    choice(*SAMPLERS),
    "Sampler.",
)
SAMPLER_ARG = declare(
    "traces.sampler_arg",
    "OTEL_TRACES_SAMPLER_ARG",
    1.0,
    ratio(),
    "Ratio for the traceidratio samplers.",
)


def _batch_params(signal: str, prefix: str) -> tuple[Param[float], ...]:
    # 1 s rather than the specification's 5 s: a span then reaches Jaeger within ~2 s at
    # p95 (benchmarks/bench_pipeline_freshness.py; 5 s gave a 5.3 s p95). A full batch
    # (max_export_batch_size) is still exported at once, so busy services are unaffected.
    return (
        declare(
            f"{signal}.schedule_delay",
            f"{prefix}_SCHEDULE_DELAY",
            1.0,
            duration(env_unit="ms"),
            f"Longest wait before a {signal} batch is exported.",
        ),
        declare(
            f"{signal}.batch_export_timeout",
            f"{prefix}_EXPORT_TIMEOUT",
            30.0,
            duration(env_unit="ms"),
            f"Time limit of one {signal} batch export.",
            argument=False,
        ),
    )


def _size_params(signal: str, prefix: str) -> tuple[Param[int], ...]:
    return (
        declare(
            f"{signal}.max_queue_size",
            f"{prefix}_MAX_QUEUE_SIZE",
            2048,
            whole(1),
            f"Bound of the {signal} queue; when full the oldest item is dropped and counted.",
        ),
        declare(
            f"{signal}.max_export_batch_size",
            f"{prefix}_MAX_EXPORT_BATCH_SIZE",
            512,
            whole(1),
            f"Largest {signal} batch per export request.",
        ),
    )


BSP_DELAY, BSP_TIMEOUT = _batch_params("traces", "OTEL_BSP")
BSP_QUEUE, BSP_BATCH = _size_params("traces", "OTEL_BSP")
BLRP_DELAY, BLRP_TIMEOUT = _batch_params("logs", "OTEL_BLRP")
BLRP_QUEUE, BLRP_BATCH = _size_params("logs", "OTEL_BLRP")

# --- metrics ---
METRIC_EXPORT_INTERVAL = declare(
    "metrics.export_interval",
    "OTEL_METRIC_EXPORT_INTERVAL",
    15.0,
    duration(env_unit="ms"),
    "Period of the metric reader. Default 15 s (the specification says 60 s) to match a "
    "15 s Prometheus scrape.",
)
METRIC_EXPORT_TIMEOUT = declare(
    "metrics.export_timeout",
    "OTEL_METRIC_EXPORT_TIMEOUT",
    30.0,
    duration(env_unit="ms"),
    "Time limit of one metric collection + export.",
    argument=False,
)
PROMETHEUS_PORT = declare(
    "metrics.prometheus_port",
    "ASTRA_OTEL_PROMETHEUS_PORT",
    0,
    port(),
    "Serve a Prometheus pull endpoint on 127.0.0.1 at this port (off by default).",
)

# --- logs ---
LOG_LEVEL = declare(
    "logs.level",
    "ASTRA_OTEL_LOG_LEVEL",
    "INFO",
    choice(*LOG_LEVELS, upper=True),
    "Lowest level the logging bridge exports; the root logger is lowered to it if higher.",
)
LOG_CONSOLE = declare(
    "logs.console",
    "ASTRA_OTEL_LOG_CONSOLE",
    "none",
    choice("none", "text", "json"),
    "Also print records to stderr: `json` is one object per line with trace_id/span_id.",
)
LOG_ACCESS = declare(
    "logs.access",
    "ASTRA_OTEL_LOG_ACCESS",
    False,
    flag(),
    "Also bridge the web servers' access logs (`uvicorn.access`, `gunicorn.access`): one "
    "record per request. Their error loggers (`uvicorn.error`, `gunicorn.error`) are "
    "always bridged, once each.",
)

# --- instrumentations ---
INSTRUMENT = {
    library: declare(
        f"instrumentations.{library}",
        f"ASTRA_OTEL_INSTRUMENT_{library.upper()}",
        True,
        flag(),
        f"Instrument {library} when it is importable.",
    )
    for library in ("fastapi", "requests", "redis", "sqlalchemy")
}
CAPTURE_HEADERS = declare(
    "instrumentations.capture_headers",
    "ASTRA_OTEL_CAPTURE_HEADERS",
    False,
    flag(),
    "Record HTTP request/response headers; sensitive ones are replaced by `[REDACTED]`.",
)
EXCLUDED_URLS = declare(
    "instrumentations.excluded_urls",
    "ASTRA_OTEL_EXCLUDED_URLS",
    ("/health", "/healthz", "/livez", "/readyz", "/metrics"),
    names(accepted="comma-separated URL path patterns"),
    "Server routes that produce no spans.",
)
FASTAPI_EXCLUDE_SPANS = declare(
    "instrumentations.fastapi_exclude_spans",
    "ASTRA_OTEL_FASTAPI_EXCLUDE_SPANS",
    ("receive", "send"),
    names(
        "receive", "send", accepted="comma-separated subset of receive, send (empty to keep both)"
    ),
    "FastAPI per-message ASGI spans left out. Keeping either switches from our lean "
    "middleware to the contrib `FastAPIInstrumentor`, which has them.",
)
SEMCONV_OPT_IN = declare(
    "instrumentations.semconv_opt_in",
    "OTEL_SEMCONV_STABILITY_OPT_IN",
    ("http", "database"),
    names(accepted="comma-separated subset of http, http/dup, database, database/dup"),
    "Semantic-convention mode of the instrumentations. Default: the stable HTTP and "
    "database conventions (`http.server.request.duration` in seconds, which the "
    "dashboards query), not the contrib default (old names).",
)

# --- lifecycle ---
SHUTDOWN_TIMEOUT = declare(
    "shutdown_timeout",
    "ASTRA_OTEL_SHUTDOWN_TIMEOUT",
    5.0,
    duration(env_unit="s"),
    "Deadline for the flush at exit/SIGTERM, all three signals in parallel.",
)
GC_FREEZE = declare(
    "gc_freeze",
    "ASTRA_OTEL_GC_FREEZE",
    True,
    flag(),
    "Call `gc.freeze()` after setup so long-lived SDK objects leave the collector's scans.",
)
EXPORT_WARNINGS = declare(
    "export_warnings",
    "ASTRA_OTEL_EXPORT_WARNINGS",
    True,
    flag(),
    "Print one line on stderr (not through `logging`) when a signal's exports start "
    "failing, again at most once a minute while they fail, one when they recover, and one "
    "at exit naming what was not exported. `false` keeps them quiet; `health()` still "
    "carries the last error.",
)

# --- redaction (applied to everything exported; see docs/setup.md "What is redacted") ---
REDACT_PATTERNS = declare(
    "redact_patterns",
    "ASTRA_OTEL_REDACT_PATTERNS",
    (),
    patterns(),
    "More sensitive names, added to the built-in ones: an attribute key or URL query "
    "parameter name in which one of these is found (case-insensitive) has its value "
    "replaced by `[REDACTED]`.",
)
REDACT_ALLOWLIST = declare(
    "redact_allowlist",
    "ASTRA_OTEL_REDACT_ALLOWLIST",
    (),
    patterns(),
    "Names never redacted for their name: an attribute key or query parameter name that "
    "one of these matches entirely (case-insensitive, e.g. `page_token`) keeps its value; "
    "the value patterns for free text still apply to it.",
)

# --- standard variables astra-otel does not read itself ---

# Read by the OpenTelemetry API/SDK when setup() builds the providers (astra-otel passes
# nothing in their place); tests/_config/test_conformance.py shows each one working.
READ_BY_OPENTELEMETRY = {
    "OTEL_PROPAGATORS": "the API's global propagator (default `tracecontext,baggage`)",
    "OTEL_ATTRIBUTE_COUNT_LIMIT": "span attributes per span, event and link",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "string attribute length on spans",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "attributes per span",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "string attribute length on spans",
    "OTEL_SPAN_EVENT_COUNT_LIMIT": "events per span",
    "OTEL_SPAN_LINK_COUNT_LIMIT": "links per span",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT": "attributes per span event",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": "attributes per span link",
}

# Not honoured: setup() warns when one is set, so a setting that does nothing is never
# silent.
IGNORED = {
    "OTEL_EXPORTER_OTLP_INSECURE": "the endpoint's scheme decides (`http://` is plaintext)",
    "OTEL_EXPORTER_OTLP_COMPRESSION": "exports are sent uncompressed (loopback collector)",
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "metrics are always cumulative",
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION": (
        "histograms use explicit buckets (seconds boundaries for `s`)"
    ),
    "OTEL_METRICS_EXEMPLAR_FILTER": "exemplars are always trace-based (the default)",
    "OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT": "bridged log records are not truncated",
    "OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT": "bridged log records are not truncated",
    "OTEL_EXPORTER_PROMETHEUS_HOST": "the pull endpoint binds 127.0.0.1",
    "OTEL_EXPORTER_PROMETHEUS_PORT": "use `ASTRA_OTEL_PROMETHEUS_PORT`",
    "OTEL_LOG_LEVEL": "use the `logging` level of the `opentelemetry` logger",
    "OTEL_CONFIG_FILE": "declarative configuration is not supported",
}
for _option in ("INSECURE", "COMPRESSION"):
    for _signal in SIGNALS:
        IGNORED[f"OTEL_EXPORTER_OTLP_{_signal.upper()}_{_option}"] = IGNORED[
            f"OTEL_EXPORTER_OTLP_{_option}"
        ]
