"""Each setting is declared once: the option dataclasses, setup()'s keywords, Settings and
the docs generator all agree with the declarations."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import typing
from pathlib import Path
from typing import Any

import pytest

import astra_otel
from astra_otel import InstrumentationOptions, LogsOptions, MetricsOptions, TracesOptions
from astra_otel._config import setup_params
from astra_otel._config.params import Declarations, Param
from astra_otel._config.settings import ExportSettings, Settings
from astra_otel._internal.config_docs import DECLARATIONS, all_params
from astra_otel.stack import settings as stack_settings
from astra_otel.stack.settings import StackSettings

PACKAGE = Path(astra_otel.__file__).parent
OPTIONS = {
    "traces": TracesOptions,
    "metrics": MetricsOptions,
    "logs": LogsOptions,
    "instrumentations": InstrumentationOptions,
}
SETUP_PARAMS = setup_params.declare.params


def _argument_types(prefix: str) -> dict[str, Any]:
    """What each argument under ``prefix`` must be annotated with: its kind's type or None."""
    return {
        p.name.removeprefix(prefix): p.kind.argument_type | None
        for p in SETUP_PARAMS
        if p.argument and p.name.startswith(prefix) and "." not in p.name.removeprefix(prefix)
    }


@pytest.mark.parametrize("group", sorted(OPTIONS))
def test_option_fields_are_the_declared_arguments(group: str) -> None:
    """Each option dataclass has exactly one field per declared argument of its group,
    annotated with the type the setting's kind accepts (or None)."""
    hints = typing.get_type_hints(OPTIONS[group])
    assert hints == _argument_types(f"{group}.")


def test_setup_keywords_are_the_declared_arguments() -> None:
    """setup()'s keywords are the top-level declared arguments plus one per option group,
    with matching annotations."""
    hints = typing.get_type_hints(astra_otel.setup)
    hints.pop("return")
    expected = _argument_types("")
    expected.update({group: cls | None for group, cls in OPTIONS.items()})
    assert hints == expected
    defaults = {p.default for p in inspect.signature(astra_otel.setup).parameters.values()}
    assert defaults == {None}


def _leaf_paths(cls: type[Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            out.extend(_leaf_paths(hint, f"{prefix}{field.name}."))
        else:
            out.append(f"{prefix}{field.name}")
    return out


def test_every_settings_field_comes_from_a_declaration_or_the_export_rule() -> None:
    """A Settings field is a declared setting of the same name, or an export field of a
    signal; every declared setting is used by one of them."""
    declared = {p.name for p in SETUP_PARAMS}
    export_fields = [f.name for f in dataclasses.fields(ExportSettings)]
    paths = [p for p in _leaf_paths(Settings) if p != "inputs"]
    export_paths = {f"{s}.export.{f}" for s in setup_params.SIGNALS for f in export_fields}
    assert [p for p in paths if p not in declared and p not in export_paths] == []
    export_inputs = {f"{s}.{f}" for s in setup_params.SIGNALS for f in export_fields}
    export_inputs |= {setup_params.GENERAL_EXPORT_NAMES.get(f, f) for f in export_fields}
    assert export_inputs <= declared
    assert sorted(declared - set(paths) - export_inputs) == []


def test_every_declaring_module_is_listed_for_the_docs() -> None:
    """Every module that creates a Declarations is in config_docs.DECLARATIONS, so none of
    its settings can go undocumented."""
    declaring = [
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for path in sorted(PACKAGE.rglob("*.py"))
        if re.search(r"^\w+\s*=\s*Declarations\(", path.read_text(), re.MULTILINE)
    ]
    found = [
        value
        for module in declaring
        for value in vars(importlib.import_module(module)).values()
        if isinstance(value, Declarations)
    ]
    assert len(found) == len(declaring)
    assert {id(d) for d in found} == {id(d) for d in DECLARATIONS}


def test_names_and_variables_are_unique() -> None:
    """No two settings of a group share a name, and no variable feeds two settings."""
    params: list[Param[Any]] = all_params()
    keys = [f"{p.group}.{p.name}" for p in params]
    variables = [var for p in params for var in p.env]
    assert len(keys) == len(set(keys))
    assert len(variables) == len(set(variables))


def test_our_own_variables_are_named_astra_otel() -> None:
    """Every variable is a standard OTEL_* one or one of ours, named ASTRA_OTEL_*."""
    assert [
        v for p in all_params() for v in p.env if not v.startswith(("OTEL_", "ASTRA_OTEL_"))
    ] == []


def test_every_stack_setting_is_a_stack_settings_field() -> None:
    """Each declared stack setting is the StackSettings field of the same name."""
    fields = {f.name for f in dataclasses.fields(StackSettings)}
    assert [p.name for p in stack_settings.declare.params if p.name not in fields] == []
