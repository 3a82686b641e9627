"""Throughput without loss, and CPU per exported span: one Python process emitting spans
(5 attributes each) through a real collector into Jaeger, ``setup()`` vs the raw SDK with
its default settings (``benchmarks/bench_pipeline_emitter.py``), in the same run.

* Lossless rate: paced rates step up; a step is lossless when the emitter kept the pace
  and Jaeger received (its own receiver counter) every span emitted. Ours and raw
  alternate at each step. Target: ours >= 2x raw.
* CPU per exported span: both paced at 5,000 spans/s, whole-process CPU (export thread
  and shutdown flush included) divided by the spans Jaeger received, alternating rounds,
  median.
  Target: ours <= 0.6x raw.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from benchmarks.__main__ import Options, Result
from benchmarks.bench_pipeline_common import bench_stack, jaeger_received, say, wait_until
from tests._support.stack import RunningStack

RATES = (1_000.0, 2_000.0, 4_000.0, 6_000.0, 8_000.0, 12_000.0, 16_000.0, 24_000.0)
CPU_RATE = 5_000.0
MODES = ("ours", "raw")
KEEP_PACE = 0.97  # a step counts only if the emitter emitted this share of rate x seconds


def emit(stack: RunningStack, mode: str, rate: float, seconds: float) -> dict[str, Any]:
    """Run the emitter once; its report plus the spans Jaeger received from it."""
    before = jaeger_received(stack)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_pipeline_emitter",
            mode,
            stack.otlp_http,
            f"bench-{mode}-{uuid.uuid4().hex[:6]}",
            str(rate),
            str(seconds),
        ],
        capture_output=True,
        text=True,
        timeout=seconds * 3 + 120,
        check=True,
    )
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    emitted = int(report["emitted"])
    # Wait until everything arrived, or nothing more arrived for 3 s (bounded: 30 s).
    seen = {"value": -1.0, "since": time.monotonic()}

    def settled() -> bool:
        now = jaeger_received(stack) - before
        if now != seen["value"]:
            seen["value"], seen["since"] = now, time.monotonic()
        return now >= emitted or time.monotonic() - seen["since"] >= 3.0

    wait_until(settled, 30.0, every=0.25)
    report["received"] = jaeger_received(stack) - before
    report["kept_pace"] = emitted >= KEEP_PACE * rate * seconds
    report["lossless"] = report["kept_pace"] and report["received"] >= emitted
    return report


def _lossless_rates(stack: RunningStack, seconds: float) -> dict[str, float]:
    best = dict.fromkeys(MODES, 0.0)
    alive = set(MODES)
    for rate in RATES:  # bounded: eight steps per mode
        for mode in MODES if int(rate) % 2 else reversed(MODES):
            if mode not in alive:
                continue
            r = emit(stack, mode, rate, seconds)
            say(
                f"{mode:4} {rate:6.0f}/s: emitted {r['emitted']}, Jaeger received "
                f"{r['received']:.0f}, cpu {r['cpu']:.1f} s, shutdown {r['shutdown']:.1f} s"
            )
            if r["lossless"]:
                best[mode] = rate
            else:
                alive.discard(mode)
        if not alive:
            break
    return best


def _cpu_per_span(stack: RunningStack, seconds: float, rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {m: [] for m in MODES}
    lost: dict[str, float] = dict.fromkeys(MODES, 0.0)
    for i in range(rounds):
        for mode in MODES if i % 2 == 0 else reversed(MODES):
            r = emit(stack, mode, CPU_RATE, seconds)
            # Per *exported* span: spans the pipeline dropped cost CPU too but count nothing.
            samples[mode].append(r["cpu"] / max(min(r["received"], r["emitted"]), 1) * 1e6)
            lost[mode] += max(r["emitted"] - r["received"], 0)
            say(
                f"{mode:4} cpu/exported span {samples[mode][-1]:.1f} µs (emitted "
                f"{r['emitted']}, received {r['received']:.0f})"
            )
    return {
        **{m: statistics.median(v) for m, v in samples.items()},
        **{f"{m}_lost": v for m, v in lost.items()},
    }


def run(options: Options) -> list[Result]:
    """Lossless rate and CPU per span, ours vs raw SDK defaults, same collector."""
    seconds = 3.0 if options.quick else 5.0
    rounds = 2 if options.quick else 4
    with bench_stack(("jaeger", "collector")) as stack:
        best = _lossless_rates(stack, seconds)
        cpu = _cpu_per_span(stack, seconds * 2, rounds)
    tput_ratio = best["ours"] / best["raw"] if best["raw"] else float("inf")
    cpu_ratio = cpu["ours"] / cpu["raw"]
    top = RATES[-1]
    return [
        Result(
            "lossless span rate, one process",
            best["ours"],
            best["raw"],
            "spans/s",
            tput_ratio,
            "≥ 2.00",
            tput_ratio >= 2.0,
            f"highest step sent == received in Jaeger; steps {RATES[0]:.0f}..{top:.0f}/s, "
            f"{seconds:.0f} s each",
        ),
        Result(
            f"CPU per exported span at {CPU_RATE:.0f}/s",
            cpu["ours"],
            cpu["raw"],
            "µs",
            cpu_ratio,
            "≤ 0.60",
            cpu_ratio <= 0.6,
            f"median of {rounds} alternating rounds of {seconds * 2:.0f} s; spans lost: "
            f"ours {cpu['ours_lost']:.0f}, raw {cpu['raw_lost']:.0f}",
        ),
    ]
