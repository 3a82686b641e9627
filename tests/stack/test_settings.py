"""Stack settings: offsets, state and cache directories resolved from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from astra_otel.errors import ConfigError
from astra_otel.stack.build import collector_binary, jaeger_binary
from astra_otel.stack.settings import load_stack_settings


def test_defaults_follow_xdg() -> None:
    """State and cache default to $XDG_STATE_HOME/astra-otel and $XDG_CACHE_HOME/astra-otel."""
    s = load_stack_settings({"HOME": "/h", "XDG_STATE_HOME": "/st", "XDG_CACHE_HOME": "/ca"})
    assert (s.state_dir, s.cache_dir, s.port_offset) == (
        Path("/st/astra-otel"),
        Path("/ca/astra-otel"),
        0,
    )
    s = load_stack_settings({"HOME": "/h"})
    assert (s.state_dir, s.cache_dir) == (
        Path("/h/.local/state/astra-otel"),
        Path("/h/.cache/astra-otel"),
    )


def test_astra_variables_win_over_xdg() -> None:
    """ASTRA_OTEL_STATE_DIR / ASTRA_OTEL_CACHE_DIR / the offset come from their variables."""
    s = load_stack_settings(
        {
            "HOME": "/h",
            "XDG_STATE_HOME": "/st",
            "ASTRA_OTEL_STATE_DIR": "/mine",
            "ASTRA_OTEL_CACHE_DIR": "/cache",
            "ASTRA_OTEL_STACK_PORT_OFFSET": "300",
        }
    )
    assert (s.state_dir, s.cache_dir, s.port_offset) == (Path("/mine"), Path("/cache"), 300)


@pytest.mark.parametrize("raw", ["abc", "-1", "9001", "65535"])
def test_bad_offset_names_the_variable(raw: str) -> None:
    """An offset that is not an integer in [0, 9000] raises ConfigError naming the variable."""
    with pytest.raises(ConfigError, match=r"ASTRA_OTEL_STACK_PORT_OFFSET=.*\[0, 9000\]"):
        load_stack_settings({"HOME": "/h", "ASTRA_OTEL_STACK_PORT_OFFSET": raw})


def test_binaries_are_keyed_by_their_inputs(tmp_path: Path) -> None:
    """The cached binaries' paths change when the manifest or go.mod changes, not otherwise."""
    repo = tmp_path / "repo"
    (repo / "collector" / "jaeger").mkdir(parents=True)
    (repo / "collector" / "builder-config.yaml").write_text("dist: {name: a}\n")
    (repo / "collector" / "jaeger" / "go.mod").write_text("module x\n")
    (repo / "collector" / "jaeger" / "go.sum").write_text("")
    s = load_stack_settings({"HOME": str(tmp_path)}).with_(files_dir=repo)
    col, jae = collector_binary(s), jaeger_binary(s)
    assert col.is_relative_to(s.cache_dir)
    assert jae.is_relative_to(s.cache_dir)
    assert (collector_binary(s), jaeger_binary(s)) == (col, jae)
    (repo / "collector" / "builder-config.yaml").write_text("dist: {name: b}\n")
    assert collector_binary(s) != col
    assert jaeger_binary(s) == jae
    (repo / "collector" / "jaeger" / "go.sum").write_text("x h1:y\n")
    assert jaeger_binary(s) != jae
