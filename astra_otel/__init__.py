"""astra-otel: one ``setup()`` call wires traces, metrics and logs through OpenTelemetry.

The public names below are imported on first use (PEP 562 ``__getattr__``): importing a
subpackage such as ``astra_otel.stack`` (the ``astra-otel`` command) runs this file, and
must not pay for the OpenTelemetry SDK. ``astra_otel.setup`` and the rest stay where
they are; type checkers read the imports in the ``TYPE_CHECKING`` block.
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from astra_otel._config.options import InstrumentationOptions as InstrumentationOptions
    from astra_otel._config.options import LogsOptions as LogsOptions
    from astra_otel._config.options import MetricsOptions as MetricsOptions
    from astra_otel._config.options import TracesOptions as TracesOptions
    from astra_otel._config.settings import Settings as Settings
    from astra_otel._internal.setup import setup as setup
    from astra_otel._internal.telemetry import Health as Health
    from astra_otel._internal.telemetry import SignalHealth as SignalHealth
    from astra_otel._internal.telemetry import Telemetry as Telemetry
    from astra_otel.catalogue import Catalogue as Catalogue
    from astra_otel.catalogue import anomaly_detection as anomaly_detection
    from astra_otel.catalogue import chaos_injection as chaos_injection
    from astra_otel.catalogue import circuit_breaker_call as circuit_breaker_call
    from astra_otel.catalogue import dependency_call as dependency_call
    from astra_otel.catalogue import get_catalogue as get_catalogue
    from astra_otel.catalogue import log_anomaly as log_anomaly
    from astra_otel.catalogue import (
        log_circuit_breaker_transition as log_circuit_breaker_transition,
    )
    from astra_otel.catalogue import log_error as log_error
    from astra_otel.catalogue import log_performance as log_performance
    from astra_otel.catalogue import log_recovery_action as log_recovery_action
    from astra_otel.catalogue import log_request as log_request
    from astra_otel.catalogue import log_retry as log_retry
    from astra_otel.catalogue import memory_engine_operation as memory_engine_operation
    from astra_otel.catalogue import model_inference as model_inference
    from astra_otel.catalogue import recovery_action as recovery_action
    from astra_otel.catalogue import retry_attempt as retry_attempt
    from astra_otel.errors import AstraOtelError as AstraOtelError
    from astra_otel.errors import ConfigError as ConfigError
    from astra_otel.errors import SettingsConflictError as SettingsConflictError

# Where each public name lives, when not in the catalogue (the rest of __all__);
# tests/test_init.py checks every name of __all__ resolves.
_HOMES = {
    "AstraOtelError": "astra_otel.errors",
    "ConfigError": "astra_otel.errors",
    "SettingsConflictError": "astra_otel.errors",
    "Health": "astra_otel._internal.telemetry",
    "SignalHealth": "astra_otel._internal.telemetry",
    "Telemetry": "astra_otel._internal.telemetry",
    "InstrumentationOptions": "astra_otel._config.options",
    "LogsOptions": "astra_otel._config.options",
    "MetricsOptions": "astra_otel._config.options",
    "TracesOptions": "astra_otel._config.options",
    "Settings": "astra_otel._config.settings",
    "setup": "astra_otel._internal.setup",
}

__all__ = [
    "AstraOtelError",
    "Catalogue",
    "ConfigError",
    "Health",
    "InstrumentationOptions",
    "LogsOptions",
    "MetricsOptions",
    "Settings",
    "SettingsConflictError",
    "SignalHealth",
    "Telemetry",
    "TracesOptions",
    "anomaly_detection",
    "chaos_injection",
    "circuit_breaker_call",
    "dependency_call",
    "get_catalogue",
    "log_anomaly",
    "log_circuit_breaker_transition",
    "log_error",
    "log_performance",
    "log_recovery_action",
    "log_request",
    "log_retry",
    "memory_engine_operation",
    "model_inference",
    "recovery_action",
    "retry_attempt",
    "setup",
]


def __getattr__(name: str) -> object:
    """Import a public name from its home on first use, then keep it here."""
    if name not in __all__:
        msg = f"module 'astra_otel' has no attribute {name!r}"
        raise AttributeError(msg)
    home = _HOMES.get(name, "astra_otel.catalogue")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
