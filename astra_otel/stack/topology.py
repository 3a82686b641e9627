"""The agent/gateway topology: N agent collectors and M gateway collectors on loopback.

The agents run ``collector/agent.yaml`` (OTLP in, ``load_balancing`` by trace id out), the
gateways ``collector/gateway.yaml`` (span metrics before tail sampling; Prometheus, Jaeger
and JSON files out). Both are the same ``astra-otelcol`` binary as the local stack. The
instances are described as :class:`~astra_otel.stack.components.Component`\\s, like the
stack's own processes, so ports, health URLs and log files are data.

Membership: every agent gets a second config file, ``backends.yaml``, listing the gateways
it routes to. :meth:`Topology.sync_backends` probes the gateways' health endpoints, rewrites
that file with the healthy ones and sends SIGHUP, which makes the collector reload its
configuration. This is the local stand-in for the ``dns`` resolver behind a Kubernetes
headless Service (or the ``k8s`` resolver), which drop a gateway that stops being ready.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from astra_otel.stack import process
from astra_otel.stack.components import LOOPBACK, Component
from astra_otel.stack.errors import PortInUseError, StackError
from astra_otel.stack.pki import ensure_pki, find_openssl
from astra_otel.stack.topology_plan import (
    AGENT,
    GATEWAY,
    LB_EXPORTERS,
    MAX_INSTANCES,
    PortPicker,
    Sampling,
    TopologyPlan,
    backends_layer,
    plan_topology,
)

__all__ = [
    "AGENT",
    "GATEWAY",
    "MAX_INSTANCES",
    "PortPicker",
    "Sampling",
    "Topology",
    "TopologyPlan",
    "backends_layer",
    "plan_topology",
]


_DETACHED: dict[int, subprocess.Popen[bytes]] = {}
"""Handles of instances started by a :class:`Topology` that was detached, by pid."""


def _current_backends(plan: TopologyPlan) -> tuple[str, ...]:
    """The gateway list the agents were last given (another process may have run sync)."""
    try:
        doc = yaml.safe_load(plan.backends_file(plan.agents[0]).read_text())
        hosts = doc["exporters"][LB_EXPORTERS[0]]["resolver"]["static"]["hostnames"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return ()
    return tuple(str(h) for h in hosts)


def _live_record(pid_file: Path) -> process.PidRecord | None:
    record = process.read_pid(pid_file)
    return record if record is not None and process.is_alive(record) else None


class Topology:
    """Runs a :class:`TopologyPlan`: start, stop, kill and restart instances, sync membership.

    Processes are started in their own session (they outlive the CLI) with a pid file
    (:mod:`astra_otel.stack.process` records), so another ``Topology`` over the same plan,
    e.g. ``astra-otel stack topology down``, finds and stops them. ``environ`` is the snapshot
    the collectors inherit (``PATH``, ``HOME``), without ``OTEL_*``; each instance's own
    variables are laid on top of it.
    """

    def __init__(
        self,
        plan: TopologyPlan,
        environ: Mapping[str, str],
        *,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        die_with_parent: bool = False,
    ) -> None:
        """``die_with_parent``: the kernel SIGKILLs the instances when the starting thread
        dies (test sessions), as for :class:`~astra_otel.stack.supervisor.Stack`."""
        self.plan = plan
        self._die_with_parent = die_with_parent
        self._environ = dict(environ)
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._by_name = {c.name: c for c in plan.components}
        self._lock = threading.Lock()
        self.backends: tuple[str, ...] = _current_backends(plan) or tuple(
            g.endpoint("otlp_grpc") for g in plan.gateways
        )
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> list[str]:
        """Start every instance not running yet (gateways first); return the ones started."""
        for comp in self.plan.components:
            busy = [p for p in comp.ports.values() if process.port_in_use(p)]
            if busy and not self.running(comp.name):
                msg = f"{comp.name}: port(s) {busy} already in use on {LOOPBACK}"
                raise PortInUseError(msg)
        # TLS and tokens on every hop between instances: the credentials exist before any
        # instance starts (kept if valid, so running instances and the stack's Jaeger agree).
        ensure_pki(self.plan.pki.root, find_openssl(self._environ), ("gateway", "agent"))
        for agent in self.plan.agents:
            self._write_backends(agent, self.backends)
        started: list[str] = []
        try:
            for group in (self.plan.gateways, self.plan.agents):
                for comp in group:
                    if not self.running(comp.name):
                        self.start_instance(comp.name, wait=False)
                        started.append(comp.name)
                self.wait_healthy(*(c.name for c in group))
        except BaseException:
            for name in reversed(started):  # leave nothing half-started behind
                self.stop_instance(name)
            raise
        return started

    def stop(self) -> list[str]:
        """Stop the watcher, then agents (they flush to the gateways), then gateways."""
        self.stop_watch()
        stopped = []
        for comp in (*self.plan.agents, *self.plan.gateways):
            if self.running(comp.name):
                self.stop_instance(comp.name)
                stopped.append(comp.name)
        return stopped

    def running(self, name: str) -> bool:
        """True while the instance's recorded process runs."""
        return _live_record(self._by_name[name].pid_file) is not None

    def healthy(self, name: str) -> bool:
        """One probe of the instance's health endpoint."""
        return process.probe(self._by_name[name].health_url, timeout=0.5)

    def start_instance(self, name: str, *, wait: bool = True) -> None:
        """Start one instance (again) with its own log file and pid file."""
        comp = self._by_name[name]
        if self.running(name):
            msg = f"{name} is already running (pid file {comp.pid_file})"
            raise StackError(msg)
        self._procs[name] = process.spawn(
            comp,
            process.child_env(self._environ, comp.env),
            cwd=comp.log_file.parent,
            die_with_parent=self._die_with_parent,
        )
        if wait:
            self.wait_healthy(name)

    def kill_instance(self, name: str) -> None:
        """SIGKILL one instance: no flush, no shutdown (what a crash or an OOM kill does)."""
        record = _live_record(self._by_name[name].pid_file)
        if record is not None:
            process.signal_group(record.pid, signal.SIGKILL)
            process.wait_gone(record.pid, self._stop_timeout)
        self._forget(name, record)

    def stop_instance(self, name: str) -> None:
        """SIGTERM one instance (the collector drains its pipelines), SIGKILL after the timeout."""
        record = _live_record(self._by_name[name].pid_file)
        if record is not None:
            process.terminate_group(record.pid, self._stop_timeout)
        self._forget(name, record)

    def detach(self) -> None:
        """Leave the instances running when this object goes away (the CLI exits after `up`).

        Their handles move to a process-wide registry, so a later :meth:`stop_instance` in
        the same process (a test) still reaps them; `down` from another process finds them
        by pid file.
        """
        for proc in self._procs.values():
            _DETACHED[proc.pid] = proc
        self._procs.clear()

    def _forget(self, name: str, record: process.PidRecord | None) -> None:
        proc = self._procs.pop(name, None)
        if proc is None and record is not None:
            proc = _DETACHED.pop(record.pid, None)
        if proc is not None:
            proc.wait(timeout=self._stop_timeout)  # reap: no zombie, no ResourceWarning
        self._by_name[name].pid_file.unlink(missing_ok=True)

    def wait_healthy(self, *names: str) -> None:
        """Wait until each named instance's health endpoint answers 2xx (one deadline for
        all of them)."""
        began = time.monotonic()
        for name in names:
            process.wait_healthy(
                self._by_name[name],
                self._procs.get(name),
                began=began,
                deadline=began + self._startup_timeout,
            )

    # --- membership ------------------------------------------------------------------------

    def _write_backends(self, agent: Component, endpoints: tuple[str, ...]) -> None:
        path = self.plan.backends_file(agent)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(backends_layer(endpoints))
        tmp.replace(path)  # atomic: a reload never reads half a file

    def sync_backends(self) -> tuple[str, ...]:
        """Route the agents to the gateways that are healthy now; return that list.

        When the set changes, each agent's ``backends.yaml`` is rewritten and the agent gets
        SIGHUP: the collector reloads its configuration, its persistent queues survive and
        what they hold is routed over the new ring. If no gateway is healthy the list is
        left alone: data waits in the agents' queues until one is back.
        """
        with self._lock:
            healthy = tuple(
                g.endpoint("otlp_grpc") for g in self.plan.gateways if self.healthy(g.name)
            )
            if not healthy or healthy == self.backends:
                return self.backends
            self.backends = healthy
            for agent in self.plan.agents:
                self._write_backends(agent, healthy)
                record = _live_record(agent.pid_file)
                if record is not None:
                    process.signal_group(record.pid, signal.SIGHUP)
            return healthy

    def watch(self, interval: float = 1.0) -> None:
        """Run :meth:`sync_backends` every ``interval`` seconds in a daemon thread."""

        def loop() -> None:
            while not self._watch_stop.wait(interval):
                self.sync_backends()

        self._watch_stop.clear()
        self._watcher = threading.Thread(target=loop, name="astra-topology-watch", daemon=True)
        self._watcher.start()

    def stop_watch(self) -> None:
        """Stop the membership watcher, if running."""
        self._watch_stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
