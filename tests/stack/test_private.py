"""Directories the stack creates are private to the user running it."""

from __future__ import annotations

import stat
from pathlib import Path

from astra_otel.stack.private import private_dir


def test_a_new_directory_and_an_existing_one_become_0700(tmp_path: Path) -> None:
    """Created with its parents, or found already there with a wider mode: 0700 either way."""
    made = private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    wide = tmp_path / "wide"
    wide.mkdir(mode=0o755)
    wide.chmod(0o755)
    assert stat.S_IMODE(private_dir(wide).stat().st_mode) == 0o700
