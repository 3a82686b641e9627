"""`astra-otel stack topology up|status|sync|down` against real collector processes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from astra_otel.cli import main
from astra_otel.stack import process
from astra_otel.stack.running import RunningStack
from astra_otel.stack.topology import AGENT, GATEWAY

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
