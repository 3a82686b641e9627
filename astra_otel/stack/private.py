"""Directories only this user may read: the stack's state holds telemetry (the collector's
JSON files and queues), logs, keys and tokens."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "private_dir"]

PRIVATE_DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """``path`` created if missing (with its parents) and made 0700, even if it existed."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR_MODE)
    return path
