"""The exporter selection (OTEL_<SIGNAL>_EXPORTER): none builds no provider for that
signal, console prints, otlp,console does both."""

from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import sys
import textwrap
import urllib.request

import pytest
from opentelemetry import metrics, trace
from opentelemetry._logs import get_logger_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from astra_otel import ConfigError, MetricsOptions, TracesOptions
from astra_otel._config.params import environ_snapshot
from astra_otel._internal.exporters import Tee
from astra_otel._internal.logs import BridgeHandler
from astra_otel.testing import capture_telemetry


def _bridges() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, BridgeHandler)]


def test_traces_none_installs_no_tracer_provider() -> None:
    """OTEL_TRACES_EXPORTER=none: no SDK TracerProvider, spans are the API's no-op ones,
    nothing is captured; metrics and logs still work."""
    with capture_telemetry(environ={"OTEL_TRACES_EXPORTER": "none"}) as cap:
        assert cap.telemetry.tracer_provider is None
        assert not isinstance(trace.get_tracer_provider(), TracerProvider)
        with trace.get_tracer("t").start_as_current_span("ignored") as span:
            assert not span.is_recording()
            logging.getLogger("app").warning("kept")
        metrics.get_meter("m").create_counter("kept.count").add(1)
        assert cap.spans() == []
        assert [r.log_record.body for r in cap.logs()] == ["kept"]
        assert cap.metric("kept.count")


def test_metrics_none_installs_no_meter_provider() -> None:
    """OTEL_METRICS_EXPORTER=none: no SDK MeterProvider (the API's no-op meter)."""
    with capture_telemetry(environ={"OTEL_METRICS_EXPORTER": "none"}) as cap:
        assert cap.telemetry.meter_provider is None
        assert not isinstance(metrics.get_meter_provider(), MeterProvider)
        with trace.get_tracer("t").start_as_current_span("kept"):
            pass
        assert [s.name for s in cap.spans()] == ["kept"]


def test_metrics_none_keeps_an_explicit_prometheus_endpoint() -> None:
    """metrics exporter none with a Prometheus port: a provider for the pull reader only
    (the scrape has the metric; the push reader got nothing)."""
    port = _free_port()
    with capture_telemetry(metrics=MetricsOptions(exporter="none", prometheus_port=port)) as cap:
        assert isinstance(cap.telemetry.meter_provider, MeterProvider)
        metrics.get_meter("m").create_counter("pulled.count").add(2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            # older Prometheus exporters (0.61b0) add no scope labels to the series
            assert re.search(r"^pulled_count_total(\{[^}]*\})? 2\.0$", resp.read().decode(), re.M)
        assert cap.metrics() == []


def test_logs_none_installs_no_bridge_and_no_logger_provider() -> None:
    """OTEL_LOGS_EXPORTER=none: no LoggerProvider and no bridge on the root logger."""
    with capture_telemetry(environ={"OTEL_LOGS_EXPORTER": "none"}) as cap:
        assert cap.telemetry.logger_provider is None
        assert not isinstance(get_logger_provider(), LoggerProvider)
        assert _bridges() == []
        logging.getLogger("app").warning("not exported")
        assert cap.logs() == []


def test_exporter_argument_beats_the_variable() -> None:
    """TracesOptions(exporter="otlp") wins over OTEL_TRACES_EXPORTER=none."""
    with capture_telemetry(
        environ={"OTEL_TRACES_EXPORTER": "none"}, traces=TracesOptions(exporter="otlp")
    ) as cap:
        assert isinstance(cap.telemetry.tracer_provider, TracerProvider)


def test_tee_counts_the_primary_and_survives_a_failing_echo() -> None:
    """otlp,console: the OTLP result is the export's result; a failing console copy does
    not lose the batch."""

    class Echo:
        def export(self, batch: object) -> None:
            raise OSError("stdout closed")

    class Primary:
        def __init__(self) -> None:
            self.got: list[object] = []

        def export(self, batch: object) -> str:
            self.got.append(batch)
            return "SUCCESS"

    primary = Primary()
    assert Tee(primary, Echo()).export(["span"]) == "SUCCESS"
    assert primary.got == [["span"]]


CONSOLE = """
import logging
import astra_otel
from opentelemetry import metrics, trace
handle = astra_otel.setup(service_name="console-svc", endpoint="http://127.0.0.1:9")
with trace.get_tracer("t").start_as_current_span("printed-span"):
    logging.getLogger("app").warning("printed log")
metrics.get_meter("m").create_counter("printed.count").add(1)
handle.shutdown(5.0)
health = handle.health()
print("HEALTH", health.traces.failed, health.logs.failed, health.metrics.failed)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_console_exporters_print_json_and_send_nothing_over_otlp() -> None:
    """OTEL_{TRACES,METRICS,LOGS}_EXPORTER=console: the span, the log record and the
    metric are printed as JSON on stdout, and no OTLP export is tried (none failed,
    although the endpoint is a closed port)."""
    env = {k: v for k, v in environ_snapshot().items() if not k.startswith(("OTEL_", "ASTRA_"))}
    env.update(
        OTEL_TRACES_EXPORTER="console",
        OTEL_METRICS_EXPORTER="console",
        OTEL_LOGS_EXPORTER="console",
        ASTRA_OTEL_EXPORT_WARNINGS="false",
    )
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CONSOLE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = proc.stdout
    assert "HEALTH 0 0 0" in out
    decoder = json.JSONDecoder()
    objects, index = [], 0
    while (start := out.find("{", index)) != -1:
        obj, index = decoder.raw_decode(out, start)
        objects.append(obj)
    assert any(o.get("name") == "printed-span" for o in objects)
    assert any(o.get("body") == "printed log" for o in objects)
    assert "printed.count" in out


@pytest.mark.parametrize("raw", ["zipkin", "none,otlp", "otlp,jaeger", ","])
def test_unknown_exporter_names_are_refused(raw: str) -> None:
    """An exporter name we do not have, or none combined with another, is a ConfigError."""
    with (
        pytest.raises(ConfigError, match="OTEL_LOGS_EXPORTER"),
        capture_telemetry(environ={"OTEL_LOGS_EXPORTER": raw}),
    ):
        pass
