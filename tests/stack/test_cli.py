"""``astra-otel stack up/down/status/logs`` on real processes, and its one-line failures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from astra_otel.stack.components import CORE_COMPONENTS
from astra_otel.stack.process import group_members, read_pid

from _support.stack import pick_port_offset

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Cli:
    """Runs ``astra-otel`` with its own state directory and port offset."""

    state_dir: Path
    offset: int
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "astra_otel.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )


def _processes_in(state_dir: Path) -> list[int]:
    """Live processes working in ``state_dir`` (every stack process starts there; Redis
    moves to its ``redis/`` subdirectory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        inside = cwd == str(state_dir) or cwd.startswith(f"{state_dir}/")
        if inside and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """A CLI bound to a fresh state dir and free ports; ``stack down`` afterwards regardless."""
    state = tmp_path / "state"
    offset = pick_port_offset()
    env = {
        **os.environ,
        "ASTRA_OTEL_STATE_DIR": str(state),
        "ASTRA_OTEL_STACK_PORT_OFFSET": str(offset),
    }
    handle = Cli(state, offset, env)
    yield handle
    handle.run("stack", "down")


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("astra-otel: error: ")
    return lines[0]


@pytest.mark.e2e
def test_up_twice_is_idempotent_and_down_leaves_no_process(cli: Cli) -> None:
    """A second ``up`` reports the running pids and starts nothing; ``down`` stops them all.
    The first URL printed is the viewer's; ``status`` lists every component, viewer too."""
    first = cli.run("stack", "up")
    assert first.returncode == 0, first.stderr
    assert "started: redis, jaeger, viewer, collector, prometheus" in first.stdout
    urls = [ln.split()[-1] for ln in first.stdout.splitlines() if "http://127.0.0.1:" in ln]
    assert urls[0] == f"http://127.0.0.1:{18000 + cli.offset}"
    assert f"http://127.0.0.1:{16686 + cli.offset}" in urls
    pids = {}
    for name in CORE_COMPONENTS:
        record = read_pid(cli.state_dir / "run" / f"{name}.pid")
        assert record is not None, name
        pids[name] = record.pid
    running = set(_processes_in(cli.state_dir))
    assert set(pids.values()) <= running

    second = cli.run("stack", "up")
    assert second.returncode == 0, second.stderr
    assert "started:" not in second.stdout
    expected = ", ".join(f"{n} (pid {pids[n]})" for n in CORE_COMPONENTS)
    assert f"already running: {expected}" in second.stdout
    assert set(_processes_in(cli.state_dir)) == running

    status = cli.run("stack", "status")
    assert status.returncode == 0
    for name in CORE_COMPONENTS:
        assert f"pid {pids[name]}" in status.stdout
    assert status.stdout.count("healthy") - status.stdout.count("unhealthy") == 5
    assert "viewer" in status.stdout
    logs = cli.run("stack", "logs", "collector", "-n", "5")
    assert logs.returncode == 0
    assert "Everything is ready" in (cli.state_dir / "logs" / "collector.log").read_text()

    down = cli.run("stack", "down")
    assert down.returncode == 0, down.stderr
    assert "stopped: prometheus, collector, viewer, jaeger, redis" in down.stdout
    assert _processes_in(cli.state_dir) == []
    for name, pid in pids.items():
        assert group_members(pid) == [], name  # the whole process group is gone
    assert list((cli.state_dir / "run").glob("*.pid")) == []
    assert cli.run("stack", "down").stdout.strip() == "nothing was running"


@pytest.mark.e2e
def test_port_clash_is_one_line_and_starts_nothing(cli: Cli) -> None:
    """A port already in use gives one line naming port and component; nothing is started."""
    port = 9090 + cli.offset
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = cli.run("stack", "up")
    line = _one_error_line(result)
    assert f"port {port} (prometheus http) is already in use" in line
    assert "ASTRA_OTEL_STACK_PORT_OFFSET" in line
    assert _processes_in(cli.state_dir) == []
    assert list(cli.state_dir.glob("run/*.pid")) == []


@pytest.mark.e2e
def test_bad_collector_config_is_one_line_and_starts_nothing(cli: Cli, tmp_path: Path) -> None:
    """A config that fails ``astra-otelcol validate`` gives one line with the collector's
    own error, and nothing is left running."""
    bad = tmp_path / "bad.yaml"
    good = (REPO / "collector" / "otel-collector.yaml").read_text()
    bad.write_text(good.replace("max_concurrent_streams: 16", "max_concurrent_streams: lots"))
    result = cli.run("stack", "up", "--collector-config", str(bad))
    line = _one_error_line(result)
    assert f"collector config {bad} is invalid: Error:" in line
    assert "'max_concurrent_streams' expected type 'uint32'" in line
    assert _processes_in(cli.state_dir) == []
    assert list(cli.state_dir.glob("run/*.pid")) == []


def test_bad_setting_is_one_line(tmp_path: Path) -> None:
    """A bad ASTRA_OTEL_* value is reported in one line naming the variable, exit code 1."""
    env = {**os.environ, "ASTRA_OTEL_STACK_PORT_OFFSET": "lots"}
    result = subprocess.run(
        [sys.executable, "-m", "astra_otel.cli", "stack", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    line = _one_error_line(result)
    assert "ASTRA_OTEL_STACK_PORT_OFFSET='lots'" in line


def test_usage_error_exits_2() -> None:
    """An unknown subcommand is a usage error: exit code 2, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "astra_otel.cli", "stack", "explode"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.e2e
def test_component_failing_at_start_rolls_back_the_whole_up(cli: Cli, tmp_path: Path) -> None:
    """A collector that validates but cannot start (its exporter cannot bind) fails ``up``
    with one line pointing at its log, and the components already started are stopped."""
    unbindable = tmp_path / "unbindable.yaml"
    good = (REPO / "collector" / "otel-collector.yaml").read_text()
    # 192.0.2.0/24 (TEST-NET-1) is never a local address: listening there fails.
    unbindable.write_text(
        good.replace("${env:OTELCOL_PROMETHEUS_ENDPOINT:-127.0.0.1:8889}", "192.0.2.1:8889")
    )
    result = cli.run("stack", "up", "--collector-config", str(unbindable))
    line = _one_error_line(result)
    assert "astra-otel: error: collector exited with code" in line
    assert str(cli.state_dir / "logs" / "collector.log") in line
    assert _processes_in(cli.state_dir) == []
    assert list(cli.state_dir.glob("run/*.pid")) == []
