"""The standard OTEL_* variables: one case per row of the conformance table in
docs/configuration.md (supported and read by us, read by the OpenTelemetry SDK itself,
or not supported and warned about)."""

from __future__ import annotations

import json
import operator
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import Link

import astra_otel
from astra_otel._config import setup_params
from astra_otel._config.params import environ_snapshot
from astra_otel._config.settings import Settings, load_settings
from astra_otel._internal.config_docs import conformance_rows
from astra_otel.testing import capture_telemetry

# One valid, non-default value per standard variable we read, and where it must land
# (TLS files must exist and go with an https:// endpoint: EXTRA gives what they need).
SAMPLES: dict[str, tuple[str, str, object]] = {
    "OTEL_SDK_DISABLED": ("true", "enabled", False),
    "OTEL_SERVICE_NAME": ("conformance", "service_name", "conformance"),
    "OTEL_RESOURCE_ATTRIBUTES": ("team=a%2Cb", "resource_attributes", (("team", "a,b"),)),
    "OTEL_EXPORTER_OTLP_ENDPOINT": (
        "http://127.0.0.1:5318",
        "traces.export.endpoint",
        "http://127.0.0.1:5318/v1/traces",
    ),
    "OTEL_EXPORTER_OTLP_PROTOCOL": ("grpc", "logs.export.protocol", "grpc"),
    "OTEL_EXPORTER_OTLP_HEADERS": ("Api-Key=k", "metrics.export.headers", (("api-key", "k"),)),
    "OTEL_EXPORTER_OTLP_TIMEOUT": ("2500", "traces.export.timeout", 2.5),
    "OTEL_TRACES_SAMPLER": ("always_off", "traces.sampler", "always_off"),
    "OTEL_TRACES_SAMPLER_ARG": ("0.5", "traces.sampler_arg", 0.5),
    "OTEL_METRIC_EXPORT_INTERVAL": ("2000", "metrics.export_interval", 2.0),
    "OTEL_METRIC_EXPORT_TIMEOUT": ("4000", "metrics.export_timeout", 4.0),
    "OTEL_SEMCONV_STABILITY_OPT_IN": ("http/dup", "instrumentations.semconv_opt_in", ("http/dup",)),
}
for _signal in setup_params.SIGNALS:
    _up = _signal.upper()
    SAMPLES[f"OTEL_EXPORTER_OTLP_{_up}_ENDPOINT"] = (
        "http://10.0.0.1:1/x",
        f"{_signal}.export.endpoint",
        "http://10.0.0.1:1/x",
    )
    SAMPLES[f"OTEL_EXPORTER_OTLP_{_up}_PROTOCOL"] = ("grpc", f"{_signal}.export.protocol", "grpc")
    SAMPLES[f"OTEL_EXPORTER_OTLP_{_up}_HEADERS"] = (
        "b=2",
        f"{_signal}.export.headers",
        (("b", "2"),),
    )
    SAMPLES[f"OTEL_EXPORTER_OTLP_{_up}_TIMEOUT"] = ("1500", f"{_signal}.export.timeout", 1.5)
    SAMPLES[f"OTEL_{_up}_EXPORTER"] = ("otlp,console", f"{_signal}.exporter", ("otlp", "console"))
EXTRA: dict[str, dict[str, str]] = {}
_HTTPS = {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4318"}
for _scope, _signal in (("", "traces"), *((f"{s.upper()}_", s) for s in setup_params.SIGNALS)):
    _cert = f"OTEL_EXPORTER_OTLP_{_scope}CLIENT_CERTIFICATE"
    _key = f"OTEL_EXPORTER_OTLP_{_scope}CLIENT_KEY"
    SAMPLES[f"OTEL_EXPORTER_OTLP_{_scope}CERTIFICATE"] = (
        __file__,
        f"{_signal}.export.certificate",
        __file__,
    )
    SAMPLES[_cert] = (__file__, f"{_signal}.export.client_certificate", __file__)
    SAMPLES[_key] = (__file__, f"{_signal}.export.client_key", __file__)
    EXTRA[f"OTEL_EXPORTER_OTLP_{_scope}CERTIFICATE"] = _HTTPS
    EXTRA[_cert] = {**_HTTPS, _key: __file__}
    EXTRA[_key] = {**_HTTPS, _cert: __file__}
for _prefix, _signal in (("OTEL_BSP", "traces"), ("OTEL_BLRP", "logs")):
    SAMPLES[f"{_prefix}_SCHEDULE_DELAY"] = ("250", f"{_signal}.schedule_delay", 0.25)
    SAMPLES[f"{_prefix}_EXPORT_TIMEOUT"] = ("3000", f"{_signal}.batch_export_timeout", 3.0)
    SAMPLES[f"{_prefix}_MAX_QUEUE_SIZE"] = ("100", f"{_signal}.max_queue_size", 100)
    SAMPLES[f"{_prefix}_MAX_EXPORT_BATCH_SIZE"] = ("10", f"{_signal}.max_export_batch_size", 10)


def _read(settings: Settings, path: str) -> object:
    return operator.attrgetter(path)(settings)


def test_the_table_has_a_case_for_every_standard_variable() -> None:
    """Every standard variable we declare has a sample here, and the documented table
    lists exactly the declared, SDK-read and ignored variables, each once."""
    declared = {v for p in setup_params.declare.params for v in p.env if v.startswith("OTEL_")}
    assert set(SAMPLES) == declared, "add a sample for each new standard variable"
    listed = [var for var, _, _ in conformance_rows()]
    expected = declared | set(setup_params.READ_BY_OPENTELEMETRY) | set(setup_params.IGNORED)
    assert sorted(listed) == sorted(expected)
    assert not declared & set(setup_params.IGNORED)


@pytest.mark.parametrize("var", sorted(SAMPLES))
def test_standard_variable_is_read(var: str) -> None:
    """The variable sets its setting (its value differs from the default's)."""
    raw, path, expected = SAMPLES[var]
    assert _read(load_settings({}, {**EXTRA.get(var, {}), var: raw}), path) == expected
    assert _read(load_settings({}, {}), path) != expected


def test_sampler_and_service_variables_shape_what_is_exported() -> None:
    """Through the real wiring: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are on the
    exported resource, and OTEL_TRACES_SAMPLER=always_off exports no span."""
    env = {"OTEL_SERVICE_NAME": "conf", "OTEL_RESOURCE_ATTRIBUTES": "team=core"}
    with capture_telemetry(environ=env) as cap:
        with trace.get_tracer("t").start_as_current_span("kept"):
            pass
        (span,) = cap.spans()
        assert span.resource.attributes["service.name"] == "conf"
        assert span.resource.attributes["team"] == "core"
    with capture_telemetry(environ={"OTEL_TRACES_SAMPLER": "always_off"}) as cap:
        with trace.get_tracer("t").start_as_current_span("dropped"):
            pass
        assert cap.spans() == []


# --- read by the OpenTelemetry SDK/API itself ---


def _span_with_everything() -> None:
    tracer = trace.get_tracer("t")
    with tracer.start_as_current_span("other") as other:
        link_ctx = other.get_span_context()
    with tracer.start_as_current_span(
        "bounded",
        attributes={"a": "abcdef", "b": "x", "c": "y"},
        links=[Link(link_ctx, {"l1": 1, "l2": 2}), Link(link_ctx)],
    ) as span:
        span.add_event("e1", {"x": 1, "y": 2})
        span.add_event("e2")


# variable -> (value, what of the "bounded" span shows it)
LIMITS: dict[str, tuple[str, Callable[[Any], object], object]] = {
    "OTEL_ATTRIBUTE_COUNT_LIMIT": ("1", lambda s: len(s.attributes), 1),
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": ("3", lambda s: s.attributes["a"], "abc"),
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": ("2", lambda s: len(s.attributes), 2),
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": ("2", lambda s: s.attributes["a"], "ab"),
    "OTEL_SPAN_EVENT_COUNT_LIMIT": ("1", lambda s: [e.name for e in s.events], ["e2"]),
    "OTEL_SPAN_LINK_COUNT_LIMIT": ("1", lambda s: len(s.links), 1),
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT": ("1", lambda s: len(s.events[0].attributes), 1),
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": ("1", lambda s: len(s.links[0].attributes), 1),
}

PROPAGATORS = """
import astra_otel
from opentelemetry import baggage, context, propagate, trace
astra_otel.setup(service_name="p", endpoint="http://127.0.0.1:9", export_timeout=0.1)
carrier = {}
ctx = baggage.set_baggage("k", "v")
with trace.get_tracer("t").start_as_current_span("s", context=ctx):
    propagate.inject(carrier, context=baggage.set_baggage("k", "v"))
print(json.dumps(sorted(carrier)))
"""


def test_the_sdk_read_variables_are_the_cases_here() -> None:
    """Each variable the table says the SDK reads has its case below."""
    assert set(setup_params.READ_BY_OPENTELEMETRY) == {*LIMITS, "OTEL_PROPAGATORS"}


@pytest.mark.parametrize("var", sorted({*LIMITS, "OTEL_PROPAGATORS"}))
def test_variable_read_by_opentelemetry(var: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under setup()'s wiring the SDK/API applies the variable: the span limits bound the
    exported span; OTEL_PROPAGATORS=baggage injects no traceparent."""
    if var == "OTEL_PROPAGATORS":
        env = {k: v for k, v in environ_snapshot().items() if not k.startswith("OTEL_")}
        env["ASTRA_OTEL_EXPORT_WARNINGS"] = "false"
        keys = {}
        for value in ("tracecontext,baggage", "baggage"):
            proc = subprocess.run(
                [sys.executable, "-c", "import json\n" + textwrap.dedent(PROPAGATORS)],
                env={**env, var: value},
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            keys[value] = json.loads(proc.stdout.splitlines()[-1])
        assert keys == {"tracecontext,baggage": ["baggage", "traceparent"], "baggage": ["baggage"]}
        return
    raw, shown, expected = LIMITS[var]
    with capture_telemetry() as cap:
        _span_with_everything()
        unbounded = next(s for s in cap.spans() if s.name == "bounded")
    monkeypatch.setenv(var, raw)  # the SDK reads it from the process environment
    with capture_telemetry() as cap:
        _span_with_everything()
        bounded = next(s for s in cap.spans() if s.name == "bounded")
    assert shown(bounded) == expected
    assert shown(unbounded) != expected


# --- not supported: warned about ---


@pytest.mark.parametrize("var", sorted(setup_params.IGNORED))
def test_ignored_variable_is_warned_about(var: str) -> None:
    """A set variable we do not honour makes setup's wiring warn, naming it (its value,
    maybe a credential, is not shown)."""
    with (
        pytest.warns(UserWarning, match=f"{var} .*ignored") as caught,
        capture_telemetry(environ={var: "secret-value"}),
    ):
        pass
    assert all("secret-value" not in str(w.message) for w in caught)


def test_setup_warns_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """setup() itself warns about an unsupported variable in os.environ, and not when
    none is set."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    with pytest.warns(UserWarning, match="OTEL_EXPORTER_OTLP_COMPRESSION"):
        astra_otel.setup(endpoint="http://127.0.0.1:9", export_timeout=0.1, gc_freeze=False)
    astra_otel.testing.reset()
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_COMPRESSION")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        astra_otel.setup(endpoint="http://127.0.0.1:9", export_timeout=0.1, gc_freeze=False)
    astra_otel.testing.reset()
