"""Fault 9: hostile clients. The receivers hold against a zstd window bomb and a flood of
slow connections: good clients keep being served and the collector's memory stays under
its limit (docs/faults.md, "Hostile clients").

* OTLP/HTTP accepts identity and gzip only, so a zstd body is refused before any decoder
  is built.
* OTLP/gRPC cannot be configured that way in v0.161.0 (zstd is registered process-wide and
  its window is not bounded): on the plaintext loopback port the bomb reaches the decoder
  (the control below). What protects a gRPC port that others can reach is the TLS layer,
  collector/otel-collector-tls.yaml: without a client certificate the handshake fails and
  the bomb is never decompressed.
* Slow connections are closed by the HTTP timeouts, and the stack starts the collector
  with a file-descriptor limit; within it, the health check and good clients answer within
  1 s while 800 connections trickle.
"""

from __future__ import annotations

import resource
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.trace.export import SpanExportResult

from ._hostile import (
    RssSampler,
    grpc_call_with_compressed_message,
    slow_connections,
    zstd_window_bomb,
)
from ._support import SpanSource, second_stack, unique_service
from _support.stack import RunningStack
from _support.tls_collector import TlsCollector, running_tls_collector

pytestmark = pytest.mark.e2e

MEMORY_LIMIT = 512 * 2**20  # memory_limiter's limit_mib in collector/otel-collector.yaml
MAX_OPEN_FILES = 1024
BOMBS = 36
BOMB_THREADS = 4
BOMB_WINDOW_S = 20.0
# A valid ExportTraceServiceRequest of 28,000 empty resource_spans: 56 KB, like the report's.
BOMB = zstd_window_bomb(b"\x0a\x00" * 28_000)
SLOW_PER_PORT = 400
SLOW_HEADER = b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-pr"
FAST_S = 1.0


@pytest.fixture(scope="module")
def small_fd_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Jaeger and a collector started with a 1,024 file-descriptor limit."""
    env = {"ASTRA_OTEL_COLLECTOR_MAX_OPEN_FILES": str(MAX_OPEN_FILES)}
    with second_stack(tmp_path_factory.mktemp("hostile") / "state", env=env) as running:
        yield running


@pytest.fixture(scope="module")
def tls_collector(
    stack: RunningStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TlsCollector]:
    """The collector with its TLS layer (client certificate and token required)."""
    with running_tls_collector(
        stack, tmp_path_factory.mktemp("hostile-pki"), tmp_path_factory.mktemp("hostile-tls")
    ) as running:
        yield running


def _hostport(endpoint: str) -> tuple[str, int]:
    host, port = endpoint.removeprefix("http://").removeprefix("https://").split(":")
    return host, int(port)


def _bombard(send_one: Callable[[], object]) -> list[object]:
    """``BOMBS`` calls of ``send_one`` from ``BOMB_THREADS`` threads over ~20 s."""
    results: list[object] = []
    lock = threading.Lock()
    pause = BOMB_WINDOW_S * BOMB_THREADS / BOMBS

    def worker() -> None:
        for _ in range(BOMBS // BOMB_THREADS):  # bounded in count (and by the pause, time)
            outcome = send_one()
            with lock:
                results.append(outcome)
            time.sleep(pause)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(BOMB_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOMB_WINDOW_S * 4)
    return results


def _good_traffic(send: Callable[[], bool], stop: threading.Event, limit_s: float) -> list[bool]:
    """Good requests back to back (with a short pause) until ``stop``; their outcomes."""
    outcomes: list[bool] = []
    deadline = time.monotonic() + limit_s
    for _ in range(2000):  # bounded in count and time
        if stop.is_set() or time.monotonic() > deadline:
            break
        outcomes.append(send())
        time.sleep(0.05)
    return outcomes


def _while_bombing(
    bomb: Callable[[], object], good: Callable[[], bool]
) -> tuple[list[object], list[bool]]:
    stop = threading.Event()
    served: list[bool] = []
    thread = threading.Thread(
        target=lambda: served.extend(_good_traffic(good, stop, BOMB_WINDOW_S * 3)), daemon=True
    )
    thread.start()
    try:
        outcomes = _bombard(bomb)
    finally:
        stop.set()
        thread.join(BOMB_WINDOW_S)
    return outcomes, served


def test_collector_runs_with_the_stack_s_file_descriptor_limit(
    small_fd_stack: RunningStack,
) -> None:
    """The stack sets RLIMIT_NOFILE (soft and hard) on the collector it spawns."""
    pid = small_fd_stack.stack.pid("collector")
    limits = Path(f"/proc/{pid}/limits").read_text().splitlines()
    [line] = [ln for ln in limits if ln.startswith("Max open files")]
    assert line.split()[3:5] == [str(MAX_OPEN_FILES), str(MAX_OPEN_FILES)], line


def test_zstd_bomb_over_http_is_refused_while_good_clients_are_served(
    small_fd_stack: RunningStack,
) -> None:
    """36 zstd bodies declaring a 512 MiB window over 20 s are each refused with 400; a
    gzip-compressing SDK client meanwhile gets >= 99 % of its exports through, and the
    collector's RSS stays under its memory limit."""
    stack = small_fd_stack
    service = unique_service("zstd-http")
    exporter = HttpSpanExporter(
        endpoint=f"{stack.otlp_http}/v1/traces", timeout=10, compression=Compression.Gzip
    )
    source = SpanSource(stack.otlp_grpc, service)

    def bomb() -> object:
        resp = requests.post(
            f"{stack.otlp_http}/v1/traces",
            data=BOMB,
            headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "zstd"},
            timeout=10,
        )
        return (resp.status_code, b"unsupported Content-Encoding: zstd" in resp.content)

    def good() -> bool:
        return exporter.export(source.make(20)) is SpanExportResult.SUCCESS

    pid = stack.stack.pid("collector")
    assert pid is not None
    try:
        with RssSampler(pid) as rss:
            bombs, served = _while_bombing(bomb, good)
    finally:
        exporter.shutdown()
        source.close()
    assert bombs == [(400, True)] * BOMBS
    assert len(served) >= 20
    assert sum(served) >= 0.99 * len(served), f"{served.count(False)} of {len(served)} failed"
    assert 0 < rss.peak < MEMORY_LIMIT, rss.peak


def test_zstd_bomb_reaches_the_grpc_decoder_on_the_plaintext_port(
    small_fd_stack: RunningStack,
) -> None:
    """Control: the hand-made zstd gRPC call is a real call the plaintext receiver answers
    (so the refusals over TLS below are the TLS layer's doing, not a broken bomb)."""
    host, port = _hostport(small_fd_stack.otlp_grpc)
    assert grpc_call_with_compressed_message(host, port, BOMB, "zstd")


def _mtls_source(col: TlsCollector, service: str) -> SpanSource:
    """A span source whose exporter presents the client certificate and the token."""
    return SpanSource(
        f"127.0.0.1:{col.component.ports['otlp_grpc']}",
        service,
        credentials=grpc.ssl_channel_credentials(
            root_certificates=col.pki.ca_cert.read_bytes(),
            private_key=col.pki.key("client").read_bytes(),
            certificate_chain=col.pki.cert("client").read_bytes(),
        ),
        headers={"authorization": "Bearer " + col.pki.token.read_text().strip()},
    )


def test_zstd_bomb_over_grpc_is_stopped_by_the_tls_layer(tls_collector: TlsCollector) -> None:
    """With the TLS layer, 36 zstd bombs from a client without a certificate never get an
    answer (the handshake fails before any decompression); a client with a certificate
    gets >= 99 % of its exports through and the collector's RSS stays under its limit."""
    col = tls_collector
    port = col.component.ports["otlp_grpc"]
    no_cert = ssl.create_default_context(cafile=str(col.pki.ca_cert))
    no_cert.set_alpn_protocols(["h2"])
    source = _mtls_source(col, unique_service("zstd-grpc"))

    def bomb() -> object:
        return grpc_call_with_compressed_message("127.0.0.1", port, BOMB, "zstd", tls=no_cert)

    try:
        with RssSampler(col.pid) as rss:
            bombs, served = _while_bombing(bomb, lambda: source.send(20))
    finally:
        source.close()
    assert bombs == [False] * BOMBS
    assert len(served) >= 20
    assert sum(served) >= 0.99 * len(served), f"{served.count(False)} of {len(served)} failed"
    assert 0 < rss.peak < MEMORY_LIMIT, rss.peak


def _timed(call: Callable[[], bool]) -> tuple[bool, float]:
    began = time.monotonic()
    ok = call()
    return ok, time.monotonic() - began


def _closed_by_server(sock: object) -> bool:
    try:
        sock.settimeout(0.5)  # type: ignore[attr-defined]
        data: bytes = sock.recv(4096)  # type: ignore[attr-defined]
    except TimeoutError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 4")


def test_slow_connection_flood_within_the_fd_limit(small_fd_stack: RunningStack) -> None:
    """400 connections trickling HTTP headers and 400 idle gRPC connections (800 of the
    collector's 1,024 descriptors): the health check, an OTLP/HTTP and an OTLP/gRPC export
    each answer within 1 s; the HTTP server closes the trickling connections after its 5 s
    read_header_timeout."""
    stack = small_fd_stack
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    http_host, http_port = _hostport(stack.otlp_http)
    grpc_host, grpc_port = _hostport(stack.otlp_grpc)
    service = unique_service("slow-flood")
    http_exporter = HttpSpanExporter(endpoint=f"{stack.otlp_http}/v1/traces", timeout=5)
    source = SpanSource(stack.otlp_grpc, service, timeout=5)
    try:
        with (
            slow_connections(http_host, http_port, SLOW_PER_PORT, SLOW_HEADER) as trickling,
            slow_connections(grpc_host, grpc_port, SLOW_PER_PORT, b"PRI * HTTP/2.0\r\n"),
        ):
            opened = time.monotonic()
            health = _timed(lambda: requests.get(stack.collector_health_url, timeout=5).ok)
            http = _timed(lambda: http_exporter.export(source.make(10)) is SpanExportResult.SUCCESS)
            grpc_send = _timed(lambda: source.send(10))
            for name, (ok, took) in {"health": health, "http": http, "grpc": grpc_send}.items():
                assert ok, name
                assert took < FAST_S, f"{name} took {took:.2f} s"
            time.sleep(max(0.0, opened + 6.5 - time.monotonic()))
            closed = sum(_closed_by_server(s) for s in trickling)
    finally:
        http_exporter.shutdown()
        source.close()
    assert closed >= 0.99 * SLOW_PER_PORT, f"only {closed} of {SLOW_PER_PORT} closed"
