"""setup() sends to a collector that requires TLS, a client certificate and a bearer token.

The collector is the real one with the documented layer (collector/otel-collector.yaml +
collector/otel-collector-tls.yaml) on loopback; the service is a fresh Python process
configured only with the standard OTEL_EXPORTER_OTLP_* variables, in their general and
their per-signal form, over http/protobuf and over gRPC. The collector refuses anything
without all three credentials (tests/topology/test_topology_tls.py shows how), so data
arriving proves setup() used each of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from astra_otel._config.params import environ_snapshot

from _support.stack import RunningStack, wait_for
from _support.tls_collector import TlsCollector, running_tls_collector

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tls_collector(
    stack: RunningStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsCollector]:
    """The single collector with otel-collector-tls.yaml, on free loopback ports."""
    with running_tls_collector(
        stack, tmp_path_factory.mktemp("collector-tls"), tmp_path_factory.mktemp("tls-state")
    ) as running:
        yield running


PROGRAM = """
import json, logging, sys
import astra_otel
from opentelemetry import metrics, trace
handle = astra_otel.setup(**json.loads(sys.argv[1]))
with trace.get_tracer("astra.e2e").start_as_current_span("tls-request"):
    logging.getLogger("app").warning("sent over TLS")
    metrics.get_meter("astra.e2e").create_counter("astra.e2e.tls").add(1)
handle.shutdown()
"""


def _arguments(col: TlsCollector, protocol: str) -> dict[str, object]:
    """setup() keywords: nothing from the environment, so the SDK cannot find the files."""
    port = col.component.ports["otlp_grpc" if protocol == "grpc" else "otlp_http"]
    return {
        "endpoint": f"https://127.0.0.1:{port}",
        "protocol": protocol,
        "certificate": str(col.pki.ca_cert),
        "client_certificate": str(col.pki.cert("client")),
        "client_key": str(col.pki.key("client")),
        "headers": {"authorization": "Bearer " + col.pki.token.read_text().strip()},
    }


def _variables(col: TlsCollector, protocol: str, form: str) -> dict[str, str]:
    port = col.component.ports["otlp_grpc" if protocol == "grpc" else "otlp_http"]
    base = f"https://127.0.0.1:{port}"
    tls = {
        "CERTIFICATE": str(col.pki.ca_cert),
        "CLIENT_CERTIFICATE": str(col.pki.cert("client")),
        "CLIENT_KEY": str(col.pki.key("client")),
        "HEADERS": "authorization=Bearer%20" + col.pki.token.read_text().strip(),
    }
    if form == "arguments":
        return {}
    if form == "general":
        out = {f"OTEL_EXPORTER_OTLP_{k}": v for k, v in tls.items()}
        out["OTEL_EXPORTER_OTLP_ENDPOINT"] = base
        return out
    out = {}
    for signal in ("traces", "metrics", "logs"):
        up = signal.upper()
        out.update({f"OTEL_EXPORTER_OTLP_{up}_{k}": v for k, v in tls.items()})
        path = "" if protocol == "grpc" else f"/v1/{signal}"
        out[f"OTEL_EXPORTER_OTLP_{up}_ENDPOINT"] = base + path
    return out


def _entries(path: Path, key: str, service: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        for entry in json.loads(line).get(key, []):
            attrs = {
                a["key"]: a["value"].get("stringValue") for a in entry["resource"]["attributes"]
            }
            if attrs.get("service.name") == service:
                found.append(entry)
    return found


@pytest.mark.parametrize("form", ["general", "per-signal", "arguments"])
@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_setup_exports_every_signal_with_ca_client_certificate_and_token(
    tls_collector: TlsCollector, protocol: str, form: str
) -> None:
    """With OTEL_EXPORTER_OTLP_(<SIGNAL>_)CERTIFICATE/CLIENT_CERTIFICATE/CLIENT_KEY/HEADERS,
    or the same as setup() arguments, a span, a log and a metric reach the TLS collector."""
    service = f"e2e-tls-{form}-{protocol.replace('/', '-')}-{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in environ_snapshot().items() if not k.startswith(("OTEL_", "ASTRA_"))}
    env.update(
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_METRIC_EXPORT_INTERVAL="60000",  # the metric leaves at shutdown
        **_variables(tls_collector, protocol, form),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(PROGRAM),
            json.dumps(_arguments(tls_collector, protocol) if form == "arguments" else {}),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "export" not in done.stderr.lower(), done.stderr  # no export failure was reported
    files = tls_collector.telemetry

    def spans() -> list[str] | None:
        entries = _entries(files / "traces.jsonl", "resourceSpans", service)
        return [sp["name"] for e in entries for s in e["scopeSpans"] for sp in s["spans"]] or None

    def logs() -> list[str] | None:
        entries = _entries(files / "logs.jsonl", "resourceLogs", service)
        return [
            r["body"]["stringValue"]
            for e in entries
            for s in e["scopeLogs"]
            for r in s["logRecords"]
        ] or None

    def metrics() -> set[str] | None:
        entries = _entries(files / "metrics.jsonl", "resourceMetrics", service)
        return {m["name"] for e in entries for s in e["scopeMetrics"] for m in s["metrics"]} or None

    assert wait_for(spans, "the span in traces.jsonl", timeout=20) == ["tls-request"]
    assert wait_for(logs, "the log record in logs.jsonl", timeout=20) == ["sent over TLS"]
    assert "astra.e2e.tls" in wait_for(metrics, "the metric in metrics.jsonl", timeout=20)
