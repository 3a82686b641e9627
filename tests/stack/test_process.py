"""The one process runner behind ``Stack`` and ``Topology``: spawn, pid file, health wait."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from astra_otel.stack import process
from astra_otel.stack.components import Component, ComponentSpec
from astra_otel.stack.errors import PortInUseError, StackError
from astra_otel.stack.settings import load_stack_settings
from astra_otel.stack.supervisor import Stack

from _support import stack as support

# A stand-in component: reports its session, pgid and environment, then serves HTTP 200
# on the port in argv[1] (or exits with argv[2] as its last log line).
_CHILD = """
import http.server, json, os, sys
print(json.dumps({"sid": os.getsid(0), "pgid": os.getpgid(0),
                  "env": {k: v for k, v in os.environ.items() if "ASTRA_T" in k or "OTEL_" in k}}),
      flush=True)
if len(sys.argv) > 2:
    print(sys.argv[2], flush=True)
    sys.exit(3)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _component(tmp_path: Path, port: int, *args: str, binary: str = sys.executable) -> Component:
    spec = ComponentSpec(
        name="child",
        summary="test child",
        binary=binary,
        ports={"http": port},
        health_port="http",
        health_path="/",
    )
    return Component(
        spec=spec,
        ports={"http": port},
        command=(binary, "-c", _CHILD, str(port), *args),
        env={"ASTRA_T_OWN": "own"},
        config_file=None,
        log_file=tmp_path / "logs" / "child.log",
        pid_file=tmp_path / "run" / "child.pid",
    )


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The children a test started: their groups are terminated afterwards, and reaped."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        process.terminate_group(proc.pid, 5.0)
        proc.wait(timeout=5)


def _report(comp: Component) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for line in comp.log_file.read_text().splitlines():
            if line.startswith('{"sid"'):
                data: dict[str, object] = json.loads(line)
                return data
        time.sleep(0.05)
    raise AssertionError(comp.log_file.read_text())


def test_spawn_starts_its_own_session_with_header_pid_file_and_environment(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """A spawned component leads a session of its own, its log starts with the command line,
    its pid file records it, and it sees its own variables but not the caller's OTEL_*."""
    comp = _component(tmp_path, _free_port())
    env = process.child_env({"OTEL_SERVICE_NAME": "caller", "ASTRA_T_X": "1"}, comp.env)
    proc = process.spawn(comp, env, cwd=tmp_path)
    started.append(proc)
    process.wait_healthy(comp, proc, began=time.monotonic(), deadline=time.monotonic() + 20)
    report = _report(comp)
    assert report["sid"] == report["pgid"] == proc.pid
    assert report["env"] == {"ASTRA_T_X": "1", "ASTRA_T_OWN": "own"}
    assert comp.log_file.read_text().startswith(f"--- astra-otel: starting {sys.executable} -c")
    record = process.read_pid(comp.pid_file)
    assert record is not None
    assert record.pid == proc.pid
    assert process.is_alive(record)


def test_child_env_keeps_otel_variables_only_when_asked() -> None:
    """The caller's OTEL_* reach a component only with inherit_otel; its own always win."""
    caller = {"OTEL_A": "caller", "PATH": "/bin", "X": "caller"}
    assert process.child_env(caller, {"X": "own"}) == {"PATH": "/bin", "X": "own"}
    kept = process.child_env(caller, {"X": "own"}, inherit_otel=True)
    assert kept == {"OTEL_A": "caller", "PATH": "/bin", "X": "own"}


def test_spawn_of_a_missing_binary_is_a_stack_error(tmp_path: Path) -> None:
    """A binary that does not exist fails before anything starts, pointing at the build."""
    comp = _component(tmp_path, _free_port(), binary=str(tmp_path / "nope"))
    with pytest.raises(StackError, match="does not exist: run `astra-otel stack build`"):
        process.spawn(comp, {}, cwd=tmp_path)
    assert not comp.pid_file.exists()


@pytest.mark.parametrize(
    ("last", "error"),
    [
        ("listen tcp 127.0.0.1:1: bind: address already in use", PortInUseError),
        ("# Could not create server TCP listening socket: Address already in use", PortInUseError),
        ("Error: invalid configuration", StackError),
    ],
)
def test_exit_during_start_names_the_log_and_types_a_taken_port(
    tmp_path: Path, last: str, error: type[StackError]
) -> None:
    """A component that exits before it is healthy raises one line with its exit code, log
    file and last log line; it is a PortInUseError exactly when it could not bind."""
    comp = _component(tmp_path, _free_port(), last)
    proc = process.spawn(comp, dict(os.environ), cwd=tmp_path)
    with pytest.raises(StackError) as info:
        process.wait_healthy(comp, proc, began=time.monotonic(), deadline=time.monotonic() + 20)
    proc.wait(timeout=5)
    assert type(info.value) is error
    message = str(info.value)
    assert message.startswith("child exited with code 3 within")
    assert f"see {comp.log_file}: {last}" in message


def test_no_answer_before_the_deadline_is_a_stack_error(tmp_path: Path) -> None:
    """A component that never answers its health check fails once the deadline passes."""
    comp = _component(tmp_path, _free_port())
    began = time.monotonic()
    with pytest.raises(StackError, match="child did not become healthy within") as info:
        process.wait_healthy(comp, None, began=began, deadline=began + 0.3)
    assert not isinstance(info.value, PortInUseError)
    assert time.monotonic() - began < 5


def test_stack_refuses_a_taken_port_with_port_in_use_error(tmp_path: Path) -> None:
    """``up`` checks every port first: a taken one is a PortInUseError, nothing started."""
    settings = load_stack_settings(
        {"HOME": str(tmp_path)}, state_dir=str(tmp_path / "state"), port_offset=0
    )
    free = support.pick_port_offset()
    stack = Stack(settings.with_(port_offset=free), {"HOME": str(tmp_path)})
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", stack.components["redis"].ports["redis"]))
        holder.listen()
        with pytest.raises(PortInUseError, match=r"\(redis redis\) is already in use"):
            stack.up(["redis"], build=False)
    assert list((tmp_path / "state").glob("run/*.pid")) == []


class _FakeStack:
    """Stands in for Stack in start_on_free_offset: fails its first ``up`` calls."""

    failures: ClassVar[list[StackError]] = []
    offsets: ClassVar[list[int]] = []

    def __init__(self, settings: object, *_args: object, **_kwargs: object) -> None:
        self.offsets.append(settings.port_offset)  # type: ignore[attr-defined]

    def up(self, _names: object, *, build: bool) -> None:
        assert build is False
        if self.failures:
            raise self.failures.pop(0)


def test_start_on_free_offset_retries_only_a_taken_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared start retries at another offset after a PortInUseError, gives up after its
    attempts, and lets any other StackError through at once."""
    settings = load_stack_settings({"HOME": str(tmp_path)}, state_dir=str(tmp_path))
    binaries = Stack(settings, {"HOME": str(tmp_path)}).binaries
    monkeypatch.setattr(support, "Stack", _FakeStack)

    _FakeStack.offsets = []
    _FakeStack.failures = [PortInUseError("taken")]
    support.start_on_free_offset(settings, {}, ["redis"], binaries=binaries)
    assert len(_FakeStack.offsets) == 2

    _FakeStack.offsets = []
    _FakeStack.failures = [PortInUseError("taken")] * 3
    with pytest.raises(PortInUseError):
        support.start_on_free_offset(settings, {}, ["redis"], binaries=binaries, attempts=3)
    assert len(_FakeStack.offsets) == 3

    _FakeStack.offsets = []
    _FakeStack.failures = [StackError("collector config is invalid")]
    with pytest.raises(StackError, match="invalid"):
        support.start_on_free_offset(settings, {}, ["redis"], binaries=binaries)
    assert len(_FakeStack.offsets) == 1
