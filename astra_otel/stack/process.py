"""Process plumbing for the stack: pid files, liveness, process groups, health probes."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PidRecord",
    "die_with_parent",
    "group_members",
    "port_in_use",
    "probe",
    "read_pid",
    "signal_group",
    "write_pid",
]

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


def die_with_parent() -> None:
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
