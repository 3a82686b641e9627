"""Every test here starts and ends with no astra-otel setup installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from astra_otel.testing import reset


@pytest.fixture(autouse=True)
def _clean_setup() -> Iterator[None]:
    """Reset astra-otel and the OpenTelemetry API globals around each test."""
    reset()
    yield
    reset()
