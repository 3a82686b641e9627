"""Export failures are said once on stderr (failing, at most once a minute again,
recovered, what a shutdown left unexported) and carried by ``health()``.

The end-to-end cases run a real service process (``_failing_export_app.py``) against a
closed port, a name that cannot be resolved and a local server answering HTTP 503 or gRPC
UNAVAILABLE, over OTLP/HTTP and gRPC, and read its real stderr.
"""

from __future__ import annotations

import http.server
import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from astra_otel._config.params import environ_snapshot
from astra_otel._internal import sdk_private
from astra_otel._internal.export_status import ExportStatus, describe_error, say_unexported

APP = Path(__file__).with_name("_failing_export_app.py")
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, connections are refused
PROTOCOLS = ("http/protobuf", "grpc")


# --- the status object on its own: a fake clock and a list for stderr ---


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _status(lines: list[str], clock: _Clock, lost: list[int] | None = None) -> ExportStatus:
    counter = lost if lost is not None else [0]
    return ExportStatus(
        "traces",
        "http://collector:4318/v1/traces",
        lost=lambda: counter[0],
        write=lines.append,
        clock=clock,
    )


def test_first_failure_is_said_once_and_repeated_at_most_once_a_minute() -> None:
    """Failures within a minute of the last line say nothing more; after a minute one
    'still failing' line with the time and the items lost meanwhile."""
    lines: list[str] = []
    clock, lost = _Clock(), [5]
    status = _status(lines, clock, lost)
    status.attempt("ConnectionError: refused")
    for _ in range(50):
        clock.now += 1.0
        status.attempt("ConnectionError: refused")
        status.batch(False)
    assert lines == [
        "traces export to http://collector:4318/v1/traces failing: ConnectionError: refused"
    ]
    clock.now += 10.0
    lost[0] = 17
    status.attempt("gRPC status UNAVAILABLE: down")
    assert lines[1:] == [
        "traces export to http://collector:4318/v1/traces still failing after 60 s "
        "(12 lost): gRPC status UNAVAILABLE: down"
    ]


def test_recovery_is_said_once_with_the_outage_length_and_losses() -> None:
    """The first success after failures says 'recovered' once; later successes say nothing."""
    lines: list[str] = []
    clock, lost = _Clock(), [0]
    status = _status(lines, clock, lost)
    status.attempt(None)
    assert lines == []
    status.attempt("HTTP 503 Service Unavailable")
    clock.now += 42.4
    lost[0] = 3
    status.attempt(None)
    status.batch(True)
    status.attempt(None)
    assert lines[1:] == [
        "traces export to http://collector:4318/v1/traces recovered after 42 s "
        "(3 lost while failing)"
    ]
    assert status.failing is False
    assert status.last_error == "HTTP 503 Service Unavailable"


def test_a_failed_export_without_request_detail_is_still_said() -> None:
    """An exporter that reports only whole exports (no request hook) still gets a line."""
    lines: list[str] = []
    status = _status(lines, _Clock())
    status.batch(False)
    assert lines == [
        "traces export to http://collector:4318/v1/traces failing: "
        "export failed (the exporter gave no detail)"
    ]


def test_switched_off_says_nothing_but_keeps_the_last_error() -> None:
    """enabled=False: no line at all, yet last_error and its time are recorded."""
    lines: list[str] = []
    status = _status(lines, _Clock())
    status.enabled = False
    before = time.time()
    status.attempt("ConnectionError: refused")
    status.attempt(None)
    say_unexported([(status, 4, 4)], 5.0, write=lines.append)
    assert lines == []
    assert status.last_error == "ConnectionError: refused"
    assert status.last_error_time is not None
    assert before <= status.last_error_time <= time.time()


def test_the_line_goes_to_stderr_and_not_through_logging(capfd: pytest.CaptureFixture[str]) -> None:
    """The default writer prints 'astra-otel[pid]: ...' on stderr; no logging record."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    root = logging.getLogger()
    handler = Keep(logging.DEBUG)
    root.addHandler(handler)
    try:
        ExportStatus("logs", "http://x:4318/v1/logs").attempt("HTTP 401 Unauthorized")
    finally:
        root.removeHandler(handler)
    err = capfd.readouterr().err
    assert err.startswith("astra-otel[")
    assert "]: logs export to http://x:4318/v1/logs failing: HTTP 401 Unauthorized\n" in err
    assert seen == []


def test_shutdown_line_counts_items_per_signal_and_says_why() -> None:
    """One line: signals lost for the same reason share it; the deadline is named when
    nothing was failing; signals that lost nothing are left out."""
    lines: list[str] = []
    clock = _Clock()
    traces, logs = _status(lines, clock), _status(lines, clock)
    logs.signal = "logs"
    metrics = _status(lines, clock)
    metrics.signal = "metrics"
    traces.attempt("ConnectionError: refused")
    metrics.attempt("ConnectionError: refused")
    lines.clear()
    say_unexported([(traces, 1, 1), (metrics, 40, 0), (logs, 0, 0)], 5.0, write=lines.append)
    assert lines == [
        "shutdown left telemetry unexported: 1 span, 40 metric points "
        "(export failing: ConnectionError: refused)"
    ]
    lines.clear()
    say_unexported([(logs, 3, 3)], 2.5, write=lines.append)
    assert lines == [
        "shutdown left telemetry unexported: 3 log records "
        "(not sent within the 2.5 s shutdown deadline)"
    ]


def test_errors_are_described_in_one_line() -> None:
    """HTTP statuses, gRPC statuses and requests' wrapped causes, each on one line."""
    assert describe_error(None, 503, "Service Unavailable") == "HTTP 503 Service Unavailable"
    requests = pytest.importorskip("requests")
    with pytest.raises(requests.ConnectionError) as refused:
        requests.post(f"{CLOSED}/v1/traces", data=b"", timeout=5)
    text = describe_error(refused.value)
    assert text.startswith("ConnectionError: Failed to establish a new connection")
    assert "Connection refused" in text
    assert "HTTPConnection(" not in text
    channel = grpc.insecure_channel("127.0.0.1:9")
    call = channel.unary_unary("/x.Y/Export", request_serializer=None)
    with pytest.raises(grpc.RpcError) as unavailable:
        call(b"", timeout=5)
    channel.close()
    text = describe_error(unavailable.value)  # type: ignore[arg-type]  # RpcError is one
    assert text.startswith("gRPC status UNAVAILABLE: ")
    assert "\n" not in text


# --- a real service process against endpoints that fail ---


class _Switch:
    """A local OTLP endpoint that fails (503 / UNAVAILABLE) until ``fail`` is cleared."""

    def __init__(self) -> None:
        self.fail = threading.Event()
        self.fail.set()
        self.requests = 0


def _http_server(switch: _Switch) -> tuple[str, Callable[[], None]]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            switch.requests += 1
            self.send_response(503 if switch.fail.is_set() else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


def _grpc_server(switch: _Switch) -> tuple[str, Callable[[], None]]:
    def export(_request: bytes, context: grpc.ServicerContext) -> bytes:
        switch.requests += 1
        if switch.fail.is_set():
            context.abort(grpc.StatusCode.UNAVAILABLE, "collector overloaded")
        return b""

    class Handler(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
            if details.method.endswith("/Export"):  # type: ignore[attr-defined]
                return grpc.unary_unary_rpc_method_handler(export)
            return None

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return f"http://127.0.0.1:{port}", lambda: server.stop(0)


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    """Each case over OTLP/HTTP and over gRPC."""
    return str(request.param)


@pytest.fixture
def flaky(protocol: str) -> Iterator[tuple[str, _Switch]]:
    """A local endpoint for ``protocol`` answering 503 / UNAVAILABLE until switched."""
    switch = _Switch()
    endpoint, stop = (_grpc_server if protocol == "grpc" else _http_server)(switch)
    try:
        yield endpoint, switch
    finally:
        stop()


class _Run:
    def __init__(self, out: str, err: str, started: float) -> None:
        self.health = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        self.lines = [line for line in err.splitlines() if line.startswith("astra-otel[")]
        self.started = started

    def said(self, words: str) -> list[str]:
        return [line.split("]: ", 1)[1] for line in self.lines if words in line]


def _run(
    endpoint: str,
    protocol: str,
    *,
    recover: Callable[[], None] | None = None,
    timeout: float | None = None,
    prefix: tuple[str, ...] = (),
    **env_extra: str,
) -> _Run:
    env = {k: v for k, v in environ_snapshot().items() if not k.startswith(("OTEL_", "ASTRA_"))}
    env.update(env_extra)
    args = [*prefix, sys.executable, str(APP), endpoint, protocol]
    if timeout is not None:
        args.append(str(timeout))
    started = time.time()
    proc = subprocess.Popen(
        [*args, "recover"] if recover else args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        first = proc.stdout.readline()
        if recover is not None:
            recover()
            proc.stdin.write("go\n")
            proc.stdin.flush()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    return _Run(first + out, err, started)


def _signal_endpoint(endpoint: str, protocol: str) -> str:
    return endpoint if protocol == "grpc" else f"{endpoint}/v1/traces"


def _assert_failure_said_once(run: _Run, endpoint: str, fragment: str) -> None:
    failing = [line for line in run.said("traces export to") if " failing: " in line]
    assert len(failing) == 1, run.lines
    assert failing[0].startswith(f"traces export to {endpoint} failing: ")
    assert fragment in failing[0]
    health = run.health[0]
    assert fragment in health["last_error"]
    assert run.started <= health["last_error_time"] <= time.time()


def test_closed_port_is_said_once_and_the_exit_names_the_lost_span(protocol: str) -> None:
    """Connection refused: one line naming signal, endpoint and error; health carries it;
    the exit line says one span was not exported and why."""
    run = _run(CLOSED, protocol)
    endpoint = _signal_endpoint(CLOSED, protocol)
    _assert_failure_said_once(run, endpoint, "Connection refused")
    exit_lines = run.said("shutdown left telemetry unexported")
    assert len(exit_lines) == 1, run.lines
    assert exit_lines[0].startswith("shutdown left telemetry unexported: 1 span (export failing: ")
    assert "Connection refused" in exit_lines[0]


def test_unresolvable_host_is_said_once(protocol: str) -> None:
    """A name that does not resolve: the line names the host and the resolver's error.

    The service runs in a network namespace of its own (loopback only), so the lookup
    fails on this host and no DNS query leaves it.
    """
    unshare = shutil.which("unshare")
    assert unshare is not None, "util-linux's unshare is needed (no DNS may leave the host)"
    endpoint = "http://collector.invalid:4318"
    run = _run(endpoint, protocol, prefix=(unshare, "--user", "--map-root-user", "--net"))
    _assert_failure_said_once(run, _signal_endpoint(endpoint, protocol), "collector.invalid")
    assert "resol" in run.said("failing")[0].lower()


def test_server_error_is_said_once_then_recovery(protocol: str, flaky: tuple[str, _Switch]) -> None:
    """HTTP 503 / gRPC UNAVAILABLE: one failing line with the status, then one recovered
    line when the endpoint answers again; nothing is left to report at exit."""
    endpoint, switch = flaky
    fragment = "gRPC status UNAVAILABLE: collector overloaded"
    if protocol != "grpc":
        fragment = "HTTP 503 Service Unavailable"
    run = _run(endpoint, protocol, recover=switch.fail.clear)
    target = _signal_endpoint(endpoint, protocol)
    _assert_failure_said_once(run, target, fragment)
    recovered = run.said("recovered")
    assert len(recovered) == 1, run.lines
    assert recovered[0].startswith(f"traces export to {target} recovered after ")
    assert recovered[0].endswith("(0 lost while failing)")
    assert run.health[1]["exported"] == 1
    assert run.said("shutdown left") == []


@pytest.fixture
def silent() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the kernel completes handshakes; nothing is ever read
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_timeout_is_said_once(protocol: str, silent: str) -> None:
    """An endpoint that never answers: the line says the request timed out."""
    run = _run(silent, protocol, timeout=1.5)
    fragment = "DEADLINE_EXCEEDED" if protocol == "grpc" else "ReadTimeout"
    _assert_failure_said_once(run, _signal_endpoint(silent, protocol), fragment)


def test_warnings_switched_off_by_the_variable() -> None:
    """ASTRA_OTEL_EXPORT_WARNINGS=false: no line on stderr; health still has the error."""
    run = _run(CLOSED, "http/protobuf", ASTRA_OTEL_EXPORT_WARNINGS="false")
    assert run.lines == []
    assert "Connection refused" in run.health[0]["last_error"]


def test_request_watching_works_on_the_installed_sdk() -> None:
    """The gRPC call hook probes as usable here, so per-request reporting is what runs
    (an SDK release that breaks it fails this, instead of silently reporting later)."""
    assert sdk_private.probe(["otlp-grpc-calls"]) == {"otlp-grpc-calls": True}
