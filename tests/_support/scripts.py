"""Test programs run in a fresh interpreter, as a user's service would be."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Mapping

__all__ = ["run_script"]


def run_script(
    code: str, env: Mapping[str, str], *args: str, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (dedented) with ``args`` in a fresh interpreter; it must succeed."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc
