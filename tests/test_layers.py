"""The import graph runs downhill: the CLI, the stack and the settings layer never load the
OpenTelemetry SDK (docs/architecture.md draws the layers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Run in a fresh interpreter: what one import loads, and which at-fork hooks it registers
# (by the module that registered them; the standard library's own, e.g. random's, are not
# ours to judge).
_PROBE = """
import json, os, sys
hooks = []
_register = os.register_at_fork
def _recording(**kwargs):
    hooks.append(sys._getframe(1).f_globals.get("__name__", "?"))
    _register(**kwargs)
os.register_at_fork = _recording
import {module}
print(json.dumps({{"modules": sorted(sys.modules), "hooks": hooks}}))
"""


def _load(module: str) -> tuple[list[str], list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    data = json.loads(out.stdout)
    return data["modules"], data["hooks"]


def _ours(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in ("astra_otel", "opentelemetry")


@pytest.mark.parametrize(
    "module", ["astra_otel.cli", "astra_otel.stack", "astra_otel", "astra_otel._config.settings"]
)
def test_cli_stack_and_settings_load_no_opentelemetry(module: str) -> None:
    """Importing the CLI, the stack, the package root or the settings layer loads no
    opentelemetry module at all, no requests, and registers no at-fork hook of ours."""
    modules, hooks = _load(module)
    assert [m for m in modules if m.startswith("opentelemetry")] == []
    assert "requests" not in modules
    assert [h for h in hooks if _ours(h)] == []


def test_catalogue_is_api_only() -> None:
    """Importing the catalogue loads the OpenTelemetry API but no SDK module."""
    modules, hooks = _load("astra_otel.catalogue")
    assert "opentelemetry.metrics" in modules
    assert [m for m in modules if m.startswith("opentelemetry.sdk")] == []
    assert [h for h in hooks if _ours(h)] == []


def test_public_names_load_on_first_use() -> None:
    """astra_otel.setup is importable from the root; only then is the SDK loaded."""
    modules, _ = _load("astra_otel; astra_otel.setup")
    assert "opentelemetry.sdk.trace" in modules


def test_import_contracts_hold() -> None:
    """lint-imports keeps the layers of docs/architecture.md ([tool.importlinter])."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
