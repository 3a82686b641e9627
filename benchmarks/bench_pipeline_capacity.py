"""Collector capacity: a load generator of pre-encoded OTLP/gRPC exports
(``benchmarks/otlp_blast.py``, a few microseconds of CPU per request, so the collector and
not the generator is what runs out) sends spans at increasing paced rates through the full
pipeline (memory_limiter, redaction, shape limits, forward connector, Jaeger exporter and file sink
each with a persistent queue batching inside it, file exporter behind the file queue's
loopback receiver) of a stack of its own.

A rate is *lossless* when the collector refused nothing and every span it accepted was
received by Jaeger (Jaeger's own receiver counter) and written by the file exporter. For
each rate: the collector's CPU (cores = CPU seconds / wall seconds, from the start of the
send until everything is delivered), its peak RSS, and the generator's CPU. Target:
>= 20,000 spans/s lossless within one core and 300 MiB.

A second row sends the target rate once more from ``telemetrygen`` (collector-contrib, the
collector's release), an independent client building every span with the Go SDK: lossless
is its verdict; its rate is bounded by the generator's own CPU on a two-core machine.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.__main__ import Options, Result
from benchmarks.bench_pipeline_common import (
    bench_stack,
    cpu_seconds,
    jaeger_received,
    peak_rss_bytes,
    say,
    telemetrygen,
    wait_until,
)
from benchmarks.otlp_blast import EXPORT_TIMEOUT_S
from tests._support.stack import RunningStack

TARGET_SPANS_S = 20_000.0
MAX_CORES = 1.0
MAX_RSS_MIB = 300.0
GENERATOR_PROCESSES = 2
# One telemetrygen worker paces about 1,500 spans/s here; enough workers for the rate.
SPANS_PER_WORKER = 1_000.0
DRAIN_S = 60.0
REPO = Path(__file__).resolve().parents[1]
# The clients' receiver (the collector also receives from its own file queue).
_ENTRY = {"receiver": "otlp"}


def _blast(stack: RunningStack, rate: float, seconds: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "benchmarks.otlp_blast",
        "--endpoint",
        stack.otlp_grpc.removeprefix("http://"),
        "--service",
        f"bench-capacity-{int(rate)}",
        "--rate",
        f"{rate:.0f}",
        "--seconds",
        f"{seconds:.0f}",
        "--processes",
        str(GENERATOR_PROCESSES),
    ]


def _telemetrygen(gen: str, stack: RunningStack, rate: float, seconds: float) -> list[str]:
    # telemetrygen's --rate paces every span (children included), per worker.
    workers = max(1, round(rate / SPANS_PER_WORKER))
    return [
        gen,
        "traces",
        "--otlp-insecure",
        "--otlp-endpoint",
        stack.otlp_grpc.removeprefix("http://"),
        "--service",
        f"bench-capacity-telemetrygen-{int(rate)}",
        "--workers",
        str(workers),
        "--rate",
        f"{rate / workers:.3f}",
        "--batch-size",
        "512",  # the SDK's default export batch
        "--child-spans",
        "9",  # 10 spans per trace, as otlp_blast
        "--duration",
        f"{seconds:.0f}s",
        "--telemetry-attributes",
        'bench.kind="capacity"',
    ]


def _one_rate(
    stack: RunningStack, rate: float, seconds: float, command: list[str]
) -> dict[str, float]:
    pid = stack.stack.pid("collector")
    assert pid is not None
    before = {
        "accepted": stack.collector_metric("otelcol_receiver_accepted_spans", **_ENTRY),
        "refused": stack.collector_metric("otelcol_receiver_refused_spans", **_ENTRY),
        "file": stack.collector_metric("otelcol_exporter_sent_spans", exporter="file/traces"),
        "jaeger": jaeger_received(stack),
    }
    gen0 = _children_cpu()
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    sent = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=seconds + EXPORT_TIMEOUT_S + 60,
        check=False,
    )
    send_wall = time.monotonic() - wall0

    def delta(name: str) -> float:
        if name == "jaeger":
            return jaeger_received(stack) - before[name]
        if name == "file":
            now = stack.collector_metric("otelcol_exporter_sent_spans", exporter="file/traces")
            return now - before[name]
        return stack.collector_metric(f"otelcol_receiver_{name}_spans", **_ENTRY) - before[name]

    def delivered() -> bool:
        accepted = delta("accepted")
        return accepted > 0 and delta("jaeger") >= accepted and delta("file") >= accepted

    wait_until(delivered, DRAIN_S)
    wall = time.monotonic() - wall0
    accepted = delta("accepted")
    result = {
        "rate": rate,
        # per second of paced sending: a generator that sends whole requests goes on a
        # little past `seconds` at the asked rate, which is then the most it achieved
        "achieved": accepted / max(seconds, accepted / rate),
        "send_wall": send_wall,
        "accepted": accepted,
        "refused": delta("refused"),
        "jaeger": delta("jaeger"),
        "file": delta("file"),
        "cores": (cpu_seconds(pid) - cpu0) / wall,
        "rss_mib": peak_rss_bytes(pid) / 2**20,
        "generator_cores": (_children_cpu() - gen0) / send_wall,
    }
    # Lossless is about the pipeline: nothing refused, everything accepted delivered. The
    # rate is what the collector accepted per second of sending (the generator shares the
    # cores and may fall short of the pace asked for).
    result["lossless"] = float(
        result["refused"] == 0 and result["jaeger"] >= accepted and result["file"] >= accepted
    )
    say(
        f"rate {rate:.0f}/s: accepted {accepted:.0f} ({result['achieved']:.0f}/s), refused "
        f"{result['refused']:.0f}, Jaeger {result['jaeger']:.0f}, file {result['file']:.0f}, "
        f"{result['cores']:.2f} cores, peak RSS {result['rss_mib']:.0f} MiB; generator "
        f"{result['generator_cores']:.2f} cores ({Path(command[0]).name}, exit "
        f"{sent.returncode}: {sent.stdout.strip()[-200:]})"
    )
    return result


def _children_cpu() -> float:
    """User + system CPU seconds of the waited-for child processes (the generators)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(options: Options) -> list[Result]:
    """Step the rate up until a step loses data; report the best lossless step."""
    rates = (5_000.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0, 60_000.0)
    seconds = 5.0 if options.quick else 10.0
    steps: list[dict[str, float]] = []
    with bench_stack(("jaeger", "collector", "prometheus")) as stack:
        for rate in rates:  # bounded: six steps, each bounded in time
            step = _one_rate(stack, rate, seconds, _blast(stack, rate, seconds))
            steps.append(step)
            if not step["lossless"]:
                break
            if len(steps) > 1 and step["achieved"] < 1.05 * steps[-2]["achieved"]:
                break  # the generator cannot produce more on this machine
        # The same pipeline from an independent client, at the target rate: telemetrygen
        # builds every span with the Go SDK, so it needs more CPU than the collector and
        # shows where a real client would saturate a two-core machine first.
        gen = str(telemetrygen())
        cross = _one_rate(
            stack, TARGET_SPANS_S, seconds, _telemetrygen(gen, stack, TARGET_SPANS_S, seconds)
        )
    lossless = [s for s in steps if s["lossless"]]
    # The target is a rate the collector sustains inside its budget: the highest lossless
    # step whose CPU and (peak) RSS stay within it. Steps above it show the headroom.
    within = [s for s in lossless if s["cores"] <= MAX_CORES and s["rss_mib"] <= MAX_RSS_MIB]
    best = max(within, key=lambda s: s["achieved"]) if within else steps[0]
    best_rate = best["achieved"] if within else 0.0
    ok = best_rate >= TARGET_SPANS_S
    failed = [s for s in steps if not s["lossless"]]
    tried = ", ".join(f"{s['rate']:.0f}" for s in steps)
    note = (
        f"collector at the best lossless step within budget: {best['cores']:.2f} cores, peak "
        f"RSS {best['rss_mib']:.0f} MiB (generator {best['generator_cores']:.2f} cores); steps "
        f"tried {tried} spans/s"
    )
    if lossless:
        top = max(lossless, key=lambda s: s["achieved"])
        note += (
            f"; highest lossless step {top['achieved']:.0f} spans/s at {top['cores']:.2f} "
            f"cores, {top['rss_mib']:.0f} MiB"
        )
    if failed:
        f = failed[0]
        note += (
            f"; first lossy step {f['rate']:.0f}/s: accepted {f['accepted']:.0f}, refused "
            f"{f['refused']:.0f}, Jaeger {f['jaeger']:.0f}, file {f['file']:.0f}"
        )
    cross_note = (
        f"asked {TARGET_SPANS_S:.0f}/s: accepted {cross['accepted']:.0f} "
        f"({cross['achieved']:.0f}/s), refused {cross['refused']:.0f}, Jaeger "
        f"{cross['jaeger']:.0f}, file {cross['file']:.0f}; collector {cross['cores']:.2f} "
        f"cores, {cross['rss_mib']:.0f} MiB; telemetrygen {cross['generator_cores']:.2f} cores"
    )
    return [
        Result(
            "collector capacity, lossless within 1 core and 300 MiB (pre-encoded OTLP/gRPC)",
            best_rate,
            TARGET_SPANS_S,
            "spans/s",
            best_rate / TARGET_SPANS_S,
            "≥ 1.00 of 20k spans/s",
            ok,
            note,
        ),
        Result(
            "collector capacity cross-check, lossless (telemetrygen)",
            cross["achieved"],
            TARGET_SPANS_S,
            "spans/s",
            cross["achieved"] / TARGET_SPANS_S,
            "lossless (the rate is the generator's)",
            bool(cross["lossless"]),
            cross_note,
        ),
    ]
