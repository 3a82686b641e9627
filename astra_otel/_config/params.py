"""Declared settings: each setting's name, variables, default, kind and doc, written once.

A module declares its settings with one :class:`Declarations` (``declare = Declarations(
"stack")`` and then ``STATE_DIR = declare("state_dir", "ASTRA_OTEL_STATE_DIR", ...)``).
Each :class:`Param` resolves as keyword argument > first environment variable that is set
and non-empty > default; a value its :class:`~astra_otel._config.kinds.Kind` refuses
raises :class:`~astra_otel.errors.ConfigError` naming the argument or variable, the value
and what is accepted there.

This is the only module that reads ``os.environ`` (:func:`environ_snapshot`); everything
else receives a snapshot or a settings object built from one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from astra_otel._config.kinds import Kind
from astra_otel.errors import ConfigError

__all__ = ["Declarations", "Param", "environ_snapshot"]

T = TypeVar("T")


def environ_snapshot() -> dict[str, str]:
    """Return a copy of the process environment: the one read astra-otel makes of it."""
    return dict(os.environ)


@dataclass(frozen=True)
class Param(Generic[T]):
    """One setting.

    ``name`` is its argument: a ``setup()`` keyword, or ``<group>.<field>`` for a field of
    an option dataclass (``traces.sampler`` is ``TracesOptions.sampler``). ``env`` is in
    priority order (a per-signal variable before the general one). ``argument=False``
    marks a setting only the environment sets. ``doc`` is what ``docs/configuration.md``
    says about it.
    """

    name: str
    env: tuple[str, ...]
    default: T
    kind: Kind[T]
    doc: str
    group: str
    argument: bool = True

    def given(self, arguments: Mapping[str, object], environ: Mapping[str, str]) -> bool:
        """Whether an argument or an environment variable sets this (not its default)."""
        if self.argument and arguments.get(self.name) is not None:
            return True
        return any(environ.get(var, "").strip() for var in self.env)

    def resolve(self, arguments: Mapping[str, object], environ: Mapping[str, str]) -> T:
        """This setting's value: keyword argument > environment > default."""
        value = arguments.get(self.name) if self.argument else None
        if value is not None:
            try:
                return self.kind.check(value)
            except (ValueError, TypeError) as exc:
                expected = self.kind.expected(from_env=False)
                raise ConfigError(f"{self.name} (argument)", value, expected) from exc
        for var in self.env:
            raw = environ.get(var, "").strip()
            if raw:
                try:
                    return self.kind.parse(raw)
                except (ValueError, TypeError) as exc:
                    raise ConfigError(var, raw, self.kind.expected(from_env=True)) from exc
        return self.default


class Declarations:
    """The settings one module declares, in order, all of one ``group`` of the docs."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.params: list[Param[Any]] = []

    def __call__(
        self,
        name: str,
        env: str | tuple[str, ...],
        default: T,
        kind: Kind[T],
        doc: str,
        *,
        argument: bool = True,
    ) -> Param[T]:
        """Declare one setting; a second declaration of ``name`` is a programming error."""
        if any(param.name == name for param in self.params):
            msg = f"setting {self.group}.{name} declared twice"
            raise RuntimeError(msg)
        variables = (env,) if isinstance(env, str) else env
        param = Param(name, variables, default, kind, doc, self.group, argument)
        self.params.append(param)
        return param

    def by_name(self) -> dict[str, Param[Any]]:
        """The declared settings keyed by name."""
        return {param.name: param for param in self.params}
