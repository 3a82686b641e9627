"""The Prometheus alert rules in dashboards/prometheus/: valid, complete and unit-tested."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

RULES_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "prometheus"
RULE_FILES = sorted(RULES_DIR.glob("*.rules.yml"))
TEST_FILES = sorted(RULES_DIR.glob("*.test.yml"))

# The alerts the project promises, by what they watch.
REQUIRED_ALERTS = {
    "AstraHighErrorRatio",
    "AstraHighP99Latency",
    "AstraCircuitBreakerOpen",
    "AstraAnomalySpike",
    "AstraCollectorRefusingData",
    "AstraCollectorExportFailing",
    "AstraExporterQueueNearlyFull",
    "AstraScrapeTargetDown",
}


def _promtool() -> str:
    # Installed with Debian's prometheus package, which `astra-otel stack build` installs
    # (make test runs it before pytest).
    path = shutil.which("promtool")
    assert path is not None, "promtool not on PATH: run `astra-otel stack build`"
    return path


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _alerts() -> dict[str, dict[str, Any]]:
    alerts: dict[str, dict[str, Any]] = {}
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts[rule["alert"]] = rule
    return alerts


def _rule_tests() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            cases.extend(test.get("alert_rule_test", []))
    return cases


def test_rule_and_test_files_exist() -> None:
    """Each rules file has a promtool unit-test file next to it."""
    assert RULE_FILES
    assert {p.name.removesuffix(".rules.yml") for p in RULE_FILES} == {
        p.name.removesuffix(".test.yml") for p in TEST_FILES
    }


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules_passes(path: Path) -> None:
    """`promtool check rules` accepts every rules file."""
    result = _run("check", "rules", path.name, cwd=RULES_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests_pass(path: Path) -> None:
    """`promtool test rules` passes: each alert fires on bad series and not on good ones."""
    result = _run("test", "rules", path.name, cwd=RULES_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_required_alerts_are_defined() -> None:
    """Every required alert is defined."""
    assert set(_alerts()) >= REQUIRED_ALERTS


@pytest.mark.parametrize("name", sorted(_alerts()))
def test_alert_has_summary_and_description_with_labels(name: str) -> None:
    """Every alert has a severity, and a summary and description naming its label values."""
    rule = _alerts()[name]
    assert rule["labels"]["severity"] in {"warning", "critical"}
    for key in ("summary", "description"):
        assert "$labels." in rule["annotations"][key], key


@pytest.mark.parametrize("name", sorted(_alerts()))
def test_every_alert_is_tested_firing_and_silent(name: str) -> None:
    """Each alert has a unit test where it fires and one where it stays silent."""
    cases = [c for c in _rule_tests() if c["alertname"] == name]
    assert any(c.get("exp_alerts") for c in cases), "no firing case"
    assert any(not c.get("exp_alerts") for c in cases), "no silent case"


def test_unit_tests_fail_when_an_alert_never_fires(tmp_path: Path) -> None:
    """The unit tests catch an alert whose expression can no longer fire."""
    for path in [*RULE_FILES, *TEST_FILES]:
        shutil.copy(path, tmp_path / path.name)
    target = tmp_path / "astra-service.rules.yml"
    doc = yaml.safe_load(target.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "AstraHighErrorRatio":
                rule["expr"] = "vector(1) == 0"
    target.write_text(yaml.safe_dump(doc))
    result = _run("test", "rules", "astra-service.test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "AstraHighErrorRatio" in result.stdout + result.stderr
