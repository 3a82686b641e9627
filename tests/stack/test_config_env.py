"""The ``${env:VAR:-default}`` variables of the collector and Jaeger configs, against the
component definitions: each is declared (with its meaning) in exactly one component's
``config_env``, everything declared is read by that component's config or one of its
layers, the stack sets only declared variables, and the docs name no other."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from astra_otel.stack.components import SPECS, Binaries, ComponentSpec, resolve_components
from astra_otel.stack.settings import load_stack_settings
from astra_otel.stack.topology_plan import AGENT, GATEWAY, plan_topology

from _support.config_env import env_references

REPO = Path(__file__).resolve().parents[2]
CONFIGURED = tuple(s for s in (*SPECS, AGENT, GATEWAY) if s.config_env)
PREFIX = {"collector": "OTELCOL_", "agent": "OTELCOL_AGENT_", "gateway": "OTELCOL_GATEWAY_"}
_NAMED = re.compile(r"\b(?:OTELCOL|JAEGER)_[A-Z0-9_]*[A-Z0-9]\b")
_NAMED_IN_PYTHON = re.compile(r"(?<=[\"'])(?:OTELCOL|JAEGER)_[A-Z0-9_]*[A-Z0-9](?=[\"'])")


def _files(spec: ComponentSpec) -> list[Path]:
    return [REPO / f for f in (spec.config or "", *spec.layers)]


def test_every_config_variable_is_declared_by_its_component_and_every_declared_one_read() -> None:
    """A component's config and layers read exactly the variables its config_env lists."""
    for spec in CONFIGURED:
        read = {var for path in _files(spec) for var, _ in env_references(path)}
        declared = set(spec.config_env)
        assert (spec.name, sorted(read - declared)) == (spec.name, []), "read, not declared"
        assert (spec.name, sorted(declared - read)) == (spec.name, []), "declared, not read"


def test_each_variable_is_declared_once_under_its_components_prefix() -> None:
    """No variable is listed by two components, and each carries its component's prefix
    (an agent config reading a collector variable would be configured by the wrong one)."""
    counts = Counter(var for spec in CONFIGURED for var in spec.config_env)
    assert [v for v, n in counts.items() if n > 1] == []
    for spec in CONFIGURED:
        prefix = PREFIX.get(spec.name, f"{spec.name.upper()}_")
        others = [p for p in PREFIX.values() if p.startswith(prefix) and p != prefix]
        wrong = [
            v
            for v in spec.config_env
            if not v.startswith(prefix) or any(v.startswith(o) for o in others)
        ]
        assert (spec.name, wrong) == (spec.name, [])


def test_every_reference_has_one_default() -> None:
    """Every reference has a ``:-default``, the same one wherever a component's files use
    the variable, so an unset variable means one value."""
    for spec in CONFIGURED:
        defaults: dict[str, set[str | None]] = {}
        for path in _files(spec):
            for var, default in env_references(path):
                defaults.setdefault(var, set()).add(default)
        assert {v: d for v, d in defaults.items() if None in d or len(d) > 1} == {}, spec.name


def test_the_stack_sets_only_declared_variables(tmp_path: Path) -> None:
    """What `stack up` and `stack topology up` put in a config's environment is declared
    by that component (so it is read: a typo is not a silent no-op)."""
    settings = load_stack_settings({"HOME": str(tmp_path)}, state_dir=str(tmp_path / "s"))
    binaries = Binaries(*(Path(f"/x/{n}") for n in ("otelcol", "jaeger", "prom", "redis", "v")))
    components = [*resolve_components(settings, binaries).values()]
    plan = plan_topology(settings, Path("/x/otelcol"), agents=1, gateways=1)
    checked = 0
    for comp in (*components, *plan.components):
        if not comp.spec.config_env:
            continue
        checked += 1
        assert (comp.name, sorted(set(comp.env) - set(comp.spec.config_env))) == (comp.name, [])
    assert checked == 4  # collector, jaeger, one agent, one gateway


def test_docs_and_configs_name_only_declared_variables() -> None:
    """Every OTELCOL_*/JAEGER_* variable named in the README, docs, compose.yaml, the
    config files (comments included) and the package's strings exists in some config_env."""
    declared = {var for spec in CONFIGURED for var in spec.config_env}
    texts = [
        REPO / "README.md",
        REPO / "compose.yaml",
        *sorted((REPO / "docs").glob("*.md")),
        *sorted((REPO / "collector").rglob("*.yaml")),
        *sorted((REPO / "astra_otel").rglob("*.py")),
    ]
    named = {
        (str(path.relative_to(REPO)), var)
        for path in texts
        for var in (_NAMED_IN_PYTHON if path.suffix == ".py" else _NAMED).findall(path.read_text())
    }
    assert len(named) > 50
    assert sorted((where, var) for where, var in named if var not in declared) == []
