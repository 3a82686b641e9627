"""Fault 8, the case ``tests/stack/test_cli.py`` does not cover: a collector config that
passes ``validate`` but cannot start (its receiver's port is taken by a process outside
the stack's port list). ``stack up`` has already started Redis and Jaeger by then; it must
fail fast with one line naming the cause and stop what it started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ._support import derived_collector_config
from _support.stack import pick_port_offset

pytestmark = pytest.mark.e2e
CLI = (sys.executable, "-m", "astra_otel.cli")


def _live_in(state_dir: Path) -> list[int]:
    """Live processes whose working directory is ``state_dir`` (every stack process's is)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "cwd") == str(state_dir):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_collector_that_cannot_bind_fails_fast_and_stops_the_rest(tmp_path: Path) -> None:
    """A receiver port held by a stranger: exit 1 within the startup timeout, one line
    naming the collector, its log and the bind error; Redis and Jaeger are stopped again."""
    state = tmp_path / "state"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]

        def bind_taken(config: dict[str, Any]) -> None:
            config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] = f"127.0.0.1:{taken}"

        config = derived_collector_config(tmp_path / "cannot-bind.yaml", bind_taken)
        env = {
            **os.environ,
            "ASTRA_OTEL_STATE_DIR": str(state),
            "ASTRA_OTEL_STACK_PORT_OFFSET": str(pick_port_offset()),
            "ASTRA_OTEL_STACK_STARTUP_TIMEOUT": "30",
        }
        began = time.monotonic()
        try:
            result = subprocess.run(
                [*CLI, "stack", "up", "--collector-config", str(config)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            leftovers = _live_in(state)
            subprocess.run(
                [*CLI, "stack", "down"],
                env=env,
                capture_output=True,
                timeout=60,
                check=False,
            )
        took = time.monotonic() - began
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("astra-otel: error: collector exited with code")
    assert str(state / "logs" / "collector.log") in lines[0]
    assert "address already in use" in lines[0]
    assert took < 30, f"took {took:.0f} s to fail"
    assert leftovers == []
    assert list(state.glob("run/*.pid")) == []
