"""What cannot be right is refused: zero or negative durations and sizes, blank names;
each message names the argument or variable and speaks its unit."""

from __future__ import annotations

import math
from typing import Any

import pytest

import astra_otel
from astra_otel import ConfigError, LogsOptions, MetricsOptions, TracesOptions
from astra_otel._config import setup_params
from astra_otel._config.params import Param
from astra_otel._config.settings import load_settings
from astra_otel.catalogue import guard
from astra_otel.stack import settings as stack_settings
from astra_otel.stack.settings import load_stack_settings

ALL = [*setup_params.declare.params, *stack_settings.declare.params, *guard.declare.params]
DURATIONS = [p for p in ALL if p.kind.accepted == "a number of seconds > 0"]
SIZES = [p for p in ALL if p.kind.accepted == "an integer > 0"]


def _resolve(param: Param[Any], arguments: dict[str, object], environ: dict[str, str]) -> object:
    return param.resolve(arguments, environ)


def test_the_duration_and_size_settings_are_found() -> None:
    """The cases below cover every interval, timeout, delay and queue/batch size."""
    names = {p.name for p in DURATIONS}
    assert {"metrics.export_interval", "shutdown_timeout", "startup_timeout"} <= names
    assert {"traces.schedule_delay", "logs.timeout", "export_timeout"} <= names
    assert {p.name for p in SIZES} >= {"traces.max_queue_size", "logs.max_export_batch_size"}


@pytest.mark.parametrize("value", [0, 0.0, -1, -0.5, math.nan, math.inf, True, "soon"])
@pytest.mark.parametrize("param", [p for p in DURATIONS if p.argument], ids=lambda p: p.name)
def test_durations_refuse_zero_negative_and_non_numbers_as_arguments(
    param: Param[Any], value: object
) -> None:
    """A duration argument must be a finite number of seconds > 0; the message names the
    argument and says seconds."""
    with pytest.raises(ConfigError) as info:
        _resolve(param, {param.name: value}, {})
    assert info.value.source == f"{param.name} (argument)"
    assert info.value.expected == "a number of seconds > 0"
    assert "milliseconds" not in str(info.value)


@pytest.mark.parametrize("raw", ["0", "-1", "-0.0", "nan", "inf", "soon"])
@pytest.mark.parametrize("param", DURATIONS, ids=lambda p: p.name)
def test_durations_refuse_zero_negative_and_junk_in_the_environment(
    param: Param[Any], raw: str
) -> None:
    """A duration variable must be > 0, in its own unit: milliseconds for the standard
    OTEL_* variables, seconds for ours."""
    var = param.env[0]
    with pytest.raises(ConfigError) as info:
        _resolve(param, {}, {var: raw})
    assert info.value.source == var
    unit = "milliseconds" if var.startswith("OTEL_") else "seconds"
    assert info.value.expected == f"a number of {unit} > 0"


@pytest.mark.parametrize("value", [0, -3, 2.5, False])
@pytest.mark.parametrize("param", SIZES, ids=lambda p: p.name)
def test_sizes_refuse_zero_negative_and_fractions(param: Param[Any], value: object) -> None:
    """Queue and batch sizes are whole numbers > 0, as arguments and as variables."""
    if param.argument:
        with pytest.raises(ConfigError, match=rf"{param.name} \(argument\)=.*an integer > 0"):
            _resolve(param, {param.name: value}, {})
    with pytest.raises(ConfigError, match=rf"{param.env[0]}=.*an integer > 0"):
        _resolve(param, {}, {param.env[0]: str(value)})


def test_zero_export_interval_is_refused_before_anything_is_wired() -> None:
    """setup(metrics=MetricsOptions(export_interval=0)), the busy loop that was accepted,
    raises ConfigError in seconds and installs nothing."""
    with pytest.raises(ConfigError) as info:
        astra_otel.setup(metrics=MetricsOptions(export_interval=0))
    assert str(info.value) == (
        "metrics.export_interval (argument)=0: expected a number of seconds > 0"
    )
    from astra_otel._internal import setup as setup_mod  # noqa: PLC0415

    assert setup_mod.current() is None


def test_negative_interval_argument_speaks_seconds_and_variable_milliseconds() -> None:
    """The same mistake is worded in the unit of where it was made."""
    with pytest.raises(ConfigError, match=r"export_interval \(argument\)=-1: .* seconds > 0"):
        load_settings({}, {}, metrics=MetricsOptions(export_interval=-1))
    with pytest.raises(ConfigError, match=r"OTEL_METRIC_EXPORT_INTERVAL='-1': .* milliseconds"):
        load_settings({}, {"OTEL_METRIC_EXPORT_INTERVAL": "-1"})


@pytest.mark.parametrize("name", ["", " ", "\t\n"])
def test_blank_service_name_is_refused(name: str) -> None:
    """service_name must not be empty or whitespace, as an argument or as service.name in
    OTEL_RESOURCE_ATTRIBUTES (a blank OTEL_SERVICE_NAME counts as unset)."""
    with pytest.raises(ConfigError, match=r"service_name \(argument\)=.*non-empty"):
        load_settings({"service_name": name}, {})
    with pytest.raises(ConfigError, match=r"OTEL_RESOURCE_ATTRIBUTES=.*service\.name"):
        load_settings({}, {"OTEL_RESOURCE_ATTRIBUTES": f"service.name={name},team=a"})
    assert load_settings({}, {"OTEL_SERVICE_NAME": name}).service_name == "unknown_service"


@pytest.mark.parametrize(
    ("options", "source"),
    [
        ({"traces": TracesOptions(schedule_delay=0)}, "traces.schedule_delay (argument)"),
        ({"logs": LogsOptions(timeout=-2.0)}, "logs.timeout (argument)"),
        ({"logs": LogsOptions(max_export_batch_size=0)}, "logs.max_export_batch_size (argument)"),
        ({"traces": TracesOptions(exporter="jaeger")}, "traces.exporter (argument)"),
    ],
)
def test_option_dataclass_mistakes_name_the_option(options: dict[str, Any], source: str) -> None:
    """A bad option field is reported by its dotted argument name."""
    with pytest.raises(ConfigError) as info:
        load_settings({}, {}, **options)
    assert info.value.source == source


@pytest.mark.parametrize(
    "var", ["ASTRA_OTEL_STACK_STARTUP_TIMEOUT", "ASTRA_OTEL_STACK_STOP_TIMEOUT"]
)
def test_stack_timeouts_refuse_zero(var: str) -> None:
    """The stack's timeouts are refused at zero too (`stack up` would not wait at all)."""
    with pytest.raises(ConfigError, match=rf"{var}='0': expected a number of seconds > 0"):
        load_stack_settings({"HOME": "/h", var: "0"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("iban,card_?no", ("iban", "card_?no")),
        (r"x{2,3}, (a|b,c) ,[,;]", ("x{2,3}", "(a|b,c)", "[,;]")),
        (r"a\,b,c", (r"a\,b", "c")),
        (" , ", ()),
    ],
)
def test_redact_patterns_split_at_top_level_commas(raw: str, expected: tuple[str, ...]) -> None:
    """A comma inside (), [] or {} (or after a backslash) belongs to its expression."""
    settings = load_settings({}, {"ASTRA_OTEL_REDACT_PATTERNS": raw})
    assert settings.redact_patterns == expected


def test_a_pattern_that_does_not_compile_is_refused() -> None:
    """A bad regular expression fails setup() naming the variable or argument."""
    with pytest.raises(ConfigError, match="ASTRA_OTEL_REDACT_ALLOWLIST"):
        load_settings({}, {"ASTRA_OTEL_REDACT_ALLOWLIST": "page_(token"})
    with pytest.raises(ConfigError, match=r"redact_patterns \(argument\)"):
        load_settings({"redact_patterns": ("ok", "[unclosed")}, {})
    with pytest.raises(ConfigError, match="redact_patterns"):
        load_settings({"redact_patterns": 3}, {})
