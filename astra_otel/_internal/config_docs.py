"""Render ``docs/configuration.md`` from the declared settings.

``python -m astra_otel._internal.config_docs > docs/configuration.md`` regenerates it; a
test fails when the file and the declarations disagree. The modules that declare settings
are listed here, one import each: a module that declares settings and is not listed has
its settings undocumented, which ``tests/_config/test_declarations.py`` catches.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from astra_otel._config import setup_params
from astra_otel._config.params import Declarations, Param
from astra_otel.catalogue import guard
from astra_otel.stack import settings as stack_settings

__all__ = ["DECLARATIONS", "all_params", "conformance_rows", "render"]

# Every module's declarations, in the order the page shows them.
DECLARATIONS: tuple[Declarations, ...] = (
    guard.declare,
    setup_params.declare,
    stack_settings.declare,
)


def all_params() -> list[Param[Any]]:
    """Every declared setting."""
    return [param for declarations in DECLARATIONS for param in declarations.params]


_HEADER = """# Configuration reference

Generated from the settings declarations (`astra_otel/_config/setup_params.py`, and the
`Declarations` of `astra_otel/catalogue/guard.py` and `astra_otel/stack/settings.py`) by
`python -m astra_otel._internal.config_docs > docs/configuration.md`;
`tests/_internal/test_config_docs.py` fails when this file is out of date.

Resolution order for each setting: keyword argument > the first environment variable
listed that is set and non-empty > default. Durations given as arguments are seconds;
the standard `OTEL_*` duration variables are milliseconds, as the OpenTelemetry
specification says. A bad value raises `astra_otel.ConfigError` naming the argument or
variable, the value and what is accepted there. Intervals, timeouts and sizes must be
greater than zero.

`setup()` arguments: the flat names below are keyword arguments of `setup()`; names
`traces.*`, `metrics.*`, `logs.*`, `instrumentations.*` are fields of `TracesOptions`,
`MetricsOptions`, `LogsOptions` and `InstrumentationOptions` (e.g.
`setup(traces=TracesOptions(sampler_arg=0.25))`). Settings marked *(environment only)*
have no argument.
"""


def _fmt_default(value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) for v in value):
            return "`" + ",".join(f"{k}={v}" for k, v in value) + "`"
        return "`" + ",".join(str(v) for v in value) + "`" if value else "(empty)"
    return f"`{value}`"


def _accepted(param: Param[Any]) -> str:
    argument = param.kind.expected(from_env=False)
    environment = param.kind.expected(from_env=True)
    if not param.argument or argument == environment:
        return environment
    return f"{argument} (argument); {environment} (environment)"


def _row(param: Param[Any]) -> str:
    env = "<br>".join(f"`{var}`" for var in param.env)
    setting = f"`{param.name}`" + ("" if param.argument else " *(environment only)*")
    cells = [setting, env, _fmt_default(param.default), _accepted(param), param.doc]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


_CONFORMANCE = """
## Standard OpenTelemetry variables

Every standard `OTEL_*` variable astra-otel knows of, and what it does with it. Each row
names the test that backs it: `tests/_config/test_conformance.py` has one case per row
(and the behaviour tests elsewhere, e.g. `tests/e2e/test_setup_e2e.py` for the exporter
selection and `OTEL_SDK_DISABLED`, go further). A variable set but *not supported* makes
`setup()` warn (`UserWarning`, naming the variable, not its value).
"""

_TESTS = "tests/_config/test_conformance.py::"


def conformance_rows() -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for param in setup_params.declare.params:
        for var in param.env:
            if var.startswith("OTEL_"):
                test = f"{_TESTS}test_standard_variable_is_read[{var}]"
                rows.append((var, f"supported: `{param.name}`", test))
    for var, what in setup_params.READ_BY_OPENTELEMETRY.items():
        test = f"{_TESTS}test_variable_read_by_opentelemetry[{var}]"
        rows.append((var, f"supported, read by the OpenTelemetry SDK/API itself: {what}", test))
    for var, why in setup_params.IGNORED.items():
        test = f"{_TESTS}test_ignored_variable_is_warned_about[{var}]"
        rows.append((var, f"not supported: {why}", test))
    return rows


def render(params: Iterable[Param[Any]] | None = None) -> str:
    """The whole markdown page for ``params`` (default: every declared setting), and the
    conformance table of the standard variables."""
    groups: dict[str, list[Param[Any]]] = {}
    for param in all_params() if params is None else params:
        groups.setdefault(param.group, []).append(param)
    out = [_HEADER]
    for group in sorted(groups):
        out.append(f"\n## Group `{group}`\n")
        out.append("| setting | environment | default | accepted | meaning |")
        out.append("|---|---|---|---|---|")
        out.extend(_row(p) for p in groups[group])
    out.append(_CONFORMANCE)
    out.append("| variable | status | tested by |")
    out.append("|---|---|---|")
    out.extend(f"| `{var}` | {status} | `{test}` |" for var, status, test in conformance_rows())
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
