"""``astra-otel stack topology up|down|status|sync|rotate``: the topology from the CLI.

``up`` records what it started in ``<state>/topology/plan.json`` so ``down``, ``status`` and
``sync`` act on the same instances from another process.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping

from astra_otel.stack import process
from astra_otel.stack.build import ensure_binaries, locate_binaries
from astra_otel.stack.components import TLS_RELOAD_INTERVAL
from astra_otel.stack.pki import find_openssl, rotate
from astra_otel.stack.private import private_dir
from astra_otel.stack.process import Say
from astra_otel.stack.settings import StackSettings
from astra_otel.stack.topology import MAX_INSTANCES, Sampling, Topology, plan_topology

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``topology`` command group under ``astra-otel stack``."""
    topo = commands.add_parser(
        "topology", help="N agent + M gateway collectors (load balancing, tail sampling)"
    )
    cmds = topo.add_subparsers(dest="topology_command", required=True)
    up = cmds.add_parser("up", help="start the agents and gateways (Jaeger: `stack up`)")
    up.add_argument("--agents", type=int, default=2, help="agent collectors (default 2)")
    up.add_argument("--gateways", type=int, default=2, help="gateway collectors (default 2)")
    up.add_argument(
        "--sampling-percentage",
        type=float,
        default=Sampling.sampling_percentage,
        help="percent kept of traces that are neither errors nor slow (default 10)",
    )
    up.add_argument(
        "--slow-ms",
        type=int,
        default=Sampling.slow_trace_ms,
        help="traces at least this slow are always kept (default 1000)",
    )
    up.add_argument(
        "--decision-wait",
        type=float,
        default=Sampling.decision_wait_s,
        help="seconds a gateway buffers a trace before deciding (default 10)",
    )
    cmds.add_parser("down", help="stop every agent and gateway `topology up` started")
    cmds.add_parser("status", help="pid, health and ports of each instance")
    sync = cmds.add_parser("sync", help="route the agents to the gateways that are healthy")
    sync.add_argument("--watch", action="store_true", help="keep syncing every second")
    cmds.add_parser(
        "rotate",
        help="issue new gateway and agent certificates from the same CA (no restart needed)",
    )


def _saved(settings: StackSettings) -> dict[str, float]:
    path = settings.state_dir / "topology" / "plan.json"
    try:
        data = json.loads(path.read_text())
        return {k: float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def run(
    args: argparse.Namespace, settings: StackSettings, environ: Mapping[str, str], say: Say
) -> int:
    """Run one ``stack topology`` command."""
    cmd = args.topology_command
    saved = _saved(settings)
    if cmd == "up":
        agents, gateways = int(args.agents), int(args.gateways)
        sampling = Sampling(
            sampling_percentage=float(args.sampling_percentage),
            slow_trace_ms=int(args.slow_ms),
            decision_wait_s=float(args.decision_wait),
        )
        collector = ensure_binaries(settings, environ, say, components=("collector",)).collector
    elif not saved and cmd in ("status", "sync", "rotate"):
        say(f"no topology started under {settings.state_dir} (`astra-otel stack topology up`)")
        return 0
    else:
        agents = int(saved.get("agents", MAX_INSTANCES))
        gateways = int(saved.get("gateways", MAX_INSTANCES))
        sampling = None
        collector = locate_binaries(settings, environ).collector
    plan = plan_topology(settings, collector, agents=agents, gateways=gateways, sampling=sampling)
    topo = Topology(
        plan, environ, startup_timeout=settings.startup_timeout, stop_timeout=settings.stop_timeout
    )
    if cmd == "up":
        started = topo.start()
        topo.detach()  # the collectors outlive this command
        private_dir(plan.root)
        (plan.root / "plan.json").write_text(json.dumps({"agents": agents, "gateways": gateways}))
        say(f"started: {', '.join(started)}" if started else "already running")
        _status(topo, say)
        say(f"TLS 1.3 + client certificates + bearer token between tiers: {plan.pki.root}")
        say("send OTLP to an agent; stop with `astra-otel stack topology down`")
    elif cmd == "down":
        stopped = topo.stop()
        say(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    elif cmd == "status":
        _status(topo, say)
    elif cmd == "rotate":
        rotate(plan.pki.root, find_openssl(environ), ("gateway", "agent"))
        say(
            f"new certificates in {plan.pki.root}: new handshakes use them within "
            f"{TLS_RELOAD_INTERVAL}; agents reconnect (and so present theirs) within "
            f"{plan.gateways[0].env['OTELCOL_GATEWAY_MAX_CONNECTION_AGE']}"
        )
    elif cmd == "sync":
        say(f"agents route to: {', '.join(topo.sync_backends())}")
        while args.watch:
            time.sleep(1.0)
            before = topo.backends
            if topo.sync_backends() != before:
                say(f"agents now route to: {', '.join(topo.backends)}")
    return 0


def _status(topo: Topology, say: Say) -> None:
    for comp in topo.plan.components:
        record = process.read_pid(comp.pid_file)
        running = record is not None and process.is_alive(record)
        state = f"running pid {record.pid}" if running and record else "stopped"
        health = "healthy" if running and topo.healthy(comp.name) else "-"
        ports = " ".join(f"{n}={p}" for n, p in comp.ports.items())
        say(f"{comp.name:<10} {state:<18} {health:<8} {ports}")
    telemetry = [str(topo.plan.telemetry_dir(g)) for g in topo.plan.gateways]
    say(f"gateway JSON files: {', '.join(telemetry)}")
