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

# Where each public name lives; tests/test_init.py checks this against __all__ and the
# block above.
_HOMES = {
    "astra_otel._config.options": (
        "InstrumentationOptions",
        "LogsOptions",
        "MetricsOptions",
        "TracesOptions",
    ),
    "astra_otel._config.settings": ("Settings",),
    "astra_otel._internal.setup": ("setup",),
    "astra_otel._internal.telemetry": ("Health", "SignalHealth", "Telemetry"),
    "astra_otel.catalogue": (
        "Catalogue",
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
    ),
    "astra_otel.errors": ("AstraOtelError", "ConfigError", "SettingsConflictError"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

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
    home = _HOME_OF.get(name)
    if home is None:
        msg = f"module 'astra_otel' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
