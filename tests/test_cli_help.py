"""``astra-otel`` itself: its version, and help (never a usage error) for a bare group."""

from __future__ import annotations

import argparse
import importlib.metadata

import pytest

from astra_otel import cli


def _every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _every_parser(child)
    return found


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints the version pip installed, and exits 0."""
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert (
        capsys.readouterr().out.strip() == f"astra-otel {importlib.metadata.version('astra-otel')}"
    )


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        ([], "usage: astra-otel [-h]"),
        (["stack"], "usage: astra-otel stack [-h]"),
        (["stack", "topology"], "usage: astra-otel stack topology [-h]"),
    ],
)
def test_a_bare_group_prints_its_help(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``astra-otel``, ``astra-otel stack`` and ``astra-otel stack topology`` print their
    help on stdout and exit 0; nothing goes to stderr."""
    assert cli.main(argv) == 0
    out = capsys.readouterr()
    assert out.out.startswith(usage)
    assert "positional arguments" in out.out
    assert out.err == ""


def test_an_unknown_command_is_still_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong command name exits 2 with argparse's one-line error."""
    with pytest.raises(SystemExit) as stop:
        cli.main(["stack", "bogus"])
    assert stop.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def test_no_help_text_carries_rest_markup() -> None:
    """No help screen of any command shows reStructuredText markup (double backticks,
    ``:func:`` roles)."""
    parsers = _every_parser(cli._parser())
    assert len(parsers) > 10
    for parser in parsers:
        text = parser.format_help()
        assert "``" not in text, parser.prog
        assert ":func:" not in text and ":class:" not in text, parser.prog
