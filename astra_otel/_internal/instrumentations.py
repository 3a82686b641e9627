"""Library instrumentations: each only if importable, each switchable, all given explicit
arguments (so they do not read their own ``OTEL_PYTHON_*`` variables).

FastAPI: no per-message ``receive``/``send`` spans by default, health/metrics routes
excluded, headers captured only when asked and then redacted. SQLAlchemy: statements are
recorded with literals replaced (see :mod:`astra_otel._internal.redaction`).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from typing import Any

from astra_otel._config.settings import InstrumentationSettings
from astra_otel._internal import sdk_private
from astra_otel._internal.redaction import header_patterns

__all__ = ["Instrumented", "apply_semconv_mode", "fastapi_kwargs", "instrument_libraries"]


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _excluded_urls(settings: InstrumentationSettings) -> str:
    return ",".join(settings.excluded_urls)


def fastapi_kwargs(settings: InstrumentationSettings) -> dict[str, Any]:
    """Arguments for ``FastAPIInstrumentor.instrument``/``instrument_app``."""
    capture = [".*"] if settings.capture_headers else []
    return {
        "excluded_urls": _excluded_urls(settings),
        "exclude_spans": list(settings.fastapi_exclude_spans),
        "http_capture_headers_server_request": capture,
        "http_capture_headers_server_response": capture,
        "http_capture_headers_sanitize_fields": header_patterns(),
    }


class Instrumented:
    """The instrumentors switched on by one ``setup()``, to be switched off by shutdown."""

    def __init__(self) -> None:
        self.instrumentors: dict[str, Any] = {}

    def uninstrument(self) -> None:
        """Undo every instrumentation this setup applied; never raises."""
        for instrumentor in self.instrumentors.values():
            with contextlib.suppress(Exception):  # best effort at shutdown
                instrumentor.uninstrument()
        self.instrumentors.clear()


def _fastapi(
    settings: InstrumentationSettings,
    providers: dict[str, Any],
    hooks: Any = None,
) -> Any:
    if {"receive", "send"} <= set(settings.fastapi_exclude_spans):
        # The default: our lean middleware (no per-message spans to make anyway).
        from astra_otel._internal.fastapi_patch import FastAPIPatch  # noqa: PLC0415  # imports fastapi

        return FastAPIPatch(
            settings, providers["tracer_provider"], providers["meter_provider"], hooks
        )
    # Per-message receive/send spans were asked for: only the contrib middleware has them.
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: PLC0415  # optional/heavy, loaded on use

    instrumentor = FastAPIInstrumentor()
    instrumentor.instrument(**providers, **fastapi_kwargs(settings))
    return instrumentor


def _requests(settings: InstrumentationSettings, providers: dict[str, Any]) -> Any:
    from opentelemetry.instrumentation.requests import RequestsInstrumentor  # noqa: PLC0415  # optional/heavy, loaded on use

    instrumentor = RequestsInstrumentor()
    instrumentor.instrument(**providers, excluded_urls=_excluded_urls(settings))
    return instrumentor


def _redis(settings: InstrumentationSettings, providers: dict[str, Any]) -> Any:
    from opentelemetry.instrumentation.redis import RedisInstrumentor  # noqa: PLC0415  # optional/heavy, loaded on use

    instrumentor = RedisInstrumentor()
    instrumentor.instrument(tracer_provider=providers.get("tracer_provider"))
    return instrumentor


def _sqlalchemy(settings: InstrumentationSettings, providers: dict[str, Any]) -> Any:
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor  # noqa: PLC0415  # optional/heavy, loaded on use

    instrumentor = SQLAlchemyInstrumentor()
    # The 0.66b2 instrumentation declares sqlalchemy < 2.1 but works with the 2.1 line we
    # pin (tests/_internal/test_instrumentations.py proves it), so the range check is skipped.
    instrumentor.instrument(**providers, enable_commenter=False, skip_dep_check=True)
    return instrumentor


_LIBRARIES = {
    "fastapi": ("fastapi", _fastapi),
    "requests": ("requests", _requests),
    "redis": ("redis", _redis),
    "sqlalchemy": ("sqlalchemy", _sqlalchemy),
}


def apply_semconv_mode(opt_in: tuple[str, ...]) -> bool:
    """Set the instrumentations' semantic-convention mode from our settings.

    The contrib instrumentations read ``OTEL_SEMCONV_STABILITY_OPT_IN`` from the
    environment themselves, once; we resolve it like every other setting (default: the
    stable conventions) and hand the result to their registry before instrumenting
    (``False`` if the installed contrib release does not let us).
    """
    return sdk_private.set_semconv_mode(opt_in)


def instrument_libraries(
    settings: InstrumentationSettings,
    tracer_provider: Any,
    meter_provider: Any,
    server_hooks: Any = None,
) -> Instrumented:
    """Instrument every enabled, importable library; a failing one is skipped, not raised.

    ``server_hooks`` (:class:`~astra_otel._internal.asgi_telemetry.ServerHooks`) go to
    the instrumented web apps.
    """
    done = Instrumented()
    apply_semconv_mode(settings.semconv_opt_in)
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    for name, (module, instrument) in _LIBRARIES.items():
        if not getattr(settings, name) or not _importable(module):
            continue
        try:
            if instrument is _fastapi:
                done.instrumentors[name] = _fastapi(settings, providers, server_hooks)
            else:
                done.instrumentors[name] = instrument(settings, providers)
        except Exception:  # noqa: S112  # an instrumentation must never break the host
            continue
    return done
