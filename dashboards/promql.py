"""PromQL helpers: the selectors every dashboard shares and the shapes its queries take.

Application selectors filter on the ``service`` variable, collector ones on ``collector``;
every range is ``$__rate_interval``.
"""

from __future__ import annotations

from .metrics import EXPORTER_COUNTER, RECEIVER_COUNTER, SIGNALS
from .model import Query

__all__ = [
    "COLLECTOR",
    "RI",
    "SVC",
    "agg",
    "exporter_counter",
    "per_signal",
    "percentiles",
    "quantile",
    "rate",
    "receiver_counter",
]

SVC = 'service_name=~"$service"'
RI = "[$__rate_interval]"
COLLECTOR = 'job=~"$collector"'


def rate(metric: str, by: str, selector: str = SVC) -> str:
    """Per-second rate of a counter summed by ``by`` labels."""
    return f"sum by ({by}) (rate({metric}{{{selector}}}{RI}))"


def agg(fn: str, by: str, metric: str, selector: str = SVC) -> str:
    """``fn by (by)`` over a gauge's current values."""
    return f"{fn} by ({by}) ({metric}{{{selector}}})"


def quantile(q: float, histogram: str, by: str, selector: str = SVC) -> str:
    """The ``q`` quantile of a histogram (``histogram`` is the name without ``_bucket``)."""
    return (
        f"histogram_quantile({q}, sum by (le, {by}) (rate({histogram}_bucket{{{selector}}}{RI})))"
    )


def percentiles(
    histogram: str,
    by: str,
    legend: str,
    *,
    quantiles: tuple[float, ...] = (0.5, 0.95, 0.99),
    exemplar: bool = True,
) -> tuple[Query, ...]:
    """One query per quantile (legend ``p50 <legend>`` ...); with ``exemplar`` the last
    one carries the exemplars."""
    return tuple(
        Query(
            quantile(q, histogram, by),
            " ".join(part for part in (f"p{round(q * 100)}", legend) if part),
            exemplar=exemplar and i == len(quantiles) - 1,
        )
        for i, q in enumerate(quantiles)
    )


def per_signal(
    template: str, by: str, legend: str, selector: str, zero_from: str | None = None
) -> tuple[Query, ...]:
    """One rate query per signal for a collector counter named with ``{signal}``.

    The collector creates its failure counters on the first failure only; ``zero_from``
    (a counter that always exists, e.g. the sent items) then supplies a 0 for every
    exporter, so a healthy pipeline shows zero failures rather than "no data".
    """
    queries = []
    for signal, label in SIGNALS:
        expr = rate(template.format(signal=signal), by, selector)
        if zero_from is not None:
            expr = f"{expr} or {rate(zero_from.format(signal=signal), by, selector)} * 0"
        queries.append(Query(expr, f"{label} {legend}"))
    return tuple(queries)


def receiver_counter(name: str) -> tuple[Query, ...]:
    """``otelcol_receiver_<name>_<signal>`` per signal, by collector, receiver, transport."""
    return per_signal(
        RECEIVER_COUNTER.format(name=name, signal="{signal}"),
        "job, receiver, transport",
        "{{job}} {{receiver}}/{{transport}}",
        COLLECTOR,
    )


def exporter_counter(name: str, failure_only: bool = False) -> tuple[Query, ...]:
    """``otelcol_exporter_<name>_<signal>`` per signal, by collector and exporter."""
    counter = EXPORTER_COUNTER.format(name=name, signal="{signal}")
    sent = EXPORTER_COUNTER.format(name="sent", signal="{signal}")
    return per_signal(
        counter,
        "job, exporter",
        "{{job}} {{exporter}}",
        COLLECTOR,
        zero_from=sent if failure_only else None,
    )
