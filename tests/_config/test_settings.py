"""Settings resolution: arguments > environment > defaults, and every error case."""

from __future__ import annotations

import pytest

from astra_otel import ConfigError, LogsOptions, MetricsOptions, TracesOptions
from astra_otel._config.settings import diff_settings, load_settings


def test_defaults_without_arguments_or_environment() -> None:
    """With nothing set, defaults apply: http/protobuf to localhost:4318 with signal paths."""
    s = load_settings({}, {})
    assert s.enabled is True
    assert s.service_name == "unknown_service"
    assert s.traces.export.endpoint == "http://localhost:4318/v1/traces"
    assert s.metrics.export.endpoint == "http://localhost:4318/v1/metrics"
    assert s.logs.export.endpoint == "http://localhost:4318/v1/logs"
    assert s.traces.export.protocol == "http/protobuf"
    assert s.traces.sampler == "parentbased_always_on"
    assert s.shutdown_timeout == 5.0
    assert s.instrumentations.capture_headers is False
    assert s.instrumentations.fastapi_exclude_spans == ("receive", "send")


def test_argument_beats_environment_beats_default() -> None:
    """A keyword argument wins over the variable, which wins over the default."""
    env = {"OTEL_SERVICE_NAME": "from-env", "ASTRA_OTEL_SHUTDOWN_TIMEOUT": "2"}
    assert load_settings({}, env).service_name == "from-env"
    assert load_settings({"service_name": "from-arg"}, env).service_name == "from-arg"
    assert load_settings({}, env).shutdown_timeout == 2.0
    assert load_settings({"shutdown_timeout": 1.5}, env).shutdown_timeout == 1.5


def test_sdk_disabled_variable_turns_everything_off() -> None:
    """OTEL_SDK_DISABLED=true resolves to enabled=False; the argument overrides it."""
    assert load_settings({}, {"OTEL_SDK_DISABLED": "true"}).enabled is False
    assert load_settings({}, {"OTEL_SDK_DISABLED": "false"}).enabled is True
    assert load_settings({"enabled": True}, {"OTEL_SDK_DISABLED": "true"}).enabled is True


def test_general_endpoint_gets_signal_paths_for_http() -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT + /v1/<signal> for http/protobuf."""
    s = load_settings({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:5318/"})
    assert s.traces.export.endpoint == "http://127.0.0.1:5318/v1/traces"
    assert s.logs.export.endpoint == "http://127.0.0.1:5318/v1/logs"


def test_per_signal_endpoint_is_used_as_is() -> None:
    """OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not given a path and beats the general one."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:5318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://10.0.0.1:9999/custom",
    }
    s = load_settings({}, env)
    assert s.traces.export.endpoint == "http://10.0.0.1:9999/custom"
    assert s.metrics.export.endpoint == "http://127.0.0.1:5318/v1/metrics"


def test_grpc_endpoint_has_no_path_and_defaults_to_4317() -> None:
    """With grpc the general endpoint is used as-is; the default port is 4317."""
    assert load_settings({"protocol": "grpc"}, {}).traces.export.endpoint == (
        "http://localhost:4317"
    )
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:1"}
    assert load_settings({}, env).logs.export.endpoint == "http://h:1"


def test_per_signal_protocol_headers_timeout_override_general() -> None:
    """Per-signal protocol, headers and timeout (ms in env) override the general ones."""
    env = {
        "OTEL_EXPORTER_OTLP_HEADERS": "a=1",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "4000",
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "b=2%203",
        "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "1500",
    }
    s = load_settings({}, env)
    assert s.traces.export.headers == (("a", "1"),)
    assert s.traces.export.timeout == 4.0
    assert s.metrics.export.protocol == "grpc"
    assert s.metrics.export.endpoint == "http://localhost:4317"
    assert s.metrics.export.headers == (("b", "2 3"),)
    assert s.metrics.export.timeout == 1.5


def test_option_dataclasses_feed_per_signal_settings() -> None:
    """TracesOptions/MetricsOptions/LogsOptions fields win over their variables."""
    env = {"OTEL_TRACES_SAMPLER_ARG": "0.1", "OTEL_METRIC_EXPORT_INTERVAL": "60000"}
    s = load_settings(
        {},
        env,
        traces=TracesOptions(sampler="traceidratio", sampler_arg=0.5),
        metrics=MetricsOptions(export_interval=2.0),
        logs=LogsOptions(level="warning", max_queue_size=10),
    )
    assert (s.traces.sampler, s.traces.sampler_arg) == ("traceidratio", 0.5)
    assert s.metrics.export_interval == 2.0
    assert s.logs.level == "WARNING"
    assert s.logs.max_queue_size == 10


def test_batch_variables_are_honoured() -> None:
    """OTEL_BSP_* and OTEL_BLRP_* set queue, batch size and delay (ms)."""
    env = {
        "OTEL_BSP_MAX_QUEUE_SIZE": "100",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "10",
        "OTEL_BSP_SCHEDULE_DELAY": "250",
        "OTEL_BSP_EXPORT_TIMEOUT": "3000",
        "OTEL_BLRP_MAX_QUEUE_SIZE": "50",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
    }
    s = load_settings({}, env)
    assert (s.traces.max_queue_size, s.traces.max_export_batch_size) == (100, 10)
    assert (s.traces.schedule_delay, s.traces.batch_export_timeout) == (0.25, 3.0)
    assert (s.logs.max_queue_size, s.logs.schedule_delay) == (50, 0.1)


def test_resource_attributes_supply_service_fields_when_not_set_directly() -> None:
    """service.name/version/namespace/environment come from OTEL_RESOURCE_ATTRIBUTES last."""
    env = {
        "OTEL_RESOURCE_ATTRIBUTES": "service.name=ra,service.version=1.2,"
        "service.namespace=ns,deployment.environment.name=prod,team=a%2Cb"
    }
    s = load_settings({}, env)
    assert (s.service_name, s.service_version, s.service_namespace) == ("ra", "1.2", "ns")
    assert s.environment == "prod"
    assert ("team", "a,b") in s.resource_attributes
    assert load_settings({}, {**env, "OTEL_SERVICE_NAME": "direct"}).service_name == "direct"


@pytest.mark.parametrize(
    ("env", "source"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://h:99999"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://h"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "udp"}, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL"),
        ({"OTEL_METRIC_EXPORT_INTERVAL": "-5"}, "OTEL_METRIC_EXPORT_INTERVAL"),
        ({"OTEL_BSP_SCHEDULE_DELAY": "-1"}, "OTEL_BSP_SCHEDULE_DELAY"),
        ({"OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG"),
        ({"OTEL_TRACES_SAMPLER_ARG": "-0.1"}, "OTEL_TRACES_SAMPLER_ARG"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "novalue"}, "OTEL_RESOURCE_ATTRIBUTES"),
        ({"OTEL_RESOURCE_ATTRIBUTES": "a=1,=2"}, "OTEL_RESOURCE_ATTRIBUTES"),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "x"}, "OTEL_EXPORTER_OTLP_HEADERS"),
        ({"OTEL_SDK_DISABLED": "maybe"}, "OTEL_SDK_DISABLED"),
        ({"ASTRA_OTEL_SHUTDOWN_TIMEOUT": "soon"}, "ASTRA_OTEL_SHUTDOWN_TIMEOUT"),
    ],
)
def test_bad_environment_values_name_the_variable(env: dict[str, str], source: str) -> None:
    """A bad variable raises ConfigError naming the variable, the value and what is accepted."""
    with pytest.raises(ConfigError) as info:
        load_settings({}, env)
    assert info.value.source == source
    assert info.value.value == next(iter(env.values()))
    assert info.value.expected
    assert source in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "options", "source"),
    [
        ({"endpoint": "not a url"}, {}, "endpoint (argument)"),
        ({"protocol": "thrift"}, {}, "protocol (argument)"),
        ({"resource_attributes": {"a,b": "c"}}, {}, "resource_attributes (argument)"),
        ({"shutdown_timeout": -1}, {}, "shutdown_timeout (argument)"),
        ({}, {"traces": TracesOptions(sampler_arg=1.5)}, "traces.sampler_arg (argument)"),
        ({}, {"metrics": MetricsOptions(export_interval=-1)}, "metrics.export_interval (argument)"),
        ({}, {"logs": LogsOptions(endpoint="h:1")}, "logs.endpoint (argument)"),
        ({}, {"logs": LogsOptions(level="LOUD")}, "logs.level (argument)"),
        ({}, {"traces": TracesOptions(max_queue_size=0)}, "traces.max_queue_size (argument)"),
    ],
)
def test_bad_arguments_name_the_argument(
    kwargs: dict[str, object], options: dict[str, object], source: str
) -> None:
    """A bad argument raises ConfigError naming the argument (typed values checked too)."""
    with pytest.raises(ConfigError) as info:
        load_settings(kwargs, {}, **options)  # type: ignore[arg-type]
    assert info.value.source == source
    assert "expected" in str(info.value)


def test_settings_are_frozen_and_comparable() -> None:
    """Equal inputs give equal settings; the object cannot be mutated."""
    a = load_settings({"service_name": "x"}, {})
    b = load_settings({"service_name": "x"}, {})
    assert a == b
    with pytest.raises(AttributeError):
        a.service_name = "y"  # type: ignore[misc]


def test_diff_names_public_arguments_with_old_and_new_values() -> None:
    """diff_settings maps each differing argument (an environment-only setting by its
    variable) to its old and new value, and only those."""
    a = load_settings({"service_name": "x"}, {})
    b = load_settings(
        {"service_name": "y"},
        {},
        traces=TracesOptions(sampler="always_off", endpoint="http://127.0.0.1:1/t"),
    )
    assert diff_settings(a, b) == {
        "service_name": ("x", "y"),
        "traces.endpoint": (None, "http://127.0.0.1:1/t"),
        "traces.sampler": ("parentbased_always_on", "always_off"),
    }
    env_only = load_settings({}, {"OTEL_METRIC_EXPORT_TIMEOUT": "1000"})
    assert diff_settings(a, env_only)["OTEL_METRIC_EXPORT_TIMEOUT"] == (30.0, 1.0)
