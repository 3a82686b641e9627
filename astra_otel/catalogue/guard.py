"""Cardinality guard: caps how many distinct attribute sets one catalogue instrument records.

An attribute whose values grow without bound (a raw URL path, a user id) would otherwise
create one time series per value. The guard admits the first ``limit`` distinct attribute
sets of an instrument; any further set is folded into one overflow set (every declared key
set to :data:`OVERFLOW_VALUE`) and the fold is counted, so an instrument never has more than
``limit + 1`` series. The cap is ours and lower than the SDK's own per-metric limit (2000),
so it is the one that applies to catalogue instruments.

Hot path: one ``frozenset`` of the attribute items and one dict lookup for a set already
seen; the lock is taken only the first time a set is seen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from opentelemetry.util.types import AttributeValue

from astra_otel._config.kinds import whole
from astra_otel._config.params import Declarations

__all__ = [
    "CARDINALITY_LIMIT",
    "MAX_CARDINALITY_LIMIT",
    "OVERFLOW_VALUE",
    "CardinalityGuard",
    "declare",
]

OVERFLOW_VALUE = "_overflow"
MAX_CARDINALITY_LIMIT = 1000  # stays below the SDK's default limit of 2000 per metric

Attrs = Mapping[str, AttributeValue]


declare = Declarations("catalogue")

CARDINALITY_LIMIT = declare(
    "cardinality_limit",
    "ASTRA_OTEL_CARDINALITY_LIMIT",
    100,
    whole(1, MAX_CARDINALITY_LIMIT),
    "Distinct attribute sets each AstraGuard catalogue instrument records; further sets are "
    "folded into one overflow series (values `_overflow`) and counted in "
    "`astra.cardinality.overflows`.",
)


class CardinalityGuard:
    """Admits at most ``limit`` distinct attribute sets; folds the rest into one overflow set.

    ``keys`` are the instrument's declared attribute keys (the overflow set carries each of
    them); ``on_overflow`` is called once per folded measurement.
    """

    __slots__ = ("_limit", "_lock", "_on_overflow", "_overflow", "_seen")

    def __init__(self, limit: int, keys: tuple[str, ...], on_overflow: Callable[[], None]) -> None:
        self._limit = limit
        self._seen: set[frozenset[tuple[str, AttributeValue]]] = set()
        self._lock = threading.Lock()
        self._overflow: dict[str, AttributeValue] = dict.fromkeys(keys, OVERFLOW_VALUE)
        self._on_overflow = on_overflow

    @property
    def admitted(self) -> int:
        """How many distinct attribute sets have been admitted so far."""
        return len(self._seen)

    def fold(self, attributes: Attrs | None) -> Attrs | None:
        """Return ``attributes`` if its set is admitted, otherwise the overflow set."""
        if not attributes:
            return attributes
        try:
            key = frozenset(attributes.items())
        except TypeError:  # a sequence value: key on its text form instead
            key = frozenset((k, str(v)) for k, v in attributes.items())
        if key in self._seen:
            return attributes
        with self._lock:
            if key in self._seen or len(self._seen) < self._limit:
                self._seen.add(key)
                return attributes
        self._on_overflow()
        return self._overflow
