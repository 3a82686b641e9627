"""``python -m dashboards [OUT_DIR]``: write the dashboards' JSON (default: the committed
files under dashboards/grafana/dashboards/) and print the paths written."""

from __future__ import annotations

import sys
from pathlib import Path

from . import OUT_DIR, write_all


def main(argv: list[str]) -> int:
    """Write every dashboard under ``argv[0]`` (or :data:`OUT_DIR`)."""
    for written in write_all(Path(argv[0]) if argv else OUT_DIR):
        sys.stdout.write(f"{written}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
