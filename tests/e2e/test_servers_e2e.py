"""A FastAPI ``main.py`` under real servers, against the real stack: an unhandled
exception is one ERROR log record in the request's trace (the trace id matches the
server span in Jaeger), the servers' loggers are bridged once with no access log, and
only workers are service instances in Prometheus (also with ``gunicorn --preload``).

Modes: uvicorn; ``uvicorn --workers 2``; gunicorn with 2 uvicorn workers, with and
without ``--preload``. Each runs once (module-scoped) and is stopped with SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from astra_otel._config.params import environ_snapshot

from _support.otlp_files import attrs, for_service
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
UVICORN = (sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "_server_app:app")
GUNICORN = (
    sys.executable,
    "-m",
    "gunicorn",
    "--chdir",
    str(HERE),
    "-k",
    "uvicorn.workers.UvicornWorker",
    "-w",
    "2",
    "--no-control-socket",  # its default path is shared by every gunicorn on the host
    "_server_app:app",
)
MODES: dict[str, tuple[tuple[str, ...], int]] = {
    # name: (command without the bind address, expected service instances)
    "uvicorn": (UVICORN, 1),
    "uvicorn --workers 2": ((*UVICORN, "--workers", "2"), 2),
    "gunicorn -w 2": (GUNICORN, 2),
    "gunicorn -w 2 --preload": ((*GUNICORN, "--preload"), 2),
}


@dataclass
class Served:
    """One server run: its service name, the failing request's tag, its stderr."""

    mode: str
    service: str
    tag: str
    instances: int
    stderr: Path
    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> int:
        """SIGTERM the server's process group and wait (bounded); its exit status."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _bind(mode: str, port: int) -> tuple[str, ...]:
    if mode.startswith("gunicorn"):
        return ("-b", f"127.0.0.1:{port}")
    return ("--host", "127.0.0.1", "--port", str(port))


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited while starting"
        try:
            if requests.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"server at {url} not ready in {timeout:.0f} s")


def _instances(stack: RunningStack, service: str) -> set[str]:
    query = f'astra_telemetry_exported_total{{service_name="{service}"}}'
    resp = requests.get(f"{stack.prometheus_url}/api/v1/query", params={"query": query}, timeout=5)
    resp.raise_for_status()
    return {s["metric"]["service_instance_id"] for s in resp.json()["data"]["result"]}


@pytest.fixture(scope="module", params=list(MODES))
def served(
    request: pytest.FixtureRequest, stack: RunningStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The app under one server mode; one failing request served; stopped at the end."""
    mode = str(request.param)
    command, instances = MODES[mode]
    service = f"e2e-server-{mode.split(maxsplit=1)[0]}-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in environ_snapshot().items() if not k.startswith(("OTEL_", "ASTRA_"))}
    env.update(
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_ENDPOINT=stack.otlp_http,
        OTEL_METRIC_EXPORT_INTERVAL="1000",
        ASTRA_OTEL_ENVIRONMENT="e2e",
    )
    port = _free_port()
    stderr = tmp_path_factory.mktemp("server") / "stderr.log"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [*command, *_bind(mode, port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    run = Served(mode, service, uuid.uuid4().hex[:8], instances, stderr, proc, url)
    try:
        _wait_ready(url, proc)
        assert requests.get(f"{url}/boom/{run.tag}", timeout=10).status_code == 500
        yield run
    finally:
        run.stop()


def _records(stack: RunningStack, service: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(service.instance.id, scope name, record) for every log record of ``service``."""
    out = []
    for entry in for_service(stack.telemetry_dir, "logs", service):
        instance = attrs(entry["resource"]["attributes"])["service.instance.id"]
        for scope in entry["scopeLogs"]:
            out.extend((instance, scope["scope"]["name"], r) for r in scope["logRecords"])
    return out


def _jaeger_server_span(stack: RunningStack, served: Served) -> dict[str, Any] | None:
    resp = requests.get(
        f"{stack.jaeger_url}/api/traces",
        params={"service": served.service, "limit": 50},
        timeout=5,
    )
    if resp.status_code != 200:
        return None
    for trace in resp.json().get("data") or []:
        for span in trace["spans"]:
            tags = {t["key"]: t["value"] for t in span["tags"]}
            if span["operationName"] == "GET /boom/{tag}" and tags.get("span.kind") == "server":
                return dict(span, tags=tags)
    return None


def test_unhandled_exception_is_one_error_record_in_the_server_span_trace(
    stack: RunningStack, served: Served
) -> None:
    """Exactly one ERROR record, with exception.type/.message/.stacktrace, whose trace id
    is the Jaeger server span's; the span's status carries the type and message."""
    span = wait_for(lambda: _jaeger_server_span(stack, served), "the server span in Jaeger")
    message = f"order {served.tag} has no lines"
    assert span["tags"]["otel.status_code"] == "ERROR"
    assert span["tags"]["otel.status_description"] == f"ValueError: {message}"

    def errors() -> list[dict[str, Any]] | None:
        found = [r for _, _, r in _records(stack, served.service) if r.get("severityText")]
        found = [r for r in found if r["severityText"] == "ERROR"]
        return found or None

    records = wait_for(errors, "the error log record")
    time.sleep(2.0)  # a duplicate would be exported within a batch delay or two
    records = errors() or []
    assert len(records) == 1, records
    (record,) = records
    record_attrs = attrs(record["attributes"])
    assert record_attrs["exception.type"] == "ValueError"
    assert record_attrs["exception.message"] == message
    assert "raise ValueError" in record_attrs["exception.stacktrace"]
    assert record["traceId"] == span["traceID"]


def test_server_loggers_are_bridged_once_and_access_logs_are_not(
    stack: RunningStack, served: Served
) -> None:
    """uvicorn's own records arrive (also as a gunicorn worker), none twice in one
    process, and no access-log record. With --preload, gunicorn's logger (bridged in the
    master) is exported by each worker ('Booting worker with pid'), never by the master.
    (Without it gunicorn logs nothing in a worker between setup() and exit.)"""
    expected = {"uvicorn.error"}
    if "--preload" in served.mode:
        expected.add("gunicorn.error")

    def scopes() -> set[str] | None:
        found = {scope for _, scope, _ in _records(stack, served.service)}
        return found if expected <= found else None

    wait_for(scopes, f"records from {expected}")
    seen = [
        (instance, scope, record["body"].get("stringValue"), record["timeUnixNano"])
        for instance, scope, record in _records(stack, served.service)
    ]
    assert len(seen) == len(set(seen)), "a record was exported twice"
    assert not {s for _, s, _, _ in seen} & {"uvicorn.access", "gunicorn.access"}
    if "--preload" in served.mode:

        def booting() -> list[str] | None:
            found = [
                instance
                for instance, scope, record in _records(stack, served.service)
                if scope == "gunicorn.error"
                and "Booting worker" in (record["body"].get("stringValue") or "")
            ]
            return found if len(found) >= 2 else None

        booted = wait_for(booting, "a 'Booting worker' record from each worker")
        workers = {i for i, scope, _ in _records(stack, served.service) if scope == "uvicorn.error"}
        assert sorted(booted) == sorted(workers)  # one each, and from the workers only


def test_only_workers_are_service_instances(stack: RunningStack, served: Served) -> None:
    """Prometheus sees one instance per worker: no gunicorn master, even with --preload."""
    wait_for(
        lambda: (
            _instances(stack, served.service)
            if len(_instances(stack, served.service)) >= served.instances
            else None
        ),
        f"{served.instances} instances of {served.service} in Prometheus",
        timeout=60.0,
    )
    time.sleep(7.0)  # another scrape (5 s) after every process has exported a few times
    assert len(_instances(stack, served.service)) == served.instances


def test_stopping_right_after_a_request_still_exports_it(
    stack: RunningStack, served: Served
) -> None:
    """SIGTERM a moment after a request: its span and its log record are exported (at the
    app's lifespan shutdown or exit), once."""
    assert requests.get(f"{served.url}/last/{served.tag}", timeout=10).status_code == 200
    assert served.stop() in (0, -signal.SIGTERM), served.stderr.read_text()
    body = f"last request {served.tag}"

    def last() -> list[dict[str, Any]] | None:
        found = [
            r for _, _, r in _records(stack, served.service) if r["body"].get("stringValue") == body
        ]
        return found or None

    def spans() -> list[dict[str, Any]] | None:
        found = [
            span
            for entry in for_service(stack.telemetry_dir, "traces", served.service)
            for scope in entry["scopeSpans"]
            for span in scope["spans"]
            if span["name"] == "GET /last/{tag}"
        ]
        return found or None

    (record,) = wait_for(last, "the last request's log record")
    (span,) = wait_for(spans, "the last request's span")
    assert span["traceId"] == record["traceId"]
    time.sleep(2.0)  # a second copy would come within a batch delay or two
    assert len(last() or []) == 1
    assert len(spans() or []) == 1
