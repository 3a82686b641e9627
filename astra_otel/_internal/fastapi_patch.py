"""FastAPI instrumentation: apps created after ``setup()`` get :class:`AsgiServerTelemetry`.

Like the contrib ``FastAPIInstrumentor.instrument()``, this swaps ``fastapi.FastAPI`` for a
subclass whose middleware stack is wrapped, and swaps it back on shutdown. FastAPI's own
native telemetry (FastAPI >= 0.165, on when a provider is configured) is switched off for
those apps unless the app passes its own ``telemetry=`` settings, so no request is traced
twice.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from opentelemetry import metrics, trace

from astra_otel._config.settings import InstrumentationSettings
from astra_otel._internal import sdk_private
from astra_otel._internal.asgi_telemetry import AsgiServerTelemetry, ServerInstruments

__all__ = ["SCOPE_NAME", "FastAPIPatch"]

SCOPE_NAME = "astra_otel.fastapi"
_NATIVE_OFF = {"tracing": False, "metrics": False, "logs": False}


class FastAPIPatch:
    """Installs the instrumented ``FastAPI`` class; :meth:`uninstrument` restores it."""

    def __init__(
        self, settings: InstrumentationSettings, tracer_provider: Any, meter_provider: Any
    ) -> None:
        fastapi: Any = importlib.import_module("fastapi")
        self._fastapi = fastapi
        self._original = original = fastapi.FastAPI
        self._tracer = trace.get_tracer(SCOPE_NAME, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE_NAME, meter_provider=meter_provider)
        self._instruments = ServerInstruments(meter)
        self._excluded = settings.excluded_urls
        self._capture = settings.capture_headers
        native = "telemetry" in inspect.signature(original.__init__).parameters
        self._native = native
        if native:
            sdk_private.probe(["fastapi-native-telemetry"])
        wrap = self.wrap

        class InstrumentedFastAPI(original):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                if native and kwargs.get("telemetry") is None:
                    kwargs["telemetry"] = dict(_NATIVE_OFF)
                super().__init__(*args, **kwargs)

            def build_middleware_stack(self) -> Any:
                return wrap(super().build_middleware_stack())

        InstrumentedFastAPI.__name__ = InstrumentedFastAPI.__qualname__ = "FastAPI"
        fastapi.FastAPI = InstrumentedFastAPI

    def wrap(self, stack: Any) -> AsgiServerTelemetry:
        """``stack`` (an app's built middleware stack) inside our middleware."""
        return AsgiServerTelemetry(
            stack,
            tracer=self._tracer,
            instruments=self._instruments,
            excluded_urls=self._excluded,
            capture_headers=self._capture,
        )

    def instrument_app(self, app: Any) -> None:
        """Instrument an app created before ``setup()`` (its stack is rebuilt on next use).

        Its native telemetry, if it has default settings, is switched off (FastAPI keeps
        them in a private dict shared with its ``NativeTelemetry``: see
        :func:`astra_otel._internal.sdk_private.fastapi_native_settings`).
        """
        build = app.build_middleware_stack

        def instrumented_stack() -> Any:
            return self.wrap(build())

        app.build_middleware_stack = instrumented_stack
        app.middleware_stack = None
        if self._native:
            native = sdk_private.fastapi_native_settings(app)
            if native is not None:
                native.update(_NATIVE_OFF)

    def uninstrument(self) -> None:
        """Put the original ``fastapi.FastAPI`` back (apps already built keep theirs)."""
        self._fastapi.FastAPI = self._original
