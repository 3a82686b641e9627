"""How a batch leaves: our fast path, with the SDK's own exporter behind it.

The fast path is our encoder (:mod:`astra_otel._internal.otlp_spans`, ``otlp_logs``) and
``export_encoded`` on the SDK's exporter. Nothing is lost to our own code. When any step
of it fails, the batch is sent again through the SDK's own exporter's public
``export()``, with the SDK's encoding. The steps are: creating that exporter, encoding,
sending (which raises), and an answer that says our request may have been at fault
(:class:`~astra_otel._internal.sdk_private.Delivery` ``REFUSED``). Each such batch is
counted in ``health()`` (``sdk_fallback``), and the first failure of each kind is logged
with its traceback.

A failure that means the backend is down or refused the request is counted as failed,
and the batch is not sent twice. Examples: connection refused, a timeout, UNAVAILABLE,
5xx or 429. So an outage causes no second storm of requests. If the SDK's path is refused
as well, our bytes were not the cause. Refusals are then trusted for a while, and no
batch is sent twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from astra_otel._internal.batching import SignalStats
from astra_otel._internal.exporters import ExporterSlot
from astra_otel._internal.sdk_private import Delivery

__all__ = ["TRUST_REFUSALS_FOR", "SendPath"]

_logger = logging.getLogger(__name__)

# After the SDK's own path is refused as well, refusals are the backend's for this long.
TRUST_REFUSALS_FOR = 60.0


class SendPath:
    """Sends one batch: ours first, the SDK's exporter when ours fails (one per signal,
    called on its export thread only)."""

    def __init__(
        self,
        *,
        what: str,
        slot: ExporterSlot[Any],
        stats: SignalStats,
        encode: Callable[[Sequence[Any]], bytes],
        sdk_items: Callable[[Sequence[Any]], Sequence[Any]],
        success: object,
    ) -> None:
        self._what = what
        self._slot = slot
        self._stats = stats
        self._encode = encode
        self._sdk_items = sdk_items
        self._success = success
        self._said: set[str] = set()
        self._trust_refusals_until = 0.0

    def __call__(self, batch: Sequence[Any]) -> bool:
        """Export ``batch``; ``True`` if it was delivered."""
        try:
            exporter = self._slot.get()
        except Exception as exc:
            return self._fallback(batch, "creating the exporter", exc)
        if not hasattr(exporter, "export_encoded"):  # not ours (in-memory, or no hook)
            return self._public(exporter, batch)
        step = "encoding"
        try:
            payload = self._encode(batch)
            step = "sending"
            delivery = exporter.export_encoded(payload, len(batch))
        except Exception as exc:
            return self._fallback(batch, step, exc)
        if delivery is Delivery.REFUSED and time.monotonic() >= self._trust_refusals_until:
            return self._refused(batch)
        return delivery is Delivery.SENT

    def _refused(self, batch: Sequence[Any]) -> bool:
        ok = self._fallback(batch, "a request refused as malformed", None)
        if not ok:  # the SDK's bytes were refused too: the backend's doing, not ours
            self._trust_refusals_until = time.monotonic() + TRUST_REFUSALS_FOR
        return ok

    def _public(self, exporter: Any, batch: Sequence[Any]) -> bool:
        return exporter.export(self._sdk_items(batch)) is self._success

    def _fallback(self, batch: Sequence[Any], step: str, error: Exception | None) -> bool:
        exporter = self._slot.fallback()  # raises (a failed export) if it cannot be built
        self._stats.count_fallback(len(batch))
        if step not in self._said:
            self._said.add(step)
            _logger.warning(
                "astra-otel's own OTLP path failed at %s (%d %s); sending through the "
                "SDK's exporter (counted in health().%s.sdk_fallback)",
                step,
                len(batch),
                self._what,
                self._stats.signal,
                exc_info=error,
            )
        return self._public(exporter, batch)
