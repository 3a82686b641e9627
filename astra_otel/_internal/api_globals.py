"""Setting (and, after a shutdown, re-setting) the OpenTelemetry API's global providers.

The API lets each global provider be set once per process and warns on a second set. A
``setup()`` after ``shutdown()`` (and ``astra_otel.testing``) must be able to install new
providers, so this module clears the API's set-once guards first. It is the only place
that touches those private names.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry._logs import _internal as logs_internal
from opentelemetry.metrics import _internal as metrics_internal
from opentelemetry.util._once import Once

__all__ = ["install_providers", "reset_providers"]


def reset_providers() -> None:
    """Return the three API globals to their unset state (proxies stay valid)."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None


def install_providers(tracer_provider: Any, meter_provider: Any, logger_provider: Any) -> None:
    """Make our providers the API's globals (each one may be ``None`` to leave it unset)."""
    reset_providers()
    if tracer_provider is not None:
        trace.set_tracer_provider(tracer_provider)
    if meter_provider is not None:
        metrics.set_meter_provider(meter_provider)
    if logger_provider is not None:
        _logs.set_logger_provider(logger_provider)
