"""The demo's command line (a contract with the stack, which starts it as ``demo``)::

    python -m astra_otel.demo --port 8000 --downstream-port 8001 \
        --redis-url redis://127.0.0.1:6379/0 --database-url sqlite:///demo.db --traffic-rps 5

Telemetry settings come from the standard ``OTEL_*`` / ``ASTRA_OTEL_*`` variables read by
``astra_otel.setup()``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from astra_otel.demo.server import DemoConfig, run

__all__ = ["build_parser", "main", "parse_config"]

_DEFAULTS = DemoConfig()


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        msg = f"not a TCP port: {raw}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _nonneg(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        msg = f"must be >= 0: {raw}"
        raise argparse.ArgumentTypeError(msg)
    return value


# Each option sets the DemoConfig field of its name (``--redis-url`` -> ``redis_url``) and
# defaults to that field's default: (argument type, help).
_OPTIONS: dict[str, tuple[Callable[[str], object], str]] = {
    "host": (
        str,
        "bind address of the API and the downstream (default 127.0.0.1; 0.0.0.0 only "
        "in a container)",
    ),
    "port": (_port, "API port (127.0.0.1)"),
    "downstream_port": (_port, "downstream feed port (127.0.0.1)"),
    "redis_url": (str, "Redis URL"),
    "database_url": (str, "SQLAlchemy database URL"),
    "traffic_rps": (_nonneg, "generated requests per second (0 disables the generator)"),
    "traffic_duration": (_nonneg, "stop generating after this many seconds"),
    "traffic_max_requests": (int, "stop generating after this many requests"),
    "service_name": (str, "service.name of the telemetry"),
}


def build_parser(prog: str = "python -m astra_otel.demo") -> argparse.ArgumentParser:
    """The demo's argument parser (also used by ``astra-otel demo``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Demo AstraGuard API, its downstream feed and a bounded traffic generator, "
        "all sending telemetry through astra_otel.setup().",
    )
    for name, (kind, text) in _OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=kind, default=getattr(_DEFAULTS, name), help=text)
    parser.add_argument(
        "--no-chaos",
        dest="chaos",
        action="store_false",
        help="inject no faults (default: a 3%% base rate and a storm every 30 s)",
    )
    return parser


def parse_config(
    argv: Sequence[str] | None = None, prog: str = "python -m astra_otel.demo"
) -> DemoConfig:
    """Parse ``argv`` into a :class:`DemoConfig`."""
    ns = build_parser(prog).parse_args(argv)
    return DemoConfig(**{name: getattr(ns, name) for name in (*_OPTIONS, "chaos")})


def main(argv: Sequence[str] | None = None, prog: str = "python -m astra_otel.demo") -> int:
    """Run the demo until interrupted."""
    return run(parse_config(argv, prog))
