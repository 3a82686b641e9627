"""``setup()``: resolve settings once, wire once, return the same handle on equal re-calls."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from astra_otel._config.options import (
    InstrumentationOptions,
    LogsOptions,
    MetricsOptions,
    TracesOptions,
)
from astra_otel._config.params import environ_snapshot
from astra_otel._config.settings import Settings, diff_settings, load_settings, warn_ignored
from astra_otel._internal.telemetry import Telemetry
from astra_otel._internal.wiring import (
    Sinks,
    bridge_server_loggers,
    build,
    ensure_log_handlers,
    otlp_sinks,
)
from astra_otel.errors import SettingsConflictError

__all__ = ["activate", "current", "forget", "setup"]


class _State:
    """The process-wide handle (one per process; a forked child inherits and re-arms it)."""

    lock = threading.Lock()
    active: Telemetry | None = None


def current() -> Telemetry | None:
    """The live handle, if ``setup()`` ran and was not shut down."""
    active = _State.active
    if active is not None and not active.is_shutdown:
        return active
    return None


def forget() -> None:
    """Drop the reference to the handle (after it was shut down)."""
    _State.active = None


def activate(settings: Settings, sinks: Sinks | None = None) -> Telemetry:
    """Return the live handle for ``settings``, building it if none is live.

    Equal settings: the same handle (log handlers re-checked, nothing added). Different
    settings while one is live: :class:`SettingsConflictError` naming each differing
    argument with its old and new value.
    """
    with _State.lock:
        live = current()
        if live is not None:
            if live.settings != settings:
                raise SettingsConflictError(diff_settings(live.settings, settings))
            ensure_log_handlers(
                live.log_handlers, logging.getLevelNamesMapping()[settings.logs.level]
            )
            bridge_server_loggers(live.log_handlers, settings.logs.access)
            return live
        if not settings.enabled:
            _State.active = Telemetry(settings)
        else:
            _State.active = build(settings, sinks or otlp_sinks(settings))
        return _State.active


def setup(
    *,
    service_name: str | None = None,
    service_version: str | None = None,
    service_namespace: str | None = None,
    environment: str | None = None,
    resource_attributes: Mapping[str, str] | None = None,
    enabled: bool | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    certificate: str | None = None,
    client_certificate: str | None = None,
    client_key: str | None = None,
    export_timeout: float | None = None,
    shutdown_timeout: float | None = None,
    traces: TracesOptions | None = None,
    metrics: MetricsOptions | None = None,
    logs: LogsOptions | None = None,
    instrumentations: InstrumentationOptions | None = None,
    gc_freeze: bool | None = None,
    export_warnings: bool | None = None,
    redact_patterns: tuple[str, ...] | None = None,
    redact_allowlist: tuple[str, ...] | None = None,
) -> Telemetry:
    """Wire traces, metrics and logs through the OpenTelemetry SDK to OTLP; call once.

    Arguments win over ``OTEL_*``/``ASTRA_OTEL_*`` variables, which win over defaults
    (see ``docs/configuration.md``). Durations are seconds. Bad values raise
    :class:`~astra_otel.errors.ConfigError` here, naming the source, value and what is
    accepted. A repeated call with equal settings returns the same :class:`Telemetry`;
    with different settings it raises :class:`~astra_otel.errors.SettingsConflictError`.
    """
    # The keyword arguments by name: each is the declared setting of that name (option
    # dataclasses are expanded by the loader); tests/_config prove the names match.
    arguments = dict(locals())
    environ = environ_snapshot()
    settings = load_settings(arguments, environ)
    warn_ignored(environ)
    return activate(settings)
