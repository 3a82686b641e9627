"""Process plumbing for the stack: pid files, liveness, process groups, health probes, and
the one runner that starts a component and waits for it (used by ``Stack`` and ``Topology``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from astra_otel.stack.components import Component
from astra_otel.stack.errors import PortInUseError, StackError
from astra_otel.stack.private import private_dir

__all__ = [
    "PidRecord",
    "Say",
    "child_env",
    "group_members",
    "port_in_use",
    "probe",
    "quiet",
    "read_pid",
    "signal_group",
    "spawn",
    "wait_healthy",
    "write_pid",
]

Say = Callable[[str], None]
"""Where progress lines go (the CLI prints them; tests send them past pytest's capture)."""


def quiet(_: str) -> None:
    """A progress sink that says nothing."""


_PROC = Path("/proc")


@dataclass(frozen=True)
class PidRecord:
    """What a pid file holds: the pid (= process group id) and its start time in ticks.

    The start time guards against pid reuse: a pid file whose process has gone and whose
    pid now belongs to someone else is recognised as stale.
    """

    pid: int
    start_ticks: int
    command: str


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)  # resolved before fork: the child only calls it


def _die_with_parent() -> None:
    """In a child before exec: ask the kernel to SIGKILL it when its parent thread dies."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _stat(pid: int) -> tuple[str, int, int] | None:
    """``(state, pgid, start_ticks)`` of a process, or None if it does not exist."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[2]), int(fields[19])


def start_ticks(pid: int) -> int:
    """Start time of ``pid`` in clock ticks since boot (0 if it is gone)."""
    stat = _stat(pid)
    return stat[2] if stat else 0


def is_alive(record: PidRecord) -> bool:
    """True while the recorded process runs (not a zombie, not a reused pid)."""
    stat = _stat(record.pid)
    return stat is not None and stat[0] not in ("Z", "X") and stat[2] == record.start_ticks


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is not None and stat[1] == pgid and stat[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to the whole process group; a group already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def write_pid(path: Path, record: PidRecord) -> None:
    """Write a pid file atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record.__dict__))
    tmp.replace(path)


def read_pid(path: Path) -> PidRecord | None:
    """Read a pid file; a missing or unreadable one is None."""
    try:
        data = json.loads(path.read_text())
        return PidRecord(int(data["pid"]), int(data["start_ticks"]), str(data["command"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True if something listens on (or holds) ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option the Go servers set: a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def probe(url: str, timeout: float = 1.0) -> bool:
    """One health check: HTTP 2xx for ``http://``, ``+PONG`` for ``redis://host:port``."""
    if url.startswith("redis://"):
        host, _, port = url.removeprefix("redis://").partition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310  # loopback URLs we built
            return 200 <= int(resp.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_gone(pgid: int, timeout: float) -> bool:
    """Wait until no live process is left in group ``pgid``; False on timeout."""
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def terminate_group(pgid: int, timeout: float) -> None:
    """SIGTERM the group, then SIGKILL whatever is left after ``timeout`` seconds."""
    signal_group(pgid, signal.SIGTERM)
    if not wait_gone(pgid, timeout):
        signal_group(pgid, signal.SIGKILL)
        wait_gone(pgid, 5.0)


def child_env(
    environ: Mapping[str, str], own: Mapping[str, str], *, inherit_otel: bool = False
) -> dict[str, str]:
    """A component's environment: ``environ`` with the component's ``own`` variables on top.

    The caller's ``OTEL_*`` variables are dropped unless ``inherit_otel``: the Go binaries
    must not pick up the caller's OpenTelemetry SDK settings.
    """
    env = {k: v for k, v in environ.items() if inherit_otel or not k.startswith("OTEL_")}
    env.update(own)
    return env


def _before_exec(tie: bool, max_open_files: int | None) -> Callable[[], None] | None:
    """What the child runs between fork and exec: tie it to our thread, set its file limit.

    The limit is set as both soft and hard limit: Go programs raise their soft limit to the
    hard one at start, so only the hard limit bounds them. Without the privilege to raise a
    hard limit, it is capped at ours.
    """
    if not tie and max_open_files is None:
        return None
    if max_open_files is not None and os.geteuid() != 0:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY:
            max_open_files = min(max_open_files, hard)

    def run() -> None:
        if tie:
            _die_with_parent()
        if max_open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_open_files, max_open_files))

    return run


def spawn(
    comp: Component, env: Mapping[str, str], *, cwd: Path, die_with_parent: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``comp`` in a session of its own and record it in its pid file.

    Its own session: it outlives the caller, and a Ctrl-C aimed at the caller does not
    reach it. Its output is appended to its log file after a header line. With
    ``die_with_parent`` the kernel SIGKILLs it when the starting thread dies (test
    sessions), which is only asked for from the main thread: ``PR_SET_PDEATHSIG`` fires when
    the *thread* that forked exits, so a helper thread's end would kill what it started.
    """
    binary = Path(comp.command[0])
    if not binary.exists():
        msg = f"{comp.name}: {binary} does not exist: run `astra-otel stack build`"
        raise StackError(msg)
    tie = die_with_parent and threading.current_thread() is threading.main_thread()
    for directory in {comp.log_file.parent, comp.pid_file.parent}:
        private_dir(directory)
    with comp.log_file.open("ab") as log:
        log.write(f"--- astra-otel: starting {' '.join(comp.command)}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                comp.command,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=cwd,
                preexec_fn=_before_exec(tie, comp.max_open_files),  # noqa: PLW1509  # prctl and setrlimit only, async-signal-safe
            )
        except OSError as exc:
            msg = f"could not start {comp.name} ({comp.command[0]}): {exc}"
            raise StackError(msg) from exc
    write_pid(comp.pid_file, PidRecord(proc.pid, start_ticks(proc.pid), comp.command[0]))
    return proc


def wait_healthy(
    comp: Component,
    proc: subprocess.Popen[bytes] | None,
    *,
    began: float,
    deadline: float,
    probe_timeout: float = 1.0,
) -> None:
    """Probe ``comp``'s health endpoint until it answers (``began``/``deadline`` are
    ``time.monotonic()`` values).

    Raises :class:`StackError` naming the log file and its last line if ``proc`` (this
    process's handle, None if another process started it) exits first or the deadline
    passes; :class:`PortInUseError` if it exited because a port was taken meanwhile.
    """
    while not probe(comp.health_url, timeout=probe_timeout):
        code = proc.poll() if proc is not None else None
        if code is not None or time.monotonic() > deadline:
            why = f"exited with code {code}" if code is not None else "did not become healthy"
            last = last_line(comp.log_file)
            msg = (
                f"{comp.name} {why} within {time.monotonic() - began:.0f} s "
                f"({comp.health_url}); see {comp.log_file}: {last}"
            )
            # Another process may bind a port between the check and the start: a typed
            # error lets callers that pick ports (test sessions) try other ones.
            taken = code is not None and "address already in use" in last.lower()
            raise (PortInUseError if taken else StackError)(msg)
        time.sleep(0.1)


def last_line(path: Path) -> str:
    """The last non-blank line of a log file, shortened (for one-line error messages)."""
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return "no log"
    return lines[-1].strip()[:300] if lines else "empty log"
