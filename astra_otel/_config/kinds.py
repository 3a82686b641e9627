"""Value kinds: what one setting accepts, from the environment and as a Python argument.

A :class:`Kind` carries both readings of a value and the words for what is accepted:
``parse`` reads the text of an environment variable, ``check`` validates (and normalises)
a Python value given as an argument. Both raise ``ValueError``/``TypeError`` on bad input;
:class:`~astra_otel._config.params.Param` turns that into a
:class:`~astra_otel.errors.ConfigError` naming the source, with the words of its unit.

Durations are seconds as arguments. The standard ``OTEL_*`` duration variables carry
milliseconds, as the OpenTelemetry specification says; ``duration(env_unit="ms")`` reads
them so. Intervals, timeouts and sizes are strictly positive: zero would busy-loop or
never wait.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, TypeVar
from urllib.parse import unquote, urlparse

__all__ = [
    "Kind",
    "choice",
    "directory",
    "duration",
    "exporters",
    "file",
    "flag",
    "name",
    "names",
    "pairs",
    "patterns",
    "port",
    "ratio",
    "text",
    "url",
    "whole",
]

T_co = TypeVar("T_co", covariant=True)
Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Kind(Generic[T_co]):
    """How a setting's value is read (``parse``), checked (``check``) and described.

    ``accepted`` is said about an argument; ``env_accepted`` about an environment variable
    where the words differ (a unit). ``argument_type`` is the annotation (without
    ``| None``) the ``setup()`` keyword or option field declares for it.
    """

    accepted: str
    parse: Callable[[str], T_co]
    check: Callable[[object], T_co]
    argument_type: object
    env_accepted: str = ""

    def expected(self, *, from_env: bool) -> str:
        """What is accepted, in the words of the source (its unit)."""
        return self.env_accepted if from_env and self.env_accepted else self.accepted


def _text_or(
    parse: Callable[[str], T_co], typed: Callable[[object], T_co] | None = None
) -> Callable[[object], T_co]:
    """A check that reads a string argument like the environment text, and any other value
    with ``typed`` (none: only strings are accepted)."""

    def check(value: object) -> T_co:
        if isinstance(value, str):
            return parse(value)
        if typed is None:
            raise TypeError(value)
        return typed(value)

    return check


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    number = float(value)
    if math.isnan(number):
        raise ValueError(value)
    return number


# --- switches and words ---

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _parse_bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(raw)


def _typed_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def flag(*, inverted: bool = False) -> Kind[bool]:
    """A switch: true/false (also 1/0, yes/no, on/off) in the environment, a bool argument.

    ``inverted`` reads the environment the other way round (``OTEL_SDK_DISABLED=true`` is
    ``enabled=False``); the argument keeps its own sense.
    """
    if inverted:
        return Kind("true or false", lambda raw: not _parse_bool(raw), _typed_bool, bool)
    return Kind("true or false", _parse_bool, _text_or(_parse_bool, _typed_bool), bool)


def _as_text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def text() -> Kind[str]:
    """Any string."""
    return Kind("a string", str, _as_text, str)


def _nonblank(value: object) -> str:
    if not _as_text(value).strip():
        raise ValueError(value)
    return str(value)


def name() -> Kind[str]:
    """A string that is not empty or only whitespace."""
    return Kind("a non-empty string", _nonblank, _nonblank, str)


def choice(*values: str, upper: bool = False) -> Kind[str]:
    """One of ``values``, case-insensitive (normalised to lower, or upper case)."""

    def parse(raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in values:
            raise ValueError(raw)
        return value

    return Kind("one of " + ", ".join(values), parse, _text_or(parse), str)


# --- numbers ---


def whole(minimum: int = 1, maximum: int | None = None, *, unit: str = "") -> Kind[int]:
    """An integer >= ``minimum`` (and <= ``maximum``); ``unit`` names what it counts."""
    noun = f"a whole number of {unit}" if unit else "an integer"
    if maximum is not None:
        accepted = f"{noun} in [{minimum}, {maximum}]"
    elif minimum == 1:
        accepted = f"{noun} > 0"
    else:
        accepted = f"{noun} >= {minimum}"

    def bounded(value: int) -> int:
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(value)
        return value

    def typed(value: object) -> int:
        number = _number(value)
        if not number.is_integer():
            raise ValueError(value)
        return bounded(int(number))

    return Kind(
        accepted,
        lambda raw: bounded(int(raw.strip())),
        _text_or(lambda r: bounded(int(r)), typed),
        int,
    )


def port() -> Kind[int]:
    """A TCP port in 1..65535, or 0 for "off"."""
    ports = whole(0, 65535)
    return Kind("a TCP port in [1, 65535], or 0 for off", ports.parse, ports.check, int)


def duration(*, env_unit: Literal["ms", "s"]) -> Kind[float]:
    """A duration > 0: seconds as an argument, ``env_unit`` in the environment."""
    scale = 1000.0 if env_unit == "ms" else 1.0

    def positive(number: float) -> float:
        if not math.isfinite(number) or number <= 0:
            raise ValueError(number)
        return number

    def parse(raw: str) -> float:
        return positive(float(raw.strip())) / scale

    env_words = "milliseconds" if env_unit == "ms" else "seconds"
    return Kind(
        "a number of seconds > 0",
        parse,
        _text_or(lambda raw: positive(float(raw.strip())), lambda v: positive(_number(v))),
        float,
        f"a number of {env_words} > 0",
    )


def ratio() -> Kind[float]:
    """A number in [0, 1]."""

    def bounded(number: float) -> float:
        if not 0.0 <= number <= 1.0:
            raise ValueError(number)
        return number

    def parse(raw: str) -> float:
        return bounded(float(raw.strip()))

    return Kind("a number in [0, 1]", parse, _text_or(parse, lambda v: bounded(_number(v))), float)


# --- addresses, lists and maps ---


def _parse_url(raw: str) -> str:
    value = raw.strip()
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(raw)
    _ = parsed.port  # raises ValueError on a non-numeric or out-of-range port
    return value


def url() -> Kind[str]:
    """An absolute http(s) URL with a host, e.g. ``http://127.0.0.1:4318``."""
    return Kind("an http:// or https:// URL with a host", _parse_url, _text_or(_parse_url), str)


_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-/]+$")


def _key(raw: str) -> str:
    if not _KEY_RE.match(raw):
        raise ValueError(raw)
    return raw


def pairs(*, lower_keys: bool = False) -> Kind[Pairs]:
    """``key=value,key2=value2`` (values URL-encoded) in the environment, a mapping argument.

    The form of ``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_EXPORTER_OTLP_HEADERS``; keys are
    lower-cased with ``lower_keys`` (HTTP header names).
    """

    def fold(key: str) -> str:
        return key.lower() if lower_keys else key

    def parse(raw: str) -> Pairs:
        out: list[tuple[str, str]] = []
        for item in raw.split(","):
            if not item.strip():
                continue
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(item)
            out.append((fold(_key(unquote(key.strip()))), unquote(value.strip())))
        return tuple(out)

    def typed(value: object) -> Pairs:
        if not isinstance(value, Mapping):
            raise TypeError(value)
        return tuple((fold(_key(str(k))), str(v)) for k, v in value.items())

    return Kind(
        "comma-separated key=value pairs (URL-encoded values)",
        parse,
        typed,
        Mapping[str, str],
    )


def _split(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _sequence(
    words: str,
    split: Callable[[str], Iterable[str]],
    members: Callable[[Iterable[object]], tuple[str, ...]],
) -> Kind[tuple[str, ...]]:
    """A list kind: ``split`` text in the environment, any iterable as an argument, each
    result checked by ``members``."""

    def parse(raw: str) -> tuple[str, ...]:
        return members(split(raw))

    def typed(value: object) -> tuple[str, ...]:
        if not isinstance(value, Iterable):
            raise TypeError(value)
        return members(value)

    return Kind(words, parse, _text_or(parse, typed), tuple[str, ...])


def names(*allowed: str, accepted: str = "") -> Kind[tuple[str, ...]]:
    """Comma-separated names in the environment, a sequence of strings as an argument.

    With ``allowed``, each name must be one of them.
    """

    def members(items: Iterable[object]) -> tuple[str, ...]:
        out = tuple(str(item).strip() for item in items)
        if allowed and any(item not in allowed for item in out):
            raise ValueError(out)
        return out

    words = accepted or (
        "comma-separated names, each one of " + ", ".join(allowed)
        if allowed
        else "comma-separated names"
    )
    return _sequence(words, _split, members)


def exporters() -> Kind[tuple[str, ...]]:
    """The exporter selection of one signal: ``otlp``, ``console``, both, or ``none``.

    A comma-separated list as the specification allows (``otlp,console``); ``none`` stands
    alone and means no exporter (the empty tuple), so the signal gets no SDK provider.
    """
    known = ("otlp", "console", "none")

    def selection(items: Iterable[object]) -> tuple[str, ...]:
        chosen = tuple(dict.fromkeys(str(item).strip().lower() for item in items))
        if not chosen or any(item not in known for item in chosen):
            raise ValueError(chosen)
        if "none" in chosen:
            if len(chosen) > 1:
                raise ValueError(chosen)
            return ()
        return chosen

    def typed(value: object) -> tuple[str, ...]:
        if not isinstance(value, Iterable):
            raise TypeError(value)
        return selection(value)

    return Kind(
        "otlp, console, a comma-separated list of both, or none",
        lambda raw: selection(raw.split(",")),
        _text_or(lambda raw: selection(raw.split(",")), typed),
        str | tuple[str, ...],
    )


def _split_patterns(raw: str) -> list[str]:
    """Split at commas outside ``()``, ``[]`` and ``{}`` (``a{2,3}`` stays whole); a
    backslash keeps the next character, so ``\\,`` is a literal comma anywhere."""
    out: list[str] = []
    current: list[str] = []
    depth = 0
    escaped = False
    for ch in raw:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            out.append("".join(current))
            current = []
            continue
        current.append(ch)
    out.append("".join(current))
    return out


def patterns() -> Kind[tuple[str, ...]]:
    """Regular expressions (Python ``re``): comma-separated in the environment, a sequence
    of strings as an argument. Each must compile."""

    def members(items: Iterable[object]) -> tuple[str, ...]:
        out = tuple(str(item).strip() for item in items if str(item).strip())
        for item in out:
            try:
                re.compile(item)
            except re.error as exc:
                raise ValueError(item) from exc
        return out

    return _sequence(
        "comma-separated regular expressions (Python re syntax; a comma inside (), [] or {} "
        "belongs to its expression)",
        _split_patterns,
        members,
    )


def directory() -> Kind[str]:
    """A directory path (``~`` expanded)."""

    def parse(raw: str) -> str:
        if not raw.strip():
            raise ValueError(raw)
        return str(Path(raw.strip()).expanduser())

    return Kind("a directory path", parse, _text_or(parse), str)


def file() -> Kind[str]:
    """The path (``~`` expanded) of a file that exists now: a certificate or a key.

    Checked when the settings are resolved, so a mistyped path fails ``setup()`` with the
    variable's name instead of every export failing later.
    """

    def parse(raw: str) -> str:
        path = Path(raw.strip()).expanduser()
        if not raw.strip() or not path.is_file():
            raise ValueError(raw)
        return str(path)

    return Kind("the path of an existing file", parse, _text_or(parse), str)
