"""docs/configuration.md lists every registered setting."""

from __future__ import annotations

from pathlib import Path

from astra_otel._internal.config_docs import import_all_settings, render
from astra_otel._internal.params import all_params

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_registered_param_is_documented() -> None:
    """Each Param's name and variables appear in docs/configuration.md (regenerate with
    `python -m astra_otel._internal.config_docs > docs/configuration.md`)."""
    import_all_settings()
    text = DOC.read_text()
    missing = [
        f"{p.group}.{p.name}"
        for p in all_params()
        if f"`{p.name}`" not in text or any(f"`{var}`" not in text for var in p.env)
    ]
    assert missing == []


def test_render_has_one_row_per_param() -> None:
    """The generator emits one table row per registered setting."""
    import_all_settings()
    page = render()
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) == len(all_params())
