"""The demo's command line (a contract with the stack, which starts it as ``demo``)::

    python -m astra_otel.demo --port 8000 --downstream-port 8001 \
        --redis-url redis://127.0.0.1:6379/0 --database-url sqlite:///demo.db --traffic-rps 5

Telemetry settings come from the standard ``OTEL_*`` / ``ASTRA_OTEL_*`` variables read by
``astra_otel.setup()``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

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


def build_parser(prog: str = "python -m astra_otel.demo") -> argparse.ArgumentParser:
    """The demo's argument parser (also used by ``astra-otel demo``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Demo AstraGuard API, its downstream feed and a bounded traffic generator, "
        "all sending telemetry through astra_otel.setup().",
    )
    parser.add_argument(
        "--host",
        default=_DEFAULTS.host,
        help="bind address of the API and the downstream (default 127.0.0.1; 0.0.0.0 only "
        "in a container)",
    )
    parser.add_argument("--port", type=_port, default=_DEFAULTS.port, help="API port (127.0.0.1)")
    parser.add_argument(
        "--downstream-port",
        type=_port,
        default=_DEFAULTS.downstream_port,
        help="downstream feed port (127.0.0.1)",
    )
    parser.add_argument("--redis-url", default=_DEFAULTS.redis_url, help="Redis URL")
    parser.add_argument(
        "--database-url", default=_DEFAULTS.database_url, help="SQLAlchemy database URL"
    )
    parser.add_argument(
        "--traffic-rps",
        type=_nonneg,
        default=_DEFAULTS.traffic_rps,
        help="generated requests per second (0 disables the generator)",
    )
    parser.add_argument(
        "--traffic-duration",
        type=_nonneg,
        default=_DEFAULTS.traffic_duration,
        help="stop generating after this many seconds",
    )
    parser.add_argument(
        "--traffic-max-requests",
        type=int,
        default=_DEFAULTS.traffic_max_requests,
        help="stop generating after this many requests",
    )
    parser.add_argument(
        "--service-name", default=_DEFAULTS.service_name, help="service.name of the telemetry"
    )
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
    return DemoConfig(
        host=ns.host,
        port=ns.port,
        downstream_port=ns.downstream_port,
        redis_url=ns.redis_url,
        database_url=ns.database_url,
        traffic_rps=ns.traffic_rps,
        traffic_duration=ns.traffic_duration,
        traffic_max_requests=ns.traffic_max_requests,
        service_name=ns.service_name,
        chaos=ns.chaos,
    )


def main(argv: Sequence[str] | None = None, prog: str = "python -m astra_otel.demo") -> int:
    """Run the demo until interrupted."""
    return run(parse_config(argv, prog))
