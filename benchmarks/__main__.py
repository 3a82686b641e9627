"""Run the benchmarks: ``python -m benchmarks [--only SUBSTRING] [--quick]``.

Every module ``benchmarks/bench_*.py`` that defines ``run(options) -> list[Result]`` is a
benchmark (discovered, so other parts add theirs by dropping a file here). Each measures
ours and its baseline side by side in the same run and reports the ratio against a target.
Every load loop is bounded in count and time. Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Options", "Result", "main"]


@dataclass(frozen=True)
class Options:
    """Options every benchmark receives."""

    quick: bool = False


@dataclass(frozen=True)
class Result:
    """One measured comparison: ours vs baseline, the ratio and its target."""

    name: str
    ours: float
    baseline: float
    unit: str
    ratio: float
    target: str
    ok: bool
    note: str = ""


def discover(only: str | None) -> list[str]:
    """Module names of the benchmarks (``bench_*``), optionally filtered."""
    here = Path(__file__).resolve().parent
    names = sorted(
        f"benchmarks.{m.name}"
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )
    return [n for n in names if only is None or only in n]


def _print(results: list[Result]) -> None:
    print("| benchmark | ours | baseline | ratio | target | ok |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.name} | {r.ours:.4g} {r.unit} | {r.baseline:.4g} {r.unit} | "
            f"{r.ratio:.2f} | {r.target} | {'yes' if r.ok else 'NO'} |"
        )
        if r.note:
            print(f"|  ↳ {r.note} | | | | | |")


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and print one table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", help="run modules whose name contains this")
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args(argv)
    options = Options(quick=args.quick)
    print(
        f"# astra-otel benchmarks — {time.strftime('%Y-%m-%d %H:%M:%S')} "
        f"on {platform.node()} ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}"
    )
    results: list[Result] = []
    for name in discover(args.only):
        module = importlib.import_module(name)
        run = getattr(module, "run", None)
        if run is None:
            continue
        started = time.monotonic()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.extend(run(options))
        print(f"  {name} took {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    _print(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
