"""The SDK's own encoder tests pass with our encoders substituted, every call compared
byte for byte with the SDK's encoding (``sdk_encoder_swap.py``).

The tests come from the sdist of ``opentelemetry-exporter-otlp-proto-common`` at the
version installed next to the interpreter under test, fetched and cached at test time.
Its metrics tests are left out: metrics go through the SDK's own encoder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ._sdists import installed_version, upstream_sdist

DISTRIBUTION = "opentelemetry-exporter-otlp-proto-common"
SWAPPED = {"encode_spans", "encode_logs", "_encode_attributes", "_encode_value", "_encode_status"}
# Tests that exercise what once differed; each must exist and pass.
# (Their names in every supported release, 1.40 to 1.45.)
KEY_TESTS = (
    "test_trace_encoder.py::TestOTLPTraceEncoder::test_encode_spans",
    "test_attribute_encoder.py::TestOTLPAttributeEncoder::test_encode_attributes_error_logs_key",
    "test_log_encoder.py::TestOTLPLogEncoder::test_dropped_attributes_count",
)
PLUGIN_DIR = Path(__file__).parent
REPO = PLUGIN_DIR.parent.parent


def _interpreters() -> list[str]:
    return [sys.executable]


def run_upstream(python: str, tmp_path: Path, **env: str) -> tuple[int, dict[str, Any], str]:
    """Run the upstream encoder tests under ``python`` with the swap plugin."""
    sdist = upstream_sdist(DISTRIBUTION, installed_version(python, DISTRIBUTION), python)
    report = tmp_path / "report.json"
    environ = dict(os.environ)
    environ.pop("PYTEST_ADDOPTS", None)
    environ["PYTHONPATH"] = os.pathsep.join([str(PLUGIN_DIR), str(REPO)])
    environ["ASTRA_OTEL_SWAP_REPORT"] = str(report)
    environ.update(env)
    cmd = [python, "-m", "pytest", "-p", "sdk_encoder_swap", "-p", "no:cacheprovider", "-q"]
    cmd += ["--rootdir", str(sdist), "tests", "--ignore", "tests/test_metrics_encoder.py"]
    done = subprocess.run(
        cmd, cwd=sdist, env=environ, capture_output=True, text=True, timeout=240, check=False
    )
    data = json.loads(report.read_text()) if report.exists() else {}
    return done.returncode, data, done.stdout + done.stderr


@pytest.mark.parametrize("python", _interpreters())
def test_the_sdks_encoder_tests_pass_on_our_bytes(python: str, tmp_path: Path) -> None:
    """Every upstream encoder test passes, every swapped function was called and gave the
    SDK's bytes (fresh and through a warm encoder), and its log records match."""
    code, report, output = run_upstream(python, tmp_path)
    assert code == 0, output
    assert report["mismatches"] == [], output
    assert set(report["swapped"]) == SWAPPED
    assert set(report["calls"]) == SWAPPED, f"never called: {SWAPPED - set(report['calls'])}"
    outcomes = report["outcomes"]
    assert len(outcomes) >= 8
    assert set(outcomes.values()) == {"passed"}, outcomes
    for test in KEY_TESTS:
        assert outcomes.get(f"tests/{test}") == "passed", test


def test_the_comparison_catches_a_single_wrong_byte(tmp_path: Path) -> None:
    """A span encoder one byte off fails the upstream run with a recorded mismatch (the
    harness is not vacuous)."""
    code, report, output = run_upstream(
        sys.executable, tmp_path, ASTRA_OTEL_SWAP_SABOTAGE="encode_spans"
    )
    assert code != 0, output
    assert {m["function"] for m in report["mismatches"]} == {"encode_spans"}
    failed = {test for test, outcome in report["outcomes"].items() if outcome == "failed"}
    assert f"tests/{KEY_TESTS[0]}" in failed
