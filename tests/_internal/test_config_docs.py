"""docs/configuration.md is generated from the declared settings and kept current."""

from __future__ import annotations

from pathlib import Path

from astra_otel._internal.config_docs import all_params, conformance_rows, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_doc_is_current() -> None:
    """docs/configuration.md is exactly what the generator renders (regenerate with
    `python -m astra_otel._internal.config_docs > docs/configuration.md`)."""
    assert DOC.read_text() == render()


def test_every_declared_param_is_documented() -> None:
    """Each declared setting's name and variables appear in docs/configuration.md."""
    text = DOC.read_text()
    missing = [
        f"{p.group}.{p.name}"
        for p in all_params()
        if f"`{p.name}`" not in text or any(f"`{var}`" not in text for var in p.env)
    ]
    assert missing == []


def test_render_has_one_row_per_param_and_per_standard_variable() -> None:
    """The generator emits one settings row per declared setting, then one conformance row
    per standard variable."""
    settings, _, conformance = render().partition("## Standard OpenTelemetry variables")
    rows = [line for line in settings.splitlines() if line.startswith("| `")]
    assert len(rows) == len(all_params())
    listed = [line for line in conformance.splitlines() if line.startswith("| `")]
    assert len(listed) == len(conformance_rows())
