"""`astra-otel stack topology up|status|sync|rotate|down` against real collector processes."""

from __future__ import annotations

import random
import ssl
import stat
import time
from pathlib import Path

import pytest

from astra_otel.cli import main
from astra_otel.stack import process
from astra_otel.stack.topology import AGENT, GATEWAY

from ._tls import served_certificate
from _support.stack import RunningStack

pytestmark = pytest.mark.e2e


def _free_offset() -> int:
    rng = random.Random()
    for _ in range(200):
        offset = rng.randrange(1000, 9000, 7)
        ports = [
            p + offset + 10 * i
            for spec in (AGENT, GATEWAY)
            for p in spec.ports.values()
            for i in range(2)
        ]
        if not any(process.port_in_use(p) for p in ports):
            return offset
    raise AssertionError("no free port offset for the topology")


def test_cli_starts_reports_and_stops_the_topology(
    stack: RunningStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`topology up` starts healthy instances, `status`/`sync` see them, `down` stops them."""
    monkeypatch.setenv("ASTRA_OTEL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ASTRA_OTEL_STACK_PORT_OFFSET", str(_free_offset()))
    try:
        assert main(["stack", "topology", "up", "--agents", "1", "--gateways", "2"]) == 0
        assert main(["stack", "topology", "status"]) == 0
        assert main(["stack", "topology", "sync"]) == 0
        out = capsys.readouterr().out
        assert "started: gateway-0, gateway-1, agent-0" in out
        status = [ln for ln in out.splitlines() if ln.startswith(("gateway-", "agent-"))]
        assert len(status) == 6 and all(" healthy " in ln for ln in status), status
        assert out.count("127.0.0.1:") >= 2  # sync names both gateways
    finally:
        assert main(["stack", "topology", "down"]) == 0
    assert "stopped: agent-0, gateway-0, gateway-1" in capsys.readouterr().out
    assert main(["stack", "topology", "status"]) == 0
    assert " healthy " not in capsys.readouterr().out


def test_cli_topology_runs_tls_by_default_and_rotates_its_certificates(
    stack: RunningStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`topology up` generates a CA, certificates and a token (0600) and its gateway serves
    TLS with them; `topology rotate` gives new handshakes a new certificate, no restart."""
    monkeypatch.setenv("ASTRA_OTEL_STATE_DIR", str(tmp_path))
    offset = _free_offset()
    monkeypatch.setenv("ASTRA_OTEL_STACK_PORT_OFFSET", str(offset))
    tls = tmp_path / "tls"
    gateway = f"127.0.0.1:{GATEWAY.ports['otlp_grpc'] + offset}"
    try:
        assert main(["stack", "topology", "up", "--agents", "1", "--gateways", "1"]) == 0
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tls.iterdir()}
        assert {"ca.crt", "ca.key", "gateway.crt", "gateway.key", "agent.key", "token"} <= set(
            files
        )
        assert all(mode == 0o600 for name, mode in files.items() if not name.startswith("."))
        assert stat.S_IMODE(tls.stat().st_mode) == 0o700
        before = served_certificate(gateway, tls / "ca.crt")
        assert before == ssl.PEM_cert_to_DER_cert((tls / "gateway.crt").read_text())
        pid = process.read_pid(tmp_path / "topology" / "gateway-0" / "collector.pid")
        assert main(["stack", "topology", "rotate"]) == 0
        new = ssl.PEM_cert_to_DER_cert((tls / "gateway.crt").read_text())
        assert new != before
        deadline = time.monotonic() + 15
        while served_certificate(gateway, tls / "ca.crt") != new:
            assert time.monotonic() < deadline, "the gateway kept serving the old certificate"
            time.sleep(0.25)
        assert process.read_pid(tmp_path / "topology" / "gateway-0" / "collector.pid") == pid
    finally:
        assert main(["stack", "topology", "down"]) == 0
    assert "new certificates in" in capsys.readouterr().out
