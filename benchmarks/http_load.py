"""What the HTTP benchmarks share (no ``run``: not a benchmark itself): a free loopback
port, a server process that is always stopped, and one bounded ``wrk`` run read into
numbers (wrk is a Debian package; ``make bench`` installs it)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WRK", "WrkRun", "free_port", "server", "wrk"]

WRK = shutil.which("wrk") or "/usr/bin/wrk"
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(
    command: Sequence[str], env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the server ``command`` (output discarded) for the ``with`` block; then SIGTERM,
    and SIGKILL if it has not exited 15 s later."""
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run reports."""

    requests: int
    """Requests completed."""
    non_2xx: int
    """Of those, answered with neither 2xx nor 3xx."""
    seconds: float
    """The run's duration as wrk measured it."""
    rps: float
    """wrk's ``Requests/sec`` (every answer counted)."""
    p99_s: float
    """99th percentile latency in seconds."""

    @property
    def ok_rps(self) -> float:
        """Successful (2xx/3xx) requests per second."""
        return (self.requests - self.non_2xx) / self.seconds


def wrk(
    url: str,
    connections: int,
    seconds: int,
    *,
    threads: int = 1,
    script: Path | None = None,
    timeout: str | None = None,
) -> WrkRun:
    """Load ``url`` for ``seconds`` with ``connections`` connections (``script``: a wrk Lua
    script; ``timeout``: wrk's per-request timeout, e.g. ``5s``); bounded by a subprocess
    timeout as well."""
    cmd = [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if timeout is not None:
        cmd += ["--timeout", timeout]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, timeout=seconds + 30, check=True
    ).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s|m)\b", out)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if total is None or rps is None or p99 is None:
        msg = f"cannot parse wrk output:\n{out}"
        raise RuntimeError(msg)
    return WrkRun(
        requests=int(total.group(1)),
        non_2xx=int(errors.group(1)) if errors else 0,
        seconds=float(total.group(2)) * _UNITS[total.group(3)],
        rps=float(rps.group(1)),
        p99_s=float(p99.group(1)) * _UNITS[p99.group(2)],
    )
