"""What an exception carries into telemetry: its message, and the span it escaped from.

:func:`exception_message` is the one place an exception's text is read for telemetry
(span status, span event, log record attributes), so scrubbing it happens in one place.
:func:`mark_escaped` tags an exception leaving a server span with that span's context;
the log bridge gives a record about that exception, logged after the span ended (by the
server: uvicorn's "Exception in ASGI application"), the request's trace.
"""

from __future__ import annotations

import contextlib

from opentelemetry.trace import SpanContext

from astra_otel._internal.redaction import DEFAULT

__all__ = ["escaped_from", "exception_message", "exception_summary", "mark_escaped"]

_ATTR = "_astra_otel_span_context"


def exception_message(exc: BaseException) -> str:
    """The exception's message as telemetry records it: with the value patterns applied
    (the export threads redact again, with the user's patterns too)."""
    try:
        return DEFAULT.text(str(exc))
    except Exception:  # a broken __str__ must not break the request's telemetry
        return f"<unprintable {type(exc).__name__}>"


def exception_summary(exc: BaseException) -> str:
    """``Type: message``, as a span status description says it."""
    return f"{type(exc).__name__}: {exception_message(exc)}"


def mark_escaped(exc: BaseException, span_context: SpanContext) -> None:
    """Remember that ``exc`` left the span ``span_context`` (innermost span wins)."""
    if getattr(exc, _ATTR, None) is None:
        with contextlib.suppress(AttributeError, TypeError):  # objects without a __dict__
            setattr(exc, _ATTR, span_context)


def escaped_from(exc: BaseException | None) -> SpanContext | None:
    """The span context ``exc`` escaped from, if a server span marked it."""
    found = getattr(exc, _ATTR, None)
    return found if isinstance(found, SpanContext) else None
