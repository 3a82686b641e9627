"""Contrib instrumentations' semantic-convention registry and FastAPI's native telemetry."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any

from astra_otel._internal.sdk_private._registry import HOOKS, expect, hook

__all__ = ["fastapi_native_settings", "set_semconv_mode"]


# --- the contrib instrumentations' semantic-convention mode -----------------------------------


@hook(
    "semconv-mode",
    "opentelemetry.instrumentation._semconv (stability registry)",
    "the instrumentations reading OTEL_SEMCONV_STABILITY_OPT_IN themselves (their "
    "default: the old HTTP and database conventions)",
)
def _check_semconv_mode() -> None:
    semconv: Any = importlib.import_module("opentelemetry.instrumentation._semconv")
    stability = semconv._OpenTelemetrySemanticConventionStability
    signal = semconv._OpenTelemetryStabilitySignalType.HTTP
    before = dict(stability._OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING)
    try:
        for opt_in, mode in ((["http"], "HTTP"), ([], "DEFAULT")):
            _write_semconv(semconv, opt_in)
            got = stability._get_opentelemetry_stability_opt_in_mode(signal)
            expect(got is getattr(semconv._StabilityMode, mode), f"{opt_in} gave {got}")
    finally:
        stability._OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING.update(before)


def _write_semconv(semconv: Any, opt_in: list[str]) -> None:
    stability = semconv._OpenTelemetrySemanticConventionStability
    stability._initialize()
    modes = semconv._StabilityMode
    signals = semconv._OpenTelemetryStabilitySignalType
    mapping = stability._OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING
    mapping[signals.HTTP] = stability._filter_mode(opt_in, modes.HTTP, modes.HTTP_DUP)
    mapping[signals.DATABASE] = stability._filter_mode(opt_in, modes.DATABASE, modes.DATABASE_DUP)


def set_semconv_mode(opt_in: Sequence[str]) -> bool:
    """Hand our resolved ``OTEL_SEMCONV_STABILITY_OPT_IN`` to the contrib registry (which
    otherwise reads the variable itself, once); ``False`` if that is impossible."""
    if importlib.util.find_spec("opentelemetry.instrumentation") is None:
        return False
    if not HOOKS["semconv-mode"].usable():
        return False
    _write_semconv(importlib.import_module("opentelemetry.instrumentation._semconv"), list(opt_in))
    return True


# --- FastAPI's native telemetry settings (FastAPI >= 0.165) ----------------------------------


@hook(
    "fastapi-native-telemetry",
    "FastAPI's app._telemetry settings dict",
    "leaving FastAPI's native telemetry on for apps created before setup() (their "
    "requests may be traced twice)",
)
def _check_fastapi_native() -> None:
    fastapi: Any = importlib.import_module("fastapi")
    app = fastapi.FastAPI()
    expect(isinstance(app._telemetry, dict), "app._telemetry is not a dict")


def fastapi_native_settings(app: Any) -> dict[str, Any] | None:
    """The dict FastAPI keeps an app's native telemetry switches in, if reachable."""
    if not HOOKS["fastapi-native-telemetry"].usable():
        return None
    settings = getattr(app, "_telemetry", None)
    return settings if isinstance(settings, dict) else None
