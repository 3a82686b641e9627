"""The unit tests pass on every supported dependency set (``constraints/sets.toml``)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from _support.installs import (
    REPO,
    DependencySet,
    build_wheel,
    dependency_sets,
    installed_versions,
    progress,
    run,
    set_venv,
    tool_env,
    wheel_site,
)

pytestmark = pytest.mark.e2e  # installs from PyPI (cached) and runs the suite again

_DEADLINE_S = 2400.0  # both sets at once; a loaded 2-core machine took 17 min


@pytest.mark.timeout(_DEADLINE_S + 300)
def test_unit_tests_pass_on_the_oldest_and_the_newest_supported_sets(tmp_path: Path) -> None:
    """``pytest -m "not e2e"`` passes in each set's own cached venv, with this checkout's
    wheel installed non-editable; the venvs really hold the set's pinned releases (the
    oldest is SDK 1.40, the newest the default set). Both sets run at the same time."""
    sets = dependency_sets()
    assert {"oldest", "newest"} <= set(sets)
    wheel = build_wheel()
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    try:
        failures = _run_sets(sets, wheel, tmp_path, runs)
    finally:
        for proc, _log in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not failures, "\n".join(failures)


def test_the_unit_runs_import_the_installed_wheel_not_the_checkout(tmp_path: Path) -> None:
    """In a set venv with the wheel on PYTHONPATH, astra_otel comes from the wheel (a
    non-editable install), and its stack files are real files inside it."""
    dep_set = dependency_sets()["oldest"]
    wheel = build_wheel()
    python = set_venv(dep_set, wheel)
    site = wheel_site(wheel, tmp_path / "site")
    out = run(
        [
            str(python),
            "-c",
            "import astra_otel.stack.settings as s; print(s.__file__); "
            "print(s.FILES_DIR.joinpath('collector', 'otel-collector.yaml').is_symlink())",
        ],
        what="importing astra_otel",
        cwd=tmp_path,
        env=tool_env({"PYTHONPATH": str(site)}),
    )
    location, link = out.split()
    assert Path(location).is_relative_to(site)
    assert link == "False"


def _run_sets(
    sets: dict[str, DependencySet],
    wheel: Path,
    tmp_path: Path,
    runs: dict[str, tuple[subprocess.Popen[bytes], Path]],
) -> list[str]:
    """Start every set's unit run, then wait for all; the failures' output tails."""
    for name, dep_set in sets.items():
        python = set_venv(dep_set, wheel)
        versions = installed_versions(python)
        for pkg in ("opentelemetry-sdk", "opentelemetry-api", "fastapi", "sqlalchemy"):
            assert versions.get(pkg) == dep_set.pins()[pkg], (name, pkg)
        site = wheel_site(wheel, tmp_path / f"{name}-site")
        log = tmp_path / f"{name}.log"
        cmd = [str(python.parent / "pytest"), "-m", "not e2e", "-q", "-p", "no:cacheprovider"]
        cmd += ["--durations=8"]
        progress(f"unit tests on the {name} set (SDK {versions['opentelemetry-sdk']}) ...")
        with log.open("wb") as out:
            runs[name] = (
                subprocess.Popen(
                    [*cmd, *dep_set.pytest_args],
                    cwd=REPO,
                    env=tool_env({"PYTHONPATH": str(site)}),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                ),
                log,
            )
    deadline = time.monotonic() + _DEADLINE_S
    failures = []
    for name, (proc, log) in runs.items():
        try:
            code = proc.wait(max(deadline - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        lines = log.read_text(errors="replace").splitlines()
        progress(f"{name}: {lines[-1] if lines else 'no output'}")
        if code != 0:
            failures.append(f"--- {name} (exit {code}):\n" + "\n".join(lines[-60:]))
    return failures
