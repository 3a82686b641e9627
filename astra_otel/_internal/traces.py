"""Trace pipeline: TracerProvider, sampler, drop-oldest batch processor, redacting export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import (
    Event,
    ReadableSpan,
    Span,
    SpanProcessor,
    TracerProvider,
    sampling,
)
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status

from astra_otel._config.settings import TracesSettings
from astra_otel._internal.batching import Batcher, QueueProcessorMixin, SignalStats
from astra_otel._internal.exporters import ExporterSlot
from astra_otel._internal.otlp_spans import SpanEncoder
from astra_otel._internal.redaction import DEFAULT, Redactor
from astra_otel._internal.sdk_private import with_fields
from astra_otel._internal.send_path import SendPath

__all__ = ["QueueSpanProcessor", "build_sampler", "build_tracer_provider", "redacted_span"]


def build_sampler(name: str, arg: float) -> sampling.Sampler:
    """The standard sampler named by ``OTEL_TRACES_SAMPLER``."""
    samplers: dict[str, Callable[[], sampling.Sampler]] = {
        "always_on": lambda: sampling.ALWAYS_ON,
        "always_off": lambda: sampling.ALWAYS_OFF,
        "traceidratio": lambda: sampling.TraceIdRatioBased(arg),
        "parentbased_always_on": lambda: sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": lambda: sampling.ParentBased(sampling.ALWAYS_OFF),
        "parentbased_traceidratio": lambda: sampling.ParentBased(sampling.TraceIdRatioBased(arg)),
    }
    return samplers[name]()


def redacted_span(span: ReadableSpan, redactor: Redactor) -> ReadableSpan:
    """``span`` as it may leave the process: what the span encoder redacts (name, status
    description, span/event/link attributes, event names), for the SDK's exporters."""
    changes: dict[str, Any] = {}
    name = redactor.text(span.name)
    if name != span.name:
        changes["name"] = name
    attrs = redactor.attributes(span.attributes)
    if attrs is not None:
        changes["attributes"] = attrs
    events = [_event(event, redactor) for event in span.events]
    if any(new is not old for new, old in zip(events, span.events, strict=True)):
        changes["events"] = events
    links = [_link(link, redactor) for link in span.links]
    if any(new is not old for new, old in zip(links, span.links, strict=True)):
        changes["links"] = links
    status = span.status
    if status.description:
        description = redactor.text(status.description)
        if description != status.description:
            changes["status"] = Status(status.status_code, description)
    return with_fields(span, changes) if changes else span


def _event(event: Event, redactor: Redactor) -> Event:
    name = redactor.text(event.name)
    attrs = redactor.attributes(event.attributes)
    if name == event.name and attrs is None:
        return event
    return Event(name, attrs if attrs is not None else event.attributes, event.timestamp)


def _link(link: Link, redactor: Redactor) -> Link:
    attrs = redactor.attributes(link.attributes)
    return link if attrs is None else Link(link.context, attrs)


class QueueSpanProcessor(QueueProcessorMixin, SpanProcessor):
    """Ends a span by appending it to a drop-oldest queue; a thread exports batches."""

    def __init__(
        self,
        slot: ExporterSlot[SpanExporter],
        stats: SignalStats,
        *,
        max_queue_size: int,
        max_export_batch_size: int,
        schedule_delay: float,
        redactor: Redactor = DEFAULT,
    ) -> None:
        self._slot = slot
        self._encoder = SpanEncoder(redactor.value, redactor.text)  # redacts as it encodes
        # The SDK's own encoding, after the same redaction, for exporters that are not
        # ours (in-memory in tests) and for any batch our path fails on.
        self._export = SendPath(
            what="spans",
            slot=slot,
            stats=stats,
            encode=lambda batch: self._encoder.encode(batch),  # noqa: PLW0108  # looked up late
            sdk_items=lambda batch: [redacted_span(span, redactor) for span in batch],
            success=SpanExportResult.SUCCESS,
        )
        self.batcher: Batcher[ReadableSpan] = Batcher(
            name="astra-otel-spans",
            export=self._export,
            stats=stats,
            max_queue_size=max_queue_size,
            max_export_batch_size=max_export_batch_size,
            schedule_delay=schedule_delay,
        )
        self._put = self.batcher.put

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        """Queue a sampled span (hot path: one append)."""
        if span.context.trace_flags.sampled:
            self._put(span)


def build_tracer_provider(
    settings: TracesSettings,
    resource: Resource,
    slot: ExporterSlot[Any],
    stats: SignalStats,
    redactor: Redactor = DEFAULT,
) -> tuple[TracerProvider, QueueSpanProcessor]:
    """TracerProvider with our processor; the SDK's own atexit hook is off (we own exit)."""
    provider = TracerProvider(
        sampler=build_sampler(settings.sampler, settings.sampler_arg),
        resource=resource,
        shutdown_on_exit=False,
    )
    processor = QueueSpanProcessor(
        slot,
        stats,
        max_queue_size=settings.max_queue_size,
        max_export_batch_size=settings.max_export_batch_size,
        schedule_delay=settings.schedule_delay,
        redactor=redactor,
    )
    provider.add_span_processor(processor)
    return provider, processor
