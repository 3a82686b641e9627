"""TLS and authentication between the topology's tiers, with real collectors and real clients.

A gateway accepts OTLP only over TLS 1.3 with a client certificate from the topology's CA and
a bearer token from its token file. Each refusal is asserted exactly: the gRPC status code,
the HTTP status, or, where the refusal is in the TLS handshake (there is no HTTP response
then), the TLS alert. Refused spans must never reach storage.
"""

from __future__ import annotations

import http.client
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from astra_otel.stack.pki import Pki, ensure_pki, find_openssl, rotate
from astra_otel.stack.topology import Topology

from ._tls import served_certificate
from ._traffic import Sender, TraceFactory, span_key, spans_in_files
from .conftest import running_topology
from _support.stack import RunningStack

pytestmark = pytest.mark.e2e

_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
OPENSSL = find_openssl({"PATH": "/usr/bin:/bin:/usr/local/bin"})


@pytest.fixture(scope="module")
def secured(stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """1 agent + 1 gateway, TLS and tokens on, no membership watcher."""
    with running_topology(stack, tmp_path_factory, agents=1, gateways=1, watch=False) as topo:
        yield topo


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Another CA, with a client certificate it issued (valid, but not for our gateways)."""
    return ensure_pki(tmp_path_factory.mktemp("other-ca"), OPENSSL, ("agent",))


@dataclass(frozen=True)
class Client:
    """What a client brings: TLS or not, a client certificate, a token."""

    tls: bool = True
    cert: tuple[Path, Path] | None = None
    token: str | None = None


def _request(trace_id: bytes) -> ExportTraceServiceRequest:
    span = Span(
        trace_id=trace_id,
        span_id=random.randbytes(8),
        name="intruder",
        kind=Span.SPAN_KIND_SERVER,
        start_time_unix_nano=time.time_ns(),
        end_time_unix_nano=time.time_ns() + 1_000_000,
        status=Status(code=Status.STATUS_CODE_ERROR),  # errors are always kept by sampling
    )
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    )


def _grpc(endpoint: str, ca: Path, client: Client, trace_id: bytes) -> grpc.StatusCode:
    """Export one span over gRPC; the status code of the call."""
    if client.tls:
        creds = grpc.ssl_channel_credentials(
            root_certificates=ca.read_bytes(),
            private_key=client.cert[1].read_bytes() if client.cert else None,
            certificate_chain=client.cert[0].read_bytes() if client.cert else None,
        )
        channel = grpc.secure_channel(endpoint, creds)
    else:
        channel = grpc.insecure_channel(endpoint)
    metadata = (("authorization", f"Bearer {client.token}"),) if client.token else None
    with channel:
        export = channel.unary_unary(
            _EXPORT,
            request_serializer=ExportTraceServiceRequest.SerializeToString,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        try:
            export(_request(trace_id), metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def _context(
    ca: Path, client: Client, *, max_version: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))
    if client.cert:
        ctx.load_cert_chain(*client.cert)
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def _http(
    endpoint: str, ca: Path, client: Client, trace_id: bytes, **ctx_args: ssl.TLSVersion
) -> int | str:
    """POST one span to /v1/traces: the HTTP status, or the TLS alert that refused it."""
    host, port = endpoint.rsplit(":", 1)
    conn: http.client.HTTPConnection
    if client.tls:
        conn = http.client.HTTPSConnection(
            host, int(port), context=_context(ca, client, **ctx_args), timeout=10
        )
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": "application/x-protobuf"}
    if client.token:
        headers["Authorization"] = f"Bearer {client.token}"
    try:
        if client.tls:
            _await_verdict(conn)
        conn.request("POST", "/v1/traces", _request(trace_id).SerializeToString(), headers)
        return conn.getresponse().status
    except ssl.SSLError as exc:
        return str(exc.reason)
    finally:
        conn.close()


def _await_verdict(conn: http.client.HTTPConnection) -> None:
    """Handshake, then wait for the server's verdict on the client certificate.

    In TLS 1.3 the server judges the client certificate after the client's last handshake
    flight: it answers with an alert (raised here as SSLError), or, having accepted it,
    with a session ticket (Go sends tickets only then). Sending the request before the
    verdict would race: a server that closes with unread request bytes sends a TCP reset,
    which can discard the alert.
    """
    conn.connect()
    sock = conn.sock
    assert isinstance(sock, ssl.SSLSocket)
    sock.setblocking(False)
    deadline = time.monotonic() + 10
    while not (sock.session is not None and sock.session.has_ticket):
        assert time.monotonic() < deadline, "no alert and no session ticket within 10 s"
        try:
            if sock.recv(1) == b"":
                raise ssl.SSLError("closed without an alert")
        except ssl.SSLWantReadError:
            time.sleep(0.01)
    sock.settimeout(10)


def _cases(topo: Topology, stranger: Pki) -> dict[str, Client]:
    pki = topo.plan.pki
    token = pki.token.read_text().split()[0]
    ours = (pki.cert("agent"), pki.key("agent"))
    return {
        "no TLS": Client(tls=False, token=token),
        "TLS, no client certificate, no token": Client(),
        "TLS, no client certificate, right token": Client(token=token),
        "TLS, client certificate, no token": Client(cert=ours),
        "TLS, client certificate, wrong token": Client(cert=ours, token="x" + token[1:]),
        "TLS, certificate from another CA, right token": Client(
            cert=(stranger.cert("agent"), stranger.key("agent")), token=token
        ),
        "TLS, client certificate, right token": Client(cert=ours, token=token),
    }


# What each client gets: (gRPC status, HTTP status or TLS alert). In TLS 1.3 the server
# checks the client certificate after the client's last handshake flight, so the client
# sees the alert when it reads the response.
EXPECTED: dict[str, tuple[grpc.StatusCode, int | str]] = {
    # Go's TLS server answers a plaintext HTTP request with a bare 400.
    "no TLS": (grpc.StatusCode.UNAVAILABLE, 400),
    "TLS, no client certificate, no token": (
        grpc.StatusCode.UNAVAILABLE,
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    ),
    "TLS, no client certificate, right token": (
        grpc.StatusCode.UNAVAILABLE,
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    ),
    "TLS, client certificate, no token": (grpc.StatusCode.UNAUTHENTICATED, 401),
    "TLS, client certificate, wrong token": (grpc.StatusCode.UNAUTHENTICATED, 401),
    "TLS, certificate from another CA, right token": (
        grpc.StatusCode.UNAVAILABLE,
        "TLSV1_ALERT_UNKNOWN_CA",
    ),
    "TLS, client certificate, right token": (grpc.StatusCode.OK, 200),
}


def _wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def test_gateway_refuses_every_client_without_tls_certificate_and_token(
    secured: Topology, stranger: Pki
) -> None:
    """No TLS, no or foreign client certificate, no or wrong token: refused with the exact
    gRPC status / HTTP status / TLS alert; nothing refused is stored, the good client is."""
    gw = secured.plan.gateways[0]
    ca = secured.plan.pki.ca_cert
    sent: dict[str, tuple[bytes, bytes]] = {}
    got: dict[str, tuple[grpc.StatusCode, int | str]] = {}
    for name, client in _cases(secured, stranger).items():
        ids = (random.randbytes(16), random.randbytes(16))
        sent[name] = ids
        got[name] = (
            _grpc(gw.endpoint("otlp_grpc"), ca, client, ids[0]),
            _http(gw.endpoint("otlp_http"), ca, client, ids[1]),
        )
    assert got == EXPECTED

    telemetry = secured.plan.telemetry_dir(gw)

    def stored() -> set[str]:
        return {tid for tid, _ in spans_in_files(telemetry)}

    good = {i.hex() for i in sent["TLS, client certificate, right token"]}
    assert _wait_until(lambda: good <= stored(), timeout=30)
    refused = {
        i.hex()
        for name, ids in sent.items()
        if EXPECTED[name][0] != grpc.StatusCode.OK
        for i in ids
    }
    assert not refused & stored()


def test_gateway_refuses_tls_below_1_3(secured: Topology) -> None:
    """A client limited to TLS 1.2 is refused in the handshake (min_version 1.3)."""
    pki = secured.plan.pki
    client = Client(cert=(pki.cert("agent"), pki.key("agent")), token=pki.token.read_text().strip())
    outcome = _http(
        secured.plan.gateways[0].endpoint("otlp_http"),
        pki.ca_cert,
        client,
        random.randbytes(16),
        max_version=ssl.TLSVersion.TLSv1_2,
    )
    assert outcome == "TLSV1_ALERT_PROTOCOL_VERSION"


def test_rotated_certificates_are_used_by_new_connections_and_nothing_is_lost(
    secured: Topology,
) -> None:
    """New gateway and agent certificates replace the files under running collectors: new
    handshakes get the new one, agents reconnect, and every span sent meanwhile arrives."""
    gw, agent = secured.plan.gateways[0], secured.plan.agents[0]
    pki = secured.plan.pki
    factory = TraceFactory("topology-rotation", time.time_ns())
    sender = Sender([agent.endpoint("otlp_grpc")])
    sent: set[tuple[str, str]] = set()
    stop = threading.Event()

    def pump() -> None:
        while not stop.wait(0.05):
            spans = [s for _ in range(5) for s in factory.make("error")[0]]  # all kept
            if sender.send(0, spans):
                sent.update(span_key(s) for s in spans)

    old = served_certificate(gw.endpoint("otlp_grpc"), pki.ca_cert)
    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        rotate(pki.root, OPENSSL, ("gateway", "agent"))
        new = ssl.PEM_cert_to_DER_cert(pki.cert("gateway").read_text())
        assert new != old

        def rotated() -> bool:
            return all(
                served_certificate(gw.endpoint(port), pki.ca_cert) == new
                for port in ("otlp_grpc", "otlp_http")
            )

        assert _wait_until(rotated, timeout=15)  # reload_interval 2 s
        # The gateway closes each agent connection after max_connection_age (10 s); the
        # agent's next handshake loads its rotated certificate. Keep sending through it.
        time.sleep(12.0)
    finally:
        stop.set()
        thread.join(10)
        sender.close()
        factory.shutdown()
    assert sender.failed_spans == 0
    assert len(sent) > 100

    def delivered() -> bool:
        return sent <= set(spans_in_files(secured.plan.telemetry_dir(gw)))

    assert _wait_until(delivered, timeout=30)
