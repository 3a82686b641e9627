"""The public API: what `astra_otel` exports is exactly what `__all__` lists."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import astra_otel


def test_all_names_are_importable() -> None:
    """Every name in __all__ exists on the package."""
    missing = [name for name in astra_otel.__all__ if not hasattr(astra_otel, name)]
    assert missing == []


def test_public_attributes_are_listed_in_all() -> None:
    """Every public non-module attribute of the package is in __all__ (nothing leaks)."""
    public = {
        name
        for name, value in vars(astra_otel).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(astra_otel.__all__)


def test_setup_is_keyword_only() -> None:
    """setup() takes keyword arguments only and returns a Telemetry handle."""
    sig = inspect.signature(astra_otel.setup)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in sig.parameters.values())
    assert sig.return_annotation in ("Telemetry", astra_otel.Telemetry)


def test_errors_keep_their_public_names() -> None:
    """The error classes stay exported and keep their hierarchy."""
    assert issubclass(astra_otel.ConfigError, astra_otel.AstraOtelError)
    assert issubclass(astra_otel.SettingsConflictError, astra_otel.AstraOtelError)


def test_type_checkers_see_every_public_name() -> None:
    """The TYPE_CHECKING imports of the lazy package root re-export exactly __all__."""
    tree = ast.parse(Path(astra_otel.__file__).read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
    )
    names = [
        alias.asname
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name
    ]
    assert sorted(names) == sorted(astra_otel.__all__)


def test_unknown_names_raise_attribute_error() -> None:
    """A name the package does not export raises AttributeError, as a plain module does."""
    with pytest.raises(AttributeError, match="no attribute 'Setup'"):
        _ = astra_otel.Setup  # type: ignore[attr-defined]
    assert set(astra_otel.__all__) <= set(dir(astra_otel))
