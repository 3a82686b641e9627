"""FastAPI instrumentation: every app gets :class:`AsgiServerTelemetry`, however it was
imported or when it was created.

``fastapi.FastAPI`` itself is patched in place (its ``__init__`` and
``build_middleware_stack``), not swapped for a subclass in the module: a ``main.py`` that
did ``from fastapi import FastAPI`` before ``setup()`` holds the original class, and so
does every subclass an application defined. Starlette builds an app's middleware stack on
its first ASGI call, so an app created *before* ``setup()`` is instrumented too, when it
first serves; one that already served before ``setup()`` has its stack rebuilt,
instrumented, at its next call (``__call__`` is patched for that: one ``isinstance`` per
call). Shutdown restores the original methods; stacks already built keep what they have.

FastAPI's own native telemetry (FastAPI >= 0.165, on when a provider is configured) is
switched off for those apps unless the app passed its own ``telemetry=`` settings, so no
request is traced twice.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any

from opentelemetry import metrics, trace

from astra_otel._config.settings import InstrumentationSettings
from astra_otel._internal import sdk_private
from astra_otel._internal.asgi_telemetry import (
    AsgiServerTelemetry,
    ServerHooks,
    ServerInstruments,
)

__all__ = ["SCOPE_NAME", "FastAPIPatch"]

SCOPE_NAME = "astra_otel.fastapi"
_NATIVE_OFF = {"tracing": False, "metrics": False, "logs": False}
# FastAPI's native telemetry settings when the app was given none (compared at build time
# for apps created before setup(), whose constructor arguments are not known).
_NATIVE_DEFAULT = {"tracing": True, "metrics": True, "logs": True, "operation_spans": True}
_PATCHED = ("__init__", "build_middleware_stack", "__call__")


def _native_is_default(native: dict[str, Any]) -> bool:
    providers = ("tracer_provider", "meter_provider", "logger_provider")
    return all(native.get(k) == v for k, v in _NATIVE_DEFAULT.items()) and not any(
        native.get(p) is not None for p in providers
    )


class FastAPIPatch:
    """Patches ``fastapi.FastAPI`` in place; :meth:`uninstrument` restores it."""

    def __init__(
        self,
        settings: InstrumentationSettings,
        tracer_provider: Any,
        meter_provider: Any,
        hooks: ServerHooks | None = None,
    ) -> None:
        fastapi: Any = importlib.import_module("fastapi")
        self._cls = cls = fastapi.FastAPI
        self._saved = {name: cls.__dict__[name] for name in _PATCHED if name in cls.__dict__}
        self._tracer = trace.get_tracer(SCOPE_NAME, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE_NAME, meter_provider=meter_provider)
        self._instruments = ServerInstruments(meter)
        self._excluded = settings.excluded_urls
        self._capture = settings.capture_headers
        self._hooks = hooks
        native = "telemetry" in inspect.signature(cls.__init__).parameters
        if native:
            sdk_private.probe(["fastapi-native-telemetry"])
        original_init, original_build = cls.__init__, cls.build_middleware_stack
        original_call = cls.__call__
        wrap = self.wrap_app

        @functools.wraps(original_init)
        def __init__(app: Any, *args: Any, **kwargs: Any) -> None:  # replaces FastAPI.__init__
            if native and kwargs.get("telemetry") is None:
                kwargs["telemetry"] = dict(_NATIVE_OFF)
            original_init(app, *args, **kwargs)

        @functools.wraps(original_build)
        def build_middleware_stack(app: Any) -> Any:
            return wrap(app, original_build(app))

        @functools.wraps(original_call)
        async def __call__(app: Any, scope: Any, receive: Any, send: Any) -> None:  # replaces it
            stack = app.middleware_stack
            if stack is not None and not isinstance(stack, AsgiServerTelemetry):
                app.middleware_stack = None  # built before setup(): rebuilt, instrumented
            await original_call(app, scope, receive, send)

        cls.__init__ = __init__
        cls.build_middleware_stack = build_middleware_stack
        cls.__call__ = __call__

    def wrap(self, stack: Any) -> AsgiServerTelemetry:
        """``stack`` (an app's built middleware stack) inside our middleware."""
        return AsgiServerTelemetry(
            stack,
            tracer=self._tracer,
            instruments=self._instruments,
            excluded_urls=self._excluded,
            capture_headers=self._capture,
            hooks=self._hooks,
        )

    def wrap_app(self, app: Any, stack: Any) -> AsgiServerTelemetry:
        """The stack just built for ``app``, wrapped; an app created before ``setup()``
        with default native telemetry settings has them switched off here (FastAPI keeps
        them in a private dict shared with its ``NativeTelemetry``: see
        :func:`astra_otel._internal.sdk_private.fastapi_native_settings`)."""
        native = sdk_private.fastapi_native_settings(app)
        if native is not None and _native_is_default(native):
            native.update(_NATIVE_OFF)
        return self.wrap(stack)

    def instrument_app(self, app: Any) -> None:
        """Have an app whose stack was already built rebuild it (instrumented) on next use."""
        if not isinstance(app.middleware_stack, AsgiServerTelemetry):
            app.middleware_stack = None

    def uninstrument(self) -> None:
        """Put the original methods back (apps already built keep their stacks)."""
        for name, value in self._saved.items():
            setattr(self._cls, name, value)
