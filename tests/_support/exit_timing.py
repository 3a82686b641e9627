"""How long a child takes to exit after the last line of its work (start-up and import time
not counted): shared by the unit and end-to-end exit tests and the exit benchmark."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from typing import NamedTuple

__all__ = ["ExitTiming", "time_exit", "timed_exit"]


class ExitTiming(NamedTuple):
    """One timed exit: ``seconds`` from the ``READY`` line to the exit (or to the kill at the
    limit), the ``returncode`` (None: still running at the limit, killed then), ``stderr``."""

    seconds: float
    returncode: int | None
    stderr: str


def time_exit(
    code: str, *args: str, env: Mapping[str, str] | None = None, limit: float = 60.0
) -> ExitTiming:
    """Run ``code`` with ``args`` in a fresh interpreter; it prints a line starting ``READY``
    when its work is done. Time from that line to its exit, killing it after ``limit``
    seconds; RuntimeError if it never got ready."""
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        ready = time.monotonic()
        returncode: int | None
        try:
            _, stderr = proc.communicate(timeout=limit)  # reads stderr: a full pipe never blocks it
            returncode = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
            returncode = None
        elapsed = time.monotonic() - ready
    if not line.startswith("READY"):
        msg = f"the program failed before READY: {line!r}; stderr: {stderr[-2000:]}"
        raise RuntimeError(msg)
    return ExitTiming(elapsed, returncode, stderr)


def timed_exit(
    code: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> float:
    """:func:`time_exit` for tests: the seconds to exit; fails unless it exited with 0
    within ``timeout``."""
    result = time_exit(code, *args, env=env, limit=timeout)
    assert result.returncode == 0, result.stderr
    return result.seconds
