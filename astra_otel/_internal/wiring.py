"""Builds the three pipelines from a :class:`Settings` and a :class:`Sinks` (where data goes).

``setup()`` uses OTLP sinks; ``astra_otel.testing`` uses in-memory ones. Everything else
(resource, processors, bridge, self-metrics, instrumentations, exit and fork hooks) is the
same code in both.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import MetricReader

from astra_otel._config.settings import Settings
from astra_otel._internal import exporters as otlp
from astra_otel._internal import sdk_private
from astra_otel._internal.api_globals import install_providers, reset_providers
from astra_otel._internal.asgi_telemetry import ServerHooks
from astra_otel._internal.batching import SignalStats
from astra_otel._internal.export_status import ExportStatus
from astra_otel._internal.exporters import ExporterSlot, watch_requests
from astra_otel._internal.instrumentations import Instrumented, fastapi_kwargs, instrument_libraries
from astra_otel._internal.lifecycle import ExitHooks, in_prefork_master, register_fork_hook
from astra_otel._internal.logs import (
    ACCESS_LOGGERS,
    SERVER_LOGGERS,
    BridgeHandler,
    build_logger_provider,
    console_handler,
    stop_point,
)
from astra_otel._internal.metrics import (
    CountingMetricExporter,
    NullMetricExporter,
    build_meter_provider,
    otlp_reader,
    register_self_metrics,
    reset_metric_state_in_child,
    start_prometheus_endpoint,
)
from astra_otel._internal.redaction import Redactor
from astra_otel._internal.resource import build_resource, new_instance_id, renew_instance_id
from astra_otel._internal.telemetry import Telemetry
from astra_otel._internal.traces import build_tracer_provider

__all__ = ["Sinks", "bridge_server_loggers", "build", "ensure_log_handlers", "otlp_sinks"]


Factory = Callable[[], Any]


@dataclass
class Sinks:
    """Where each signal goes: exporter factories and extra metric readers."""

    span_exporter: Callable[[], Any]
    log_exporter: Callable[[], Any]
    metric_readers: Callable[[CountingMetricExporter], list[MetricReader]]
    metric_exporter: Callable[[], Any] | None = None
    # The SDK's own exporters for the same destinations: where a batch goes when our
    # faster path fails on it (None: the exporter above is used as it is).
    span_fallback: Callable[[], Any] | None = None
    log_fallback: Callable[[], Any] | None = None
    install_exit_hooks: bool = True
    extras: dict[str, Any] = field(default_factory=dict)


def _selected(signal: str, names: tuple[str, ...], otlp_factory: Factory) -> Factory:
    """The exporter a signal's selection (``OTEL_<SIGNAL>_EXPORTER``) asks for: OTLP, the
    console, or both (OTLP's result counts). An empty selection builds no pipeline."""
    if "otlp" not in names:
        return lambda: otlp.console_exporter(signal)
    if "console" not in names:
        return otlp_factory
    return lambda: otlp.Tee(otlp_factory(), otlp.console_exporter(signal))


def _fallback(signal: str, names: tuple[str, ...], sdk_factory: Factory) -> Factory | None:
    """The same selection with the SDK's own OTLP exporter (``None`` without OTLP)."""
    return _selected(signal, names, sdk_factory) if "otlp" in names else None


def otlp_sinks(settings: Settings) -> Sinks:
    """The exporters the settings select: OTLP (timeouts bounded by the batch export
    timeouts) and/or the console."""
    t, m, lg = settings.traces, settings.metrics, settings.logs

    def readers(exporter: CountingMetricExporter) -> list[MetricReader]:
        return [otlp_reader(m, exporter)]

    span_timeout = min(t.export.timeout, t.batch_export_timeout)
    log_timeout = min(lg.export.timeout, lg.batch_export_timeout)
    return Sinks(
        span_exporter=_selected(
            "traces", t.exporter, lambda: otlp.span_exporter(t.export, span_timeout)
        ),
        log_exporter=_selected(
            "logs", lg.exporter, lambda: otlp.log_exporter(lg.export, log_timeout)
        ),
        span_fallback=_fallback(
            "traces", t.exporter, lambda: otlp.sdk_span_exporter(t.export, span_timeout)
        ),
        log_fallback=_fallback(
            "logs", lg.exporter, lambda: otlp.sdk_log_exporter(lg.export, log_timeout)
        ),
        metric_readers=readers,
        metric_exporter=_selected(
            "metrics",
            m.exporter,
            lambda: otlp.metric_exporter(m.export, min(m.export.timeout, m.export_timeout)),
        ),
    )


# Handlers we put on the root logger, so a repeated setup() never adds a second copy.
_ROOT_HANDLERS: list[logging.Handler] = []


def ensure_log_handlers(handlers: list[logging.Handler], level: int) -> None:
    """Have exactly ``handlers`` (ours) on the root logger, whatever happened since
    (``basicConfig(force=True)``/``dictConfig`` may have removed them)."""
    root = logging.getLogger()
    for old in list(_ROOT_HANDLERS):
        if old not in handlers:
            root.removeHandler(old)
    _ROOT_HANDLERS[:] = handlers
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)


# Where the bridge was attached besides the root logger (servers' non-propagating loggers).
_SERVER_HANDLERS: list[tuple[logging.Logger, logging.Handler]] = []


def bridge_server_loggers(handlers: list[logging.Handler], access: bool) -> None:
    """Attach the bridge (once) where the web servers' own log records stop propagating.

    Run at setup() and again when an instrumented app first serves, since servers set up
    their logging (replacing handlers) before or after importing the app.
    """
    bridges = [h for h in handlers if isinstance(h, BridgeHandler)]
    for name in SERVER_LOGGERS + (ACCESS_LOGGERS if access else ()):
        logger = stop_point(name)
        if logger is None:
            continue
        for bridge in bridges:
            if bridge not in logger.handlers:
                logger.addHandler(bridge)
                _SERVER_HANDLERS.append((logger, bridge))


def remove_log_handlers() -> None:
    """Take our handlers off the root logger (and the servers' loggers)."""
    root = logging.getLogger()
    for handler in _ROOT_HANDLERS:
        root.removeHandler(handler)
    _ROOT_HANDLERS.clear()
    for logger, handler in _SERVER_HANDLERS:
        logger.removeHandler(handler)
    _SERVER_HANDLERS.clear()


def _no_exporter() -> Any:
    return NullMetricExporter()


class _Wiring:
    """The pieces one ``build()`` creates, and how to re-arm (fork) or undo (shutdown) them."""

    def __init__(self, settings: Settings, sinks: Sinks) -> None:
        self.settings = settings
        self.sinks = sinks
        self.redactor = Redactor(settings.redact_patterns, settings.redact_allowlist)
        self.resource = build_resource(settings, new_instance_id(), self.redactor)
        self.stats = {s: SignalStats(s) for s in ("traces", "metrics", "logs")}
        dormant = sinks.install_exit_hooks and in_prefork_master()
        for signal, stats in self.stats.items():
            stats.status = ExportStatus(
                signal,
                getattr(settings, signal).export.endpoint,
                enabled=settings.export_warnings,
                lost=stats.lost,
            )
            stats.dormant = dormant
        self.slots: list[ExporterSlot[Any]] = []
        self.batchers: list[Any] = []
        self.extras: dict[str, Any] = dict(sinks.extras)
        self.handlers: list[logging.Handler] = []
        self.level = logging.getLevelNamesMapping()[settings.logs.level]
        self.tracer_provider: Any = None
        self.meter_provider: Any = None
        self.readers: list[MetricReader] = []
        self.logger_provider: Any = None
        self.prometheus_server: Any = None
        self.instrumented = Instrumented()
        self.hooks: list[ExitHooks] = []
        self.unregister_fork: Any = None

    def _slot(
        self, signal: str, factory: Callable[[], Any], fallback: Callable[[], Any] | None = None
    ) -> ExporterSlot[Any]:
        # Built now, on the caller's thread: the exporter modules get imported here and not
        # lazily on an export thread, whose module import lock a fork could copy while held
        # (the child then deadlocks importing the same module). The SDK's own exporter
        # (same modules) is only built if a batch ever needs it.
        status = self.stats[signal].status

        def watched(make: Callable[[], Any]) -> Callable[[], Any]:
            def build() -> Any:
                exporter = make()
                if status is not None:
                    watch_requests(exporter, status.attempt)
                return exporter

            return build

        slot = ExporterSlot(watched(factory), watched(fallback) if fallback else None)
        try:
            slot.get()
        except Exception:
            if fallback is None:
                raise
            slot.fallback()  # ours failed (its batches will go this way): the SDK's must work
        self.slots.append(slot)
        return slot

    def traces(self) -> None:
        slot = self._slot("traces", self.sinks.span_exporter, self.sinks.span_fallback)
        self.tracer_provider, processor = build_tracer_provider(
            self.settings.traces, self.resource, slot, self.stats["traces"], self.redactor
        )
        self.batchers.append(processor.batcher)
        self.extras["span_processor"] = processor

    def metrics(self) -> None:
        readers: list[MetricReader] = []
        if self.settings.metrics.exporter:  # else only the Prometheus pull endpoint
            slot = self._slot("metrics", self.sinks.metric_exporter or _no_exporter)
            counting = CountingMetricExporter(slot, self.stats["metrics"], self.redactor)
            readers = self.sinks.metric_readers(counting)
        port = self.settings.metrics.prometheus_port
        if port:
            prom_reader, self.prometheus_server = start_prometheus_endpoint(port)
            readers.append(prom_reader)
        self.readers = readers
        self.meter_provider = build_meter_provider(self.settings.metrics, self.resource, readers)
        register_self_metrics(self.meter_provider.get_meter("astra_otel"), self.stats.values())

    def logs(self) -> None:
        logs = self.settings.logs
        if logs.enabled and logs.exporter and sdk_private.HOOKS["logs-sdk"].usable():
            slot = self._slot("logs", self.sinks.log_exporter, self.sinks.log_fallback)
            self.logger_provider, processor = build_logger_provider(
                self.settings.logs, self.resource, slot, self.stats["logs"], self.redactor
            )
            self.batchers.append(processor.batcher)
            self.extras["log_processor"] = processor
            self.handlers.append(BridgeHandler(processor, self.level))
        console = console_handler(self.settings.logs.console)
        if console is not None:
            console.setLevel(self.level)
            self.handlers.append(console)

    def instrument_fastapi(self, app: Any) -> None:
        patch: Any = self.instrumented.instrumentors.get("fastapi")
        if hasattr(patch, "instrument_app"):  # our middleware (the default)
            patch.instrument_app(app)
            return
        from opentelemetry.instrumentation.fastapi import (  # noqa: PLC0415  # optional library
            FastAPIInstrumentor,
        )

        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            **fastapi_kwargs(self.settings.instrumentations),
        )

    def after_fork(self) -> None:
        renew_instance_id(self.resource)
        for slot in self.slots:
            slot.after_fork_in_child()
        for batcher in self.batchers:
            batcher.after_fork_in_child()
        if self.meter_provider is not None:
            reset_metric_state_in_child(self.meter_provider, self.readers)
            self.stats["metrics"].reset_after_fork()

    def on_shutdown(self) -> None:
        for slot in self.slots:
            slot.shutdown()
        for hook in self.hooks:
            hook.remove()
        if self.unregister_fork is not None:
            self.unregister_fork()
        self.instrumented.uninstrument()
        remove_log_handlers()
        if self.prometheus_server is not None:
            self.prometheus_server.shutdown()
            self.prometheus_server.server_close()
        reset_providers()


def _probe_hooks(settings: Settings) -> None:
    """Probe the private SDK hooks this wiring will use (each once per process)."""
    names = ["api-globals", "sdk-disabled-flag", "suppress-key", "resource-attributes-write"]
    if settings.traces.enabled:
        names += ["span-fields", "attributes-dict", "span-fields-write"]
    if settings.metrics.enabled:
        names.append("metrics-fork-reset")
    if settings.logs.enabled:
        names += ["logs-sdk", "attributes-dict"]
    sdk_private.probe(names)


def build(settings: Settings, sinks: Sinks) -> Telemetry:
    """Wire providers, processors, bridge, instrumentations and hooks for ``settings``."""
    _probe_hooks(settings)
    w = _Wiring(settings, sinks)
    # A signal whose exporter selection is `none` gets no SDK provider: its API stays the
    # no-op one (metrics keep a provider only for an explicit Prometheus pull endpoint).
    if settings.traces.enabled and settings.traces.exporter:
        w.traces()
    if settings.metrics.enabled and (settings.metrics.exporter or settings.metrics.prometheus_port):
        w.metrics()
    w.logs()
    for provider in (w.tracer_provider, w.meter_provider, w.logger_provider):
        if provider is not None:
            # The SDK providers read OTEL_SDK_DISABLED themselves; our resolved setting
            # (an argument may override the variable) is the one that counts.
            sdk_private.force_enabled(provider)
    install_providers(w.tracer_provider, w.meter_provider, w.logger_provider)
    ensure_log_handlers(w.handlers, w.level)
    access = settings.logs.access
    handle: list[Telemetry] = []  # filled below; the hooks run later, when apps serve

    def bridge_servers() -> None:
        bridge_server_loggers(w.handlers, access)

    def server_stopping() -> None:
        # Not while exports are failing: the exit hook's bounded attempt follows, and two
        # waits on a dead collector would double the time the process takes to stop.
        if any(s.status is not None and s.status.failing for s in w.stats.values()):
            return
        for telemetry in handle:
            telemetry.force_flush(settings.shutdown_timeout)

    bridge_servers()
    if w.tracer_provider is not None or w.meter_provider is not None:
        hooks = ServerHooks(first_call=bridge_servers, stopping=server_stopping)
        w.instrumented = instrument_libraries(
            settings.instrumentations, w.tracer_provider, w.meter_provider, hooks
        )
    w.extras["instrument_fastapi"] = w.instrument_fastapi
    w.unregister_fork = register_fork_hook(w.after_fork)
    telemetry = Telemetry(
        settings,
        resource=w.resource,
        tracer_provider=w.tracer_provider,
        meter_provider=w.meter_provider,
        logger_provider=w.logger_provider,
        stats=w.stats,
        on_shutdown=w.on_shutdown,
        extras=w.extras,
        handlers=w.handlers,
    )
    handle.append(telemetry)
    if sinks.install_exit_hooks:
        w.hooks.append(ExitHooks(telemetry.shutdown))
    if settings.gc_freeze:
        gc.collect()
        gc.freeze()
    return telemetry
