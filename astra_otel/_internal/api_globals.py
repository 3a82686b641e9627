"""Setting (and, after a shutdown, re-setting) the OpenTelemetry API's global providers.

The API lets each global provider be set once per process and warns on a second set. A
``setup()`` after ``shutdown()`` (and ``astra_otel.testing``) must be able to install new
providers, so the API's set-once guards are cleared first (a private hook of
:mod:`astra_otel._internal.sdk_private`). Where that hook is unavailable, each global is
set through the public API the first time only, and later providers are used explicitly
(instrumentations get them as arguments) without becoming the globals.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics, trace

from astra_otel._internal import sdk_private

__all__ = ["install_providers", "reset_providers"]

# Signals whose global we set while the guards could not be cleared (never set twice).
_SET_ONCE: set[str] = set()


def reset_providers() -> None:
    """Return the three API globals to their unset state (proxies stay valid)."""
    if sdk_private.reset_api_globals():
        _SET_ONCE.clear()


def install_providers(tracer_provider: Any, meter_provider: Any, logger_provider: Any) -> None:
    """Make our providers the API's globals (each one may be ``None`` to leave it unset)."""
    reset_providers()
    setters = (
        ("traces", tracer_provider, trace.set_tracer_provider),
        ("metrics", meter_provider, metrics.set_meter_provider),
        ("logs", logger_provider, sdk_private.set_logger_provider),
    )
    resettable = sdk_private.HOOKS["api-globals"].usable()
    for signal, provider, set_global in setters:
        if provider is None or (not resettable and signal in _SET_ONCE):
            continue
        set_global(provider)
        if not resettable:
            _SET_ONCE.add(signal)
