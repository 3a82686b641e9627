"""Declared settings: one place that knows every setting's name, variables and default.

Every setting astra-otel reads is a :class:`Param`. A loader resolves each one as
keyword argument > first environment variable that is set (and non-empty) > default, and a
value that does not parse raises :class:`~astra_otel.errors.ConfigError` naming the
argument or variable, the value and what is accepted.

This is the only module that reads ``os.environ`` (:func:`environ_snapshot`); everything
else receives a snapshot or a settings object built from one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from astra_otel.errors import ConfigError

T = TypeVar("T")

__all__ = [
    "Param",
    "all_params",
    "environ_snapshot",
    "parse_bool",
    "parse_float",
    "parse_int",
    "parse_nonneg_float",
    "parse_port",
    "parse_positive_int",
    "register",
    "resolve",
]


def environ_snapshot() -> dict[str, str]:
    """Return a copy of the process environment: the one read astra-otel makes of it."""
    return dict(os.environ)


class _Unparsable(ValueError):
    """Raised by a parser; the loader turns it into a ConfigError with the source."""


@dataclass(frozen=True)
class Param(Generic[T]):
    """One setting: its keyword, the environment variables read for it, default and parser.

    ``env`` is in priority order (e.g. a per-signal variable before the general one).
    ``accepted`` is the human text put in error messages; ``doc`` is what the settings
    reference in ``docs/configuration.md`` says about it.
    """

    name: str
    env: tuple[str, ...]
    default: T
    parse: Callable[[str], T]
    accepted: str
    doc: str
    group: str = "sdk"

    def resolve(self, kwargs: Mapping[str, object], environ: Mapping[str, str]) -> T:
        """Resolve this setting: keyword argument > environment > default."""
        if kwargs.get(self.name) is not None:
            value = kwargs[self.name]
            if isinstance(value, str):
                return self._parse(f"{self.name} (argument)", value)
            return value  # type: ignore[return-value]  # typed by the caller's signature
        for var in self.env:
            raw = environ.get(var)
            if raw is not None and raw.strip() != "":
                return self._parse(var, raw.strip())
        return self.default

    def _parse(self, source: str, raw: str) -> T:
        try:
            return self.parse(raw)
        except (ValueError, TypeError) as exc:
            raise ConfigError(source, raw, self.accepted) from exc


_REGISTRY: dict[str, Param[object]] = {}


def register(param: Param[T]) -> Param[T]:
    """Declare a setting once; a second declaration of the same name is a programming error."""
    key = f"{param.group}.{param.name}"
    if key in _REGISTRY:
        msg = f"setting {key} declared twice"
        raise RuntimeError(msg)
    _REGISTRY[key] = param  # type: ignore[assignment]
    return param


def all_params() -> list[Param[object]]:
    """Every declared setting, for documentation and its test."""
    return list(_REGISTRY.values())


def resolve(param: Param[T], kwargs: Mapping[str, object], environ: Mapping[str, str]) -> T:
    """Resolve ``param``; see :meth:`Param.resolve`."""
    return param.resolve(kwargs, environ)


# --- parsers: each raises ValueError on bad input; the message is built by the loader ---

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(raw: str) -> bool:
    """Parse true/false (also 1/0, yes/no, on/off), case-insensitive."""
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise _Unparsable(raw)


def parse_int(raw: str) -> int:
    """Parse an integer."""
    return int(raw.strip())


def parse_positive_int(raw: str) -> int:
    """Parse an integer > 0."""
    value = int(raw.strip())
    if value <= 0:
        raise _Unparsable(raw)
    return value


def parse_float(raw: str) -> float:
    """Parse a float."""
    return float(raw.strip())


def parse_nonneg_float(raw: str) -> float:
    """Parse a float >= 0."""
    value = float(raw.strip())
    if value < 0 or math.isnan(value):  # NaN is not a duration
        raise _Unparsable(raw)
    return value


def parse_port(raw: str) -> int:
    """Parse a TCP port in 1..65535."""
    value = int(raw.strip())
    if not 0 < value < 65536:
        raise _Unparsable(raw)
    return value
