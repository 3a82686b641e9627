"""Starts, checks and stops the stack's processes: the engine behind ``astra-otel stack``.

Every process runs in its own process group (its own session), writes to its own log file
and is recorded in a pid file under ``<state>/run``. ``down`` stops exactly those groups
(SIGTERM, then SIGKILL after ``stop_timeout``), so helpers a component spawned go too.
"""

from __future__ import annotations

import signal
import string
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from astra_otel.stack import process
from astra_otel.stack.build import ensure_binaries, locate_binaries
from astra_otel.stack.components import (
    COMPONENT_NAMES,
    CORE_COMPONENTS,
    Binaries,
    Component,
    resolve_components,
    state_paths,
)
from astra_otel.stack.errors import PortInUseError, StackError
from astra_otel.stack.pki import ensure_pki, find_openssl
from astra_otel.stack.private import private_dir
from astra_otel.stack.process import Say
from astra_otel.stack.settings import StackSettings

__all__ = ["ComponentStatus", "Stack", "UpResult"]


@dataclass(frozen=True)
class ComponentStatus:
    """One line of ``stack status``."""

    name: str
    pid: int | None
    healthy: bool
    health_url: str


@dataclass(frozen=True)
class UpResult:
    """What ``up`` did: the components it started and those that were already running."""

    started: tuple[str, ...]
    already_running: tuple[str, ...]


class Stack:
    """The local stack for one settings object (one state directory, one port offset)."""

    def __init__(
        self,
        settings: StackSettings,
        environ: Mapping[str, str],
        *,
        say: Say = process.quiet,
        collector_config: Path | None = None,
        binaries: Binaries | None = None,
        die_with_parent: bool = False,
    ) -> None:
        """``die_with_parent`` makes the kernel SIGKILL the processes started from the main
        thread when this process dies (test sessions: a killed pytest leaves no stack)."""
        self.settings = settings
        self._die_with_parent = die_with_parent
        self._environ = dict(environ)
        self._say = say
        self._collector_config = collector_config
        self._feed_viewer = True
        self._set_binaries(binaries or locate_binaries(settings, environ))
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def _set_binaries(self, binaries: Binaries) -> None:
        self.binaries = binaries
        self.components: dict[str, Component] = resolve_components(
            self.settings, binaries, self._collector_config, feed_viewer=self._feed_viewer
        )

    def _decide_viewer_feed(self, starting: Iterable[str]) -> None:
        # The collector gets the viewer layer only when the viewer runs beside it, so a
        # stack without the viewer (tests, benchmarks) runs exactly the ops config.
        self._feed_viewer = "viewer" in starting or self.pid("viewer") is not None
        self._set_binaries(self.binaries)

    # --- queries -------------------------------------------------------------------------

    def pid(self, name: str) -> int | None:
        """Pid (= process group id) of a running component started by this state dir."""
        self._reap()
        record = process.read_pid(self._component(name).pid_file)
        return record.pid if record and process.is_alive(record) else None

    def healthy(self, name: str) -> bool:
        """True if the component's health endpoint answers now."""
        return process.probe(self._component(name).health_url)

    def status(self) -> list[ComponentStatus]:
        """Pid and health of every component."""
        return [
            ComponentStatus(c.name, self.pid(c.name), self.healthy(c.name), c.health_url)
            for c in self.components.values()
        ]

    def urls(self) -> list[tuple[str, str]]:
        """The addresses people use, as (label, URL) pairs."""
        c = self.components
        return [
            ("viewer UI", c["viewer"].url("ui")),
            ("OTLP gRPC", f"http://{c['collector'].endpoint('otlp_grpc')}"),
            ("OTLP HTTP", c["collector"].url("otlp_http")),
            ("Jaeger API", c["jaeger"].url("query_http")),
            ("Prometheus UI", c["prometheus"].url("http", "/classic/graph")),
            ("Prometheus alerts", c["prometheus"].url("http", "/classic/alerts")),
            ("collector zpages", c["collector"].url("zpages", "/debug/pipelinez")),
            ("demo API", c["demo"].url("api")),
            ("JSON telemetry", str(state_paths(self.settings)["telemetry"])),
        ]

    # --- up ------------------------------------------------------------------------------

    def up(self, components: Iterable[str] | None = None, *, build: bool = True) -> UpResult:
        """Start ``components`` (default: all but the demo) unless already running.

        Checks ports and the collector config before starting anything; if a component
        fails to start, stops what this call started and raises :class:`StackError`.
        """
        wanted = self._ordered(components or CORE_COMPONENTS)
        already = tuple(n for n in wanted if self.pid(n) is not None)
        to_start = [n for n in wanted if n not in already]
        if not to_start:
            return UpResult((), already)
        self._check_ports(to_start)
        if build:
            go_built = tuple(n for n in to_start if n != "demo")
            self._set_binaries(ensure_binaries(self.settings, self._environ, self._say, go_built))
        if "collector" in to_start:
            self._decide_viewer_feed(wanted)
        self._prepare_dirs()
        if "collector" in to_start:
            self.validate_collector_config()
        started: list[str] = []
        try:
            for name in to_start:
                started.append(name)  # before it is healthy: an interrupt must stop it too
                self._start_one(name)
        except BaseException:
            for name in reversed(started):
                self.stop(name)
            raise
        return UpResult(tuple(started), already)

    def start(self, name: str) -> None:
        """Start one component (if not running) and wait until it is healthy."""
        if self.pid(name) is None:
            self._check_ports([name])
            if name == "collector":
                self._decide_viewer_feed(())
            self._prepare_dirs()
            self._start_one(name)

    def validate_collector_config(self) -> None:
        """Run ``astra-otelcol validate``; a bad config raises a one-line StackError."""
        comp = self.components["collector"]
        if not self.binaries.collector.exists():
            msg = "collector binary not built yet: run `astra-otel stack build`"
            raise StackError(msg)
        try:
            result = subprocess.run(
                [comp.command[0], "validate", *comp.command[1:]],
                env=self._child_env(comp),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            msg = f"could not run `{comp.command[0]} validate`: {exc}"
            raise StackError(msg) from exc
        if result.returncode != 0:
            detail = _collector_error(result.stderr + result.stdout) or (
                f"exit code {result.returncode}"
            )
            msg = f"collector config {comp.config_file} is invalid: {detail}"
            raise StackError(msg)

    # --- stop ----------------------------------------------------------------------------

    def stop(self, name: str) -> bool:
        """Stop one component's process group; True if it was running."""
        comp = self._component(name)
        record = process.read_pid(comp.pid_file)
        was_running = record is not None and process.is_alive(record)
        if record is not None and was_running:
            process.terminate_group(record.pid, self.settings.stop_timeout)
        self._reap(name, wait=True)
        comp.pid_file.unlink(missing_ok=True)
        return was_running

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a component's process group (tests use it to simulate crashes).

        The pid file stays; a later :meth:`start` finds the process gone and restarts it.
        """
        pid = self.pid(name)
        if pid is None:
            msg = f"{name} is not running"
            raise StackError(msg)
        process.signal_group(pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            process.wait_gone(pid, self.settings.stop_timeout)
            self._reap(name, wait=True)

    def down(self) -> list[str]:
        """Stop every component started from this state directory, in reverse order."""
        return [name for name in reversed(COMPONENT_NAMES) if self.stop(name)]

    # --- internals -----------------------------------------------------------------------

    def _component(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            msg = f"unknown component {name!r}: expected one of {', '.join(COMPONENT_NAMES)}"
            raise StackError(msg) from None

    def _ordered(self, names: Iterable[str]) -> list[str]:
        requested = set(names)
        for name in requested:
            self._component(name)
        return [n for n in COMPONENT_NAMES if n in requested]

    def _check_ports(self, names: Iterable[str]) -> None:
        for name in names:
            for port_name, port in self.components[name].ports.items():
                if process.port_in_use(port):
                    msg = (
                        f"port {port} ({name} {port_name}) is already in use on 127.0.0.1: "
                        f"stop the process holding it (`ss -ltnp 'sport = :{port}'`) or "
                        f"shift all ports with ASTRA_OTEL_STACK_PORT_OFFSET"
                    )
                    raise PortInUseError(msg)

    def _prepare_dirs(self) -> None:
        private_dir(self.settings.state_dir)
        for path in state_paths(self.settings).values():
            private_dir(path)
        self._write_prometheus_config()

    def _write_prometheus_config(self) -> None:
        c = self.components
        template = self.settings.files_dir / "collector" / "prometheus" / "prometheus.yml.tmpl"
        text = string.Template(template.read_text()).substitute(
            rules_glob=str(self.settings.files_dir / "dashboards" / "prometheus" / "*.rules.yml"),
            collector_exporter=c["collector"].endpoint("prometheus_exporter"),
            collector_self_metrics=c["collector"].endpoint("self_metrics"),
            jaeger_self_metrics=c["jaeger"].endpoint("self_metrics"),
            prometheus_self=c["prometheus"].endpoint("http"),
        )
        config = c["prometheus"].config_file
        assert config is not None
        config.write_text(text)

    def _child_env(self, comp: Component) -> dict[str, str]:
        # The demo is a Python service: the caller's OTEL_* settings are meant for it.
        return process.child_env(self._environ, comp.env, inherit_otel=comp.name == "demo")

    def _start_one(self, name: str) -> None:
        comp = self.components[name]
        if name == "jaeger":  # its mTLS receiver (jaeger-tls.yaml) reads these at start
            ensure_pki(state_paths(self.settings)["tls"], find_openssl(self._environ), ("jaeger",))
        self._say(f"starting {name} ...")
        began = time.monotonic()
        proc = process.spawn(
            comp,
            self._child_env(comp),
            cwd=self.settings.state_dir,
            die_with_parent=self._die_with_parent,
        )
        self._children[name] = proc
        deadline = began + self.settings.startup_timeout
        try:
            process.wait_healthy(comp, proc, began=began, deadline=deadline)
        except StackError:
            self.stop(name)
            raise
        self._say(f"  {name} healthy (pid {proc.pid}) in {time.monotonic() - began:.1f} s")

    def _reap(self, name: str | None = None, *, wait: bool = False) -> None:
        names = [name] if name else list(self._children)
        for n in names:
            proc = self._children.get(n)
            if proc is None:
                continue
            if wait:
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    continue
            if proc.poll() is not None:
                del self._children[n]


def _collector_error(output: str) -> str:
    """The collector's error message (``Error: ...`` and its detail lines) as one line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    starts = [i for i, ln in enumerate(lines) if ln.startswith("Error:")]
    picked = lines[starts[-1] :] if starts else lines[-1:]
    return " ".join(picked)[:800]
