"""Cardinality guard: at most cap + 1 series per instrument, overflow counted, cap configurable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from astra_otel.catalogue import OVERFLOW_VALUE, CardinalityGuard, Catalogue
from astra_otel.errors import ConfigError

if TYPE_CHECKING:
    from tests.catalogue.conftest import Captured


def test_ten_thousand_raw_values_give_at_most_cap_plus_one_series(
    make: Callable[[int | None], Captured],
) -> None:
    """10,000 distinct routes on astra.errors produce cap + 1 series and 10,000 - cap overflows."""
    cap = 50
    captured = make(cap)
    for i in range(10_000):
        captured.catalogue.record_error("KeyError", f"/raw/path/{i}")
    metrics = captured.metrics()
    points = list(metrics["astra.errors"].data.data_points)
    assert len(points) == cap + 1
    overflow = [
        p
        for p in points
        if p.attributes == {"error.type": OVERFLOW_VALUE, "http.route": OVERFLOW_VALUE}
    ]
    assert len(overflow) == 1
    assert overflow[0].value == 10_000 - cap
    assert sum(p.value for p in points) == 10_000
    (counted,) = metrics["astra.cardinality.overflows"].data.data_points
    assert counted.attributes == {"astra.cardinality.instrument": "astra.errors"}
    assert counted.value == 10_000 - cap


def test_admitted_sets_keep_recording_after_the_cap_is_reached() -> None:
    """A set admitted before the cap passes through unchanged after it; new sets fold."""
    folds: list[int] = []
    guard = CardinalityGuard(2, ("k",), lambda: folds.append(1))
    assert guard.fold({"k": "a"}) == {"k": "a"}
    assert guard.fold({"k": "b"}) == {"k": "b"}
    assert guard.fold({"k": "c"}) == {"k": OVERFLOW_VALUE}
    assert guard.fold({"k": "a"}) == {"k": "a"}
    assert guard.admitted == 2
    assert len(folds) == 1


def test_attribute_order_does_not_matter() -> None:
    """The same attributes in another order are the same set, not a new series."""
    guard = CardinalityGuard(1, ("a", "b"), lambda: None)
    guard.fold({"a": "1", "b": "2"})
    assert guard.fold({"b": "2", "a": "1"}) == {"b": "2", "a": "1"}
    assert guard.admitted == 1


def test_empty_attributes_are_never_folded() -> None:
    """An instrument without attributes has one series and is never folded."""
    guard = CardinalityGuard(1, (), lambda: None)
    guard.fold({"x": "1"})
    assert guard.fold({}) == {}
    assert guard.fold(None) is None


def test_limit_comes_from_environment_variable() -> None:
    """ASTRA_OTEL_CARDINALITY_LIMIT sets the cap when no argument is given."""
    catalogue = Catalogue(environ={"ASTRA_OTEL_CARDINALITY_LIMIT": "7"})
    assert catalogue.cardinality_limit == 7
    assert Catalogue(environ={}).cardinality_limit == 100
    assert (
        Catalogue(
            cardinality_limit=3, environ={"ASTRA_OTEL_CARDINALITY_LIMIT": "7"}
        ).cardinality_limit
        == 3
    )


@pytest.mark.parametrize("raw", ["0", "-5", "1001", "many"])
def test_bad_limit_raises_config_error_naming_the_variable(raw: str) -> None:
    """A limit outside 1..1000 raises ConfigError naming the variable and the accepted range."""
    with pytest.raises(ConfigError) as info:
        Catalogue(environ={"ASTRA_OTEL_CARDINALITY_LIMIT": raw})
    assert info.value.source == "ASTRA_OTEL_CARDINALITY_LIMIT"
    assert "[1, 1000]" in str(info.value)
