"""What the pipeline benchmarks share (no ``run``: not a benchmark itself).

* :func:`bench_stack`: a stack of its own (free port offset, temporary state directory),
  started through :class:`astra_otel.stack.Stack`, stopped afterwards;
* :func:`telemetrygen`: the collector-contrib load generator of the collector's release,
  built once with ``go install`` through the stack's build code and cached;
* process CPU and peak RSS from ``/proc``; span counting in Jaeger and the collector's
  own metrics and Jaeger's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from astra_otel._config.params import environ_snapshot
from astra_otel.stack import build as stack_build
from astra_otel.stack.settings import StackSettings, load_stack_settings
from tests._support.stack import RunningStack, running_stack, start_on_free_offset

__all__ = [
    "TELEMETRYGEN_MODULE",
    "bench_stack",
    "cpu_seconds",
    "jaeger_received",
    "peak_rss_bytes",
    "say",
    "telemetrygen",
    "wait_until",
]

TELEMETRYGEN_MODULE = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def say(line: str) -> None:
    """Progress on stderr (the results table goes to stdout)."""
    print(f"  {line}", file=sys.stderr, flush=True)


def _settings(environ: Mapping[str, str], state_dir: Path) -> StackSettings:
    return load_stack_settings(environ, state_dir=str(state_dir))


def telemetrygen(environ: Mapping[str, str] | None = None) -> Path:
    """Path of ``telemetrygen`` at the collector's release, built and cached on first use."""
    env = dict(environ or environ_snapshot())
    settings = load_stack_settings(env)
    version = stack_build.BUILDER_VERSION
    target = settings.cache_dir / "tools" / f"telemetrygen-{version}" / "telemetrygen"
    if target.exists():
        return target
    go = stack_build._go(env)  # the stack's own Go lookup, reused
    go_env = stack_build._go_env(settings, env, go)  # same caches as the stack
    with stack_build._build_lock(settings):  # serialises with stack builds
        if not target.exists():
            say(f"building telemetrygen {version} (once; ~3 min warm, longer cold)")
            stack_build._run(  # streams progress with a heartbeat
                [str(go), "install", f"{TELEMETRYGEN_MODULE}@{version}"],
                env={**go_env, "GOBIN": str(target.parent)},
                cwd=None,
                what="building telemetrygen",
                say=say,
            )
    return target


@contextmanager
def bench_stack(
    components: tuple[str, ...] = ("jaeger", "collector"),
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningStack]:
    """A stack of its own in a temporary state directory; stopped on exit."""
    environ = {**environ_snapshot(), **(env or {})}
    with tempfile.TemporaryDirectory(prefix="astra-bench-") as tmp:
        base = _settings(environ, Path(tmp))
        binaries = stack_build.ensure_binaries(base, environ, say)
        handle = start_on_free_offset(base, environ, components, binaries=binaries)
        try:
            yield running_stack(handle)
        finally:
            handle.down()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def peak_rss_bytes(pid: int) -> int:
    """Peak resident set size (VmHWM) of ``pid``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def jaeger_received(stack: RunningStack) -> float:
    """Spans Jaeger's own OTLP receiver has accepted since it started (its self-metrics):
    counts every span delivered, also those its bounded memory store evicts later."""
    jaeger = stack.stack.components["jaeger"].url("self_metrics", "/metrics")
    text = requests.get(jaeger, timeout=5).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name in ("otelcol_receiver_accepted_spans", "otelcol_receiver_accepted_spans_total")
    )


def wait_until(check: object, timeout: float, every: float = 0.5) -> bool:
    """Call ``check()`` until truthy or ``timeout`` seconds passed; its last verdict."""
    deadline = time.monotonic() + timeout
    while True:
        if check():  # type: ignore[operator]  # a zero-argument callable
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
