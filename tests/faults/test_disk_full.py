"""Fault 11: the disk of the JSON files fills up. The file sink stops alone: every span is
still accepted and reaches Jaeger, every metric point reaches Prometheus, and the
AstraFileSinkFailing alert names the failing file exporter within a minute.

A second stack (Jaeger, collector, Prometheus with the shipped alert rules) whose file
exporters write to a 3 MiB tmpfs the test mounts and fills; the collector's queues stay on
the ordinary disk, as docs/faults.md asks of a production setup.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._support import (
    SpanSource,
    collector_metric,
    derived_collector_config,
    file_span_id_counts,
    manual_meter_provider,
    prom_query,
    second_stack,
    unique_service,
    wait_for_spans,
)
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

FS_SIZE = "3m"
LEFT_FREE = 64 * 1024
SENDS = 60
SPANS_PER_SEND = 50
SEND_EVERY_S = 0.25
ALERT_WITHIN_S = 60.0
ALERT = "AstraFileSinkFailing"


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 3 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path_factory.mktemp("small-disk")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs for the disk-full test: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30, check=False)


@pytest.fixture(scope="module")
def disk_full_stack(
    small_disk: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """Jaeger, Prometheus and a collector whose three files are on the small tmpfs."""

    def files_on_small_disk(config: dict[str, Any]) -> None:
        for signal in ("traces", "metrics", "logs"):
            config["exporters"][f"file/{signal}"]["path"] = str(small_disk / f"{signal}.jsonl")

    root = tmp_path_factory.mktemp("disk-full")
    config = derived_collector_config(root / "otel-collector.yaml", files_on_small_disk)
    with second_stack(
        root / "state",
        components=("jaeger", "collector", "prometheus"),
        collector_config=config,
    ) as running:
        yield running


def _fill(disk: Path) -> None:
    """Leave ``LEFT_FREE`` bytes free on ``disk``."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    with (disk / "filler").open("wb") as filler:
        filler.write(b"\0" * max(0, free - LEFT_FREE))


def _firing(stack: RunningStack) -> set[str]:
    """Exporters named by a firing AstraFileSinkFailing alert."""
    alerts = prom_query(stack, f'ALERTS{{alertname="{ALERT}", alertstate="firing"}}')
    return {a["metric"].get("exporter", "") for a in alerts}


def test_full_disk_stops_only_the_file_sink(
    disk_full_stack: RunningStack, small_disk: Path
) -> None:
    """With the files' disk full, 3,000 spans sent over 15 s are all accepted and in
    Jaeger, every metric export reaches Prometheus, the file exporters report failures
    (live metric), and the alert naming file/traces fires within 60 s; once there is space
    again, new spans reach the file without a restart."""
    stack = disk_full_stack
    service = unique_service("disk-full")
    _fill(small_disk)
    source = SpanSource(stack.otlp_grpc, service, pad=200, timeout=5.0)
    provider = manual_meter_provider(stack.otlp_grpc, service)
    counter = provider.get_meter("astra.faults").create_counter("astra.fault.disk_full")
    began = time.monotonic()
    first_alert: float | None = None
    try:
        for i in range(SENDS):  # bounded in count (and by the pause, in time)
            assert source.send(SPANS_PER_SEND), f"send {i} refused with the files' disk full"
            counter.add(1)
            assert provider.force_flush(10_000), "a metric export failed"
            if first_alert is None and "file/traces" in _firing(stack):
                first_alert = time.monotonic() - began
            time.sleep(max(0.0, began + (i + 1) * SEND_EVERY_S - time.monotonic()))
    finally:
        provider.shutdown()
        source.close()
    failed = collector_metric(stack, "otelcol_exporter_send_failed_spans", exporter="file/traces")
    assert (failed or 0) > 0, "the file exporter never failed: the disk did not fill"
    wait_for_spans(stack, service, set(source.accepted), timeout=60)
    selector = f'astra_fault_disk_full_total{{service_name="{service}"}}'
    wait_for(
        lambda: (
            True
            if [r for r in prom_query(stack, selector) if r["value"][1] == str(SENDS)]
            else None
        ),
        f"Prometheus to show all {SENDS} metric exports",
        30,
    )
    if first_alert is None:
        wait_for(
            lambda: True if "file/traces" in _firing(stack) else None,
            f"{ALERT} firing for file/traces",
            max(1.0, began + ALERT_WITHIN_S - time.monotonic()),
        )
        first_alert = time.monotonic() - began
    assert first_alert <= ALERT_WITHIN_S, f"the alert fired after {first_alert:.0f} s"
    # Space again: the file sink writes new spans without a restart.
    (small_disk / "filler").unlink()
    after = SpanSource(stack.otlp_grpc, service)
    try:
        assert after.send(SPANS_PER_SEND)
    finally:
        after.close()
    wait_for(
        lambda: (
            True if set(after.accepted) <= file_span_id_counts(small_disk, service).keys() else None
        ),
        "spans sent after the disk had space again in traces.jsonl",
        30,
    )
