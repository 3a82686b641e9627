"""Shared by the unit and end-to-end exit tests: how long a child takes to exit after the
last line of its work (start-up and import time not counted)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping

__all__ = ["timed_exit"]


def timed_exit(
    code: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> float:
    """Run ``code`` with ``args``; it prints a line starting ``READY`` when its work is done.
    Return the seconds from that line to its exit; fail if it never got ready or exited
    non-zero."""
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
        proc.wait(timeout=timeout)
        elapsed = time.monotonic() - ready
        stderr = proc.stderr.read() if proc.stderr else ""
    assert line.startswith("READY"), stderr
    assert proc.returncode == 0, stderr
    return elapsed
