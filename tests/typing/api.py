"""The public API as users write it; `make lint` type-checks this file with mypy --strict.

It is not run. Each line must type-check as written; each ``# type: ignore[...]`` marks a
misuse the annotations must keep refusing (mypy's warn_unused_ignores, part of strict,
fails if one is ever accepted).
"""

from __future__ import annotations

import astra_otel
from astra_otel import (
    AstraOtelError,
    Catalogue,
    ConfigError,
    Health,
    InstrumentationOptions,
    LogsOptions,
    MetricsOptions,
    Settings,
    SettingsConflictError,
    SignalHealth,
    Telemetry,
    TracesOptions,
)
from astra_otel.testing import capture_telemetry


def configure() -> Telemetry:
    """A service's setup() call, with every kind of argument."""
    return astra_otel.setup(
        service_name="checkout",
        service_version="1.4.2",
        service_namespace="shop",
        environment="production",
        resource_attributes={"team": "payments"},
        endpoint="http://127.0.0.1:4318",
        protocol="http/protobuf",
        headers={"authorization": "Bearer x"},
        export_timeout=5.0,
        shutdown_timeout=2,
        traces=TracesOptions(sampler="parentbased_traceidratio", sampler_arg=0.25),
        metrics=MetricsOptions(export_interval=10.0, prometheus_port=9464, exporter="none"),
        logs=LogsOptions(level="WARNING", console="json", exporter=("otlp", "console")),
        instrumentations=InstrumentationOptions(redis=False, excluded_urls=("/healthz",)),
        gc_freeze=False,
    )


def read_health(telemetry: Telemetry) -> int:
    """The handle: health counters, flush and shutdown."""
    health: Health = telemetry.health()
    traces: SignalHealth = health.traces
    error: str | None = traces.last_error
    flushed: bool = telemetry.force_flush(timeout=1.0)
    settings: Settings = telemetry.settings
    port: int = settings.metrics.prometheus_port
    stopped: bool = telemetry.shutdown()
    return traces.exported + traces.dropped + port + int(flushed and stopped) + len(error or "")


def handle_errors() -> str:
    """The errors users catch."""
    try:
        configure()
    except ConfigError as exc:
        return f"{exc.source}={exc.value!r}: {exc.expected}"
    except SettingsConflictError as exc:
        return ", ".join(exc.fields) + str(exc.changes)
    except AstraOtelError as exc:
        return str(exc)
    return ""


def use_the_catalogue(catalogue: Catalogue) -> None:
    """Span helpers as context managers and decorators, typed record methods, log events."""
    with astra_otel.model_inference("isolation-forest") as span:
        span.set_attribute("astra.batch", 3)
    with astra_otel.circuit_breaker_call("telemetry-db", "half_open"):
        pass
    with astra_otel.retry_attempt("fetch", attempt=1, max_attempts=3, catalogue=catalogue):
        pass

    @astra_otel.dependency_call("redis")
    def lookup(key: str) -> int:
        return len(key)

    size: int = lookup("k")
    catalogue.record_anomaly("high")
    catalogue.record_memory_stored(size)
    astra_otel.get_catalogue().record_false_positive()
    astra_otel.log_request("GET", "/api/v1/status", 200, 0.004)
    astra_otel.log_retry("fetch", 2, "success", 0.1, "TimeoutError")


def in_a_test() -> int:
    """The testing helpers."""
    with capture_telemetry(service_name="under-test") as cap:
        astra_otel.log_request("GET", "/", 200, 0.001)
        return len(cap.spans()) + len(cap.logs()) + len(cap.metrics())


def misuse() -> None:
    """What the annotations refuse."""
    astra_otel.setup("checkout")  # type: ignore[call-arg]
    astra_otel.setup(service_name=1)  # type: ignore[arg-type]
    astra_otel.setup(traces=MetricsOptions())  # type: ignore[arg-type]
    astra_otel.setup(tracing=True)  # type: ignore[call-arg]
    TracesOptions(sampler_arg="high")  # type: ignore[arg-type]
    astra_otel.log_request("GET", "/", "200", 0.1)  # type: ignore[arg-type]
