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
PRUNE_S = 2.0


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
    sizes: dict[str, int] = {}
    for path in _trace_files(stack):
        try:
            sizes[path.name] = path.stat().st_size
        except FileNotFoundError:  # pruned between the listing and the stat
            continue
    return sizes


def _pruned_sizes(stack: RunningStack) -> tuple[dict[str, int], int]:
    """The files once pruning has caught up, and how many were seen before it did.

    The exporter's rotating writer (timberjack) renames the full file and opens a new one
    in the write path, then deletes the oldest backup in a background goroutine: for a moment
    there is one file more than the limit. The limit must hold again within PRUNE_S.
    """
    sizes = _sizes(stack)
    first = len(sizes)
    deadline = time.monotonic() + PRUNE_S
    while len(sizes) > MAX_BACKUPS + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        sizes = _sizes(stack)
    return sizes, first


def test_trace_files_stay_within_size_and_count(small_rotation_stack: RunningStack) -> None:
    """Writing ~4x the retained volume leaves at most 1 + 2 files of at most 1 MB each,
    checked throughout the load (one more only until the background pruning catches up),
    and the current file still grows at the end."""
    stack = small_rotation_stack
    source = SpanSource(stack.otlp_grpc, unique_service("rotation"), pad=PAD)
    written = 0
    worst_count, worst_size, worst_unpruned = 0, 0, 0
    seen: set[str] = set()
    start = time.monotonic()
    try:
        for _ in range(2000):  # bounded in count and time
            if written >= TARGET_WRITTEN or time.monotonic() - start > LOAD_LIMIT_S:
                break
            assert source.send(SPANS_PER_SEND)
            written += SPANS_PER_SEND * (PAD + 400)  # lower bound of one span's JSON
            sizes, unpruned = _pruned_sizes(stack)
            seen.update(sizes)
            worst_count = max(worst_count, len(sizes))
            worst_unpruned = max(worst_unpruned, unpruned)
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
    assert worst_count <= MAX_BACKUPS + 1, f"not pruned within {PRUNE_S} s: {worst_count}"
    assert worst_unpruned <= MAX_BACKUPS + 2, worst_unpruned
    assert len(final) <= MAX_BACKUPS + 1, final
    assert max([worst_size, *final.values()]) <= MAX_BYTES, final
