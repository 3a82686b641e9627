"""Render ``docs/configuration.md`` from the registered :class:`Param`s.

``python -m astra_otel._internal.config_docs > docs/configuration.md`` regenerates it; a
test fails when the file and the registry disagree.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Iterable

import astra_otel
from astra_otel._internal.params import Param, all_params

__all__ = ["import_all_settings", "render"]

# Modules that only run things (entry points, the demo app) are not imported for docs.
_SKIP = ("__main__", "astra_otel.demo")


def import_all_settings() -> None:
    """Import every astra_otel module so each ``register(...)`` has run."""
    for info in pkgutil.walk_packages(astra_otel.__path__, "astra_otel."):
        if info.name.endswith(_SKIP[0]) or info.name.startswith(_SKIP[1]):
            continue
        importlib.import_module(info.name)


_HEADER = """# Configuration reference

Generated from the settings registry (`astra_otel/_internal/config_params.py` and the other
`register(...)` calls) by `python -m astra_otel._internal.config_docs > docs/configuration.md`;
`tests/_internal/test_config_docs.py` fails when this file is out of date.

Resolution order for each setting: keyword argument > the first environment variable
listed that is set and non-empty > default. Durations given as arguments are seconds;
the standard `OTEL_*` duration variables are milliseconds, as the OpenTelemetry
specification says. A bad value raises `astra_otel.ConfigError` naming the argument or
variable, the value and what is accepted.

`setup()` arguments: the flat names below are keyword arguments of `setup()`; names
`traces.*`, `metrics.*`, `logs.*`, `instrumentations.*` are fields of `TracesOptions`,
`MetricsOptions`, `LogsOptions` and `InstrumentationOptions` (e.g.
`setup(traces=TracesOptions(sampler_arg=0.25))`). Some are environment-only.
"""


def _fmt_default(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        if value and all(isinstance(v, tuple) for v in value):
            return "`" + ",".join(f"{k}={v}" for k, v in value) + "`"
        return "`" + ",".join(str(v) for v in value) + "`" if value else "(empty)"
    return f"`{value}`"


def _row(param: Param[object]) -> str:
    env = "<br>".join(f"`{var}`" for var in param.env)
    cells = [f"`{param.name}`", env, _fmt_default(param.default), param.accepted, param.doc]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def render(params: Iterable[Param[object]] | None = None) -> str:
    """The whole markdown page for ``params`` (default: every registered setting)."""
    if params is None:
        import_all_settings()
        params = all_params()
    params = list(params)
    groups: dict[str, list[Param[object]]] = {}
    for param in params:
        groups.setdefault(param.group, []).append(param)
    out = [_HEADER]
    for group in sorted(groups):
        out.append(f"\n## Group `{group}`\n")
        out.append("| setting | environment | default | accepted | meaning |")
        out.append("|---|---|---|---|---|")
        out.extend(_row(p) for p in groups[group])
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
