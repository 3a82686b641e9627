"""Fault 7: under sustained load the JSON-lines files stay within the configured rotation
limits (size per file, number of backups), and the newest file keeps receiving data.

The shipped limits (50 MB x 3 backups) take minutes of load to reach, so this runs a
second collector whose config is the shipped one with ``file/traces`` rotation lowered to
1 MB x 2 backups.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._support import (
    SpanSource,
    derived_collector_config,
    second_stack,
    unique_service,
)
from _support.stack import RunningStack, wait_for

pytestmark = pytest.mark.e2e

MAX_MEGABYTES = 1
MAX_BACKUPS = 2
MAX_BYTES = MAX_MEGABYTES * 1024 * 1024
# Write about four times what the files may keep, so rotation and pruning both happen.
TARGET_WRITTEN = 4 * (MAX_BACKUPS + 1) * MAX_BYTES // 3
LOAD_LIMIT_S = 90.0
SPANS_PER_SEND = 100
PAD = 200


def _small_rotation(config: dict[str, Any]) -> None:
    config["exporters"]["file/traces"]["rotation"] = {
        "max_megabytes": MAX_MEGABYTES,
        "max_backups": MAX_BACKUPS,
    }
    # One line per export: the file queue's batches must stay well under a file's size
    # (the exporter refuses a single write larger than max_megabytes).
    batch = config["exporters"]["otlp_grpc/file_queue"]["sending_queue"]["batch"]
    batch.update(min_size=64 * 1024, max_size=128 * 1024)


@pytest.fixture(scope="module")
def small_rotation_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Jaeger and a collector whose traces file rotates at 1 MB keeping 2 backups."""
    root = tmp_path_factory.mktemp("rotation")
    config = derived_collector_config(root / "otel-collector.yaml", _small_rotation)
    with second_stack(root / "state", collector_config=config) as running:
        yield running


def _trace_files(stack: RunningStack) -> list[Path]:
    folder = stack.traces_file.parent
    return sorted(p for p in folder.iterdir() if p.name.startswith("traces"))


def _sizes(stack: RunningStack) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in _trace_files(stack)}


def test_trace_files_stay_within_size_and_count(small_rotation_stack: RunningStack) -> None:
    """Writing ~4x the retained volume leaves at most 1 + 2 files of at most 1 MB each,
    checked throughout the load, and the current file still grows at the end."""
    stack = small_rotation_stack
    source = SpanSource(stack.otlp_grpc, unique_service("rotation"), pad=PAD)
    written = 0
    worst_count, worst_size = 0, 0
    seen: set[str] = set()
    start = time.monotonic()
    try:
        for _ in range(2000):  # bounded in count and time
            if written >= TARGET_WRITTEN or time.monotonic() - start > LOAD_LIMIT_S:
                break
            assert source.send(SPANS_PER_SEND)
            written += SPANS_PER_SEND * (PAD + 400)  # lower bound of one span's JSON
            sizes = _sizes(stack)
            seen.update(sizes)
            worst_count = max(worst_count, len(sizes))
            worst_size = max([worst_size, *sizes.values()])
            time.sleep(0.1)
        assert source.send(SPANS_PER_SEND)
    finally:
        source.close()
    assert written >= TARGET_WRITTEN, "the load did not reach its volume in time"
    last = f'"spanId":"{source.accepted[-1]}"'
    wait_for(
        lambda: True if last in stack.traces_file.read_text() else None,
        "the last span in the current traces file",
        15,
    )
    final = _sizes(stack)
    assert len(seen) > MAX_BACKUPS + 1, f"rotation never pruned a backup: {sorted(seen)}"
    assert worst_count <= MAX_BACKUPS + 1, worst_count
    assert len(final) <= MAX_BACKUPS + 1, final
    assert max([worst_size, *final.values()]) <= MAX_BYTES, final
