"""The AstraGuard telemetry catalogue: metrics, span helpers, log events, cardinality guard.

Built on the OpenTelemetry API only; ``astra_otel.setup()`` wires the SDK behind it. The
metric table is :data:`~astra_otel.catalogue.instruments.SPECS` (rendered in
``docs/catalogue.md``). The span helpers and the log events are exported as their
modules list them (``spans.__all__``, ``events.__all__``).
"""

from __future__ import annotations

from astra_otel.catalogue import events, spans
from astra_otel.catalogue.events import *  # noqa: F403  # exactly events.__all__
from astra_otel.catalogue.guard import OVERFLOW_VALUE, CardinalityGuard
from astra_otel.catalogue.instruments import SPECS, InstrumentKind, InstrumentSpec, prometheus_name
from astra_otel.catalogue.metrics import Catalogue, get_catalogue, set_catalogue
from astra_otel.catalogue.spans import *  # noqa: F403  # exactly spans.__all__

__all__ = [
    "OVERFLOW_VALUE",
    "SPECS",
    "CardinalityGuard",
    "Catalogue",
    "InstrumentKind",
    "InstrumentSpec",
    "get_catalogue",
    "prometheus_name",
    "set_catalogue",
]
__all__ += events.__all__
__all__ += spans.__all__
