"""The ``${env:VAR:-default}`` references of a collector or Jaeger config file."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["env_references"]

_REFERENCE = re.compile(r"\$\{env:([A-Za-z0-9_]+)(?::-([^}]*))?\}")


def env_references(path: Path) -> list[tuple[str, str | None]]:
    """``(variable, default or None)`` for every ``${env:...}`` outside comment lines."""
    code = "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#"))
    return [(m[1], m[2]) for m in _REFERENCE.finditer(code)]
