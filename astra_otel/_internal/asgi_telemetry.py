"""HTTP server telemetry for ASGI apps: one server span and the stable HTTP server metrics
per request, for a fraction of the contrib ``OpenTelemetryMiddleware``'s CPU.

Why: on a trivial FastAPI route the contrib middleware costs more than the application
(it computes the old and new semantic-convention attribute sets, wraps every send, and
rebuilds attribute dicts for each of its five metric recordings). This middleware emits
what the stable HTTP semantic conventions define and nothing else:

- span ``{method} {route}`` (``SERVER``): ``http.request.method`` (``_OTHER`` plus
  ``http.request.method_original`` for unknown methods), ``url.scheme``, ``url.path``,
  ``url.query``, ``server.address``/``server.port`` (Host header), ``client.address``/
  ``client.port``, ``network.protocol.version``, ``user_agent.original``, ``http.route``,
  ``http.response.status_code``, ``error.type``; status ERROR on 5xx or an exception
  (described ``Type: message``; the exception is marked with the span, so the server's
  log record of it joins the request's trace);
- ``http.server.request.duration`` (s), ``http.server.request.body.size`` and
  ``http.server.response.body.size`` (By, from Content-Length) with ``http.request.method``,
  ``url.scheme``, ``http.route``, ``http.response.status_code``,
  ``network.protocol.version``, ``error.type``, recorded inside the span, so exemplars
  point at it; ``http.server.active_requests`` with ``http.request.method`` and
  ``url.scheme`` (counted in process, observed at collection: see :class:`ActiveRequests`).
- Captured headers (when enabled) as ``http.{request,response}.header.<name>`` with dashes
  turned into underscores, as the contrib instrumentations name them; sensitive ones
  ``[REDACTED]``.

Only ``http`` scopes are instrumented (WebSocket and lifespan pass through).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from timeit import default_timer
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from astra_otel._internal.exceptions import exception_message, exception_summary, mark_escaped
from astra_otel._internal.redaction import REDACTED, is_sensitive_header
from astra_otel.catalogue.instruments import DURATION_BUCKETS_S

__all__ = [
    "ActiveRequests",
    "AsgiServerTelemetry",
    "ServerHooks",
    "ServerInstruments",
    "host_and_port",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE", "QUERY"}
)
_VERSIONS = {"1.0": "1.0", "1.1": "1.1", "2": "2", "2.0": "2", "3": "3", "3.0": "3"}


def _header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[name] = f"{headers[name]},{text}" if name in headers else text
    return headers


def _captured(prefix: str, headers: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return {
        f"{prefix}{name.replace('-', '_')}": (REDACTED if is_sensitive_header(name) else value,)
        for name, value in headers.items()
    }


def host_and_port(host: str) -> tuple[str, int | None]:
    """``server.address``/``server.port`` from a Host header (``[v6]:port`` included)."""
    if host.rfind(":") > host.rfind("]"):  # a port follows the name or the ]
        name, _, port = host.rpartition(":")
    else:
        name, port = host, ""
    return name.strip("[]"), _int(port)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class ActiveRequests:
    """``http.server.active_requests``: requests in flight per method and scheme.

    An up-down counter exports the current count as a cumulative, non-monotonic sum; this
    keeps that count in a dict (one locked increment per change) and reports it through an
    observable up-down counter when the reader collects, which exports the same data as
    two synchronous ``add`` calls per request would, without their per-call SDK cost
    (measurement object, attribute cleaning and hashing, exemplar offer). A method and
    scheme seen once keeps being reported, at 0 when idle, as the synchronous counter's
    cumulative series would.
    """

    def __init__(self, meter: Meter) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        meter.create_observable_up_down_counter(
            "http.server.active_requests",
            callbacks=[self._observe],
            unit="{request}",
            description="Number of active HTTP server requests.",
        )

    def add(self, amount: int, method: str, scheme: str) -> None:
        """Change the count of requests in flight for ``method`` and ``scheme``."""
        key = (method, scheme)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            counts = list(self._counts.items())
        return [
            Observation(count, {"http.request.method": method, "url.scheme": scheme})
            for (method, scheme), count in counts
        ]


class ServerInstruments:
    """The four HTTP server instruments, created once per meter provider."""

    def __init__(self, meter: Meter) -> None:
        self.duration = meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_S),
        )
        self.active = ActiveRequests(meter)
        self.request_size = meter.create_histogram(
            "http.server.request.body.size", unit="By", description="Size of HTTP request bodies."
        )
        self.response_size = meter.create_histogram(
            "http.server.response.body.size",
            unit="By",
            description="Size of HTTP response bodies.",
        )


@dataclass(frozen=True)
class ServerHooks:
    """What the pipeline wants to hear from the server, through the app's ASGI calls.

    ``first_call``: once, at the first call (lifespan or request); the server has set up
    its logging by then. ``stopping``: when the app reports its lifespan shutdown
    complete, to export what is queued while the process is still certain to be alive
    (a server may then re-raise SIGTERM with the default action, skipping exit hooks).
    """

    first_call: Callable[[], None] | None = None
    stopping: Callable[[], None] | None = None


class AsgiServerTelemetry:
    """ASGI middleware: wraps ``app`` with a server span and HTTP server metrics."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tracer: trace.Tracer,
        instruments: ServerInstruments,
        excluded_urls: Iterable[str] = (),
        capture_headers: bool = False,
        hooks: ServerHooks | None = None,
    ) -> None:
        self.app = app  # FastAPI walks ``.app`` to inspect the middleware stack
        self._on_first_call = hooks.first_call if hooks else None
        self._on_stopping = hooks.stopping if hooks else None
        self._tracer = tracer
        patterns = [p for p in excluded_urls if p]
        self._excluded = re.compile("|".join(patterns)) if patterns else None
        self._capture = capture_headers
        self._instruments = instruments

    def _skip(self, scope: Scope) -> bool:
        if self._excluded is None:
            return False
        return self._excluded.search(scope.get("path", "")) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside its server span."""
        if self._on_first_call is not None:
            hook, self._on_first_call = self._on_first_call, None
            hook()
        if scope["type"] == "lifespan" and self._on_stopping is not None:
            await self.app(scope, receive, self._lifespan_send(send))
            return
        if scope["type"] != "http" or self._skip(scope):
            await self.app(scope, receive, send)
            return
        start = default_timer()
        headers = _header_map(scope.get("headers") or ())
        method = scope.get("method", "")
        known = method if method in _KNOWN_METHODS else "_OTHER"
        scheme = scope.get("scheme", "http")
        version = _VERSIONS.get(scope.get("http_version", ""))
        active_attrs = {"http.request.method": known, "url.scheme": scheme}
        attrs = self._request_attributes(scope, headers, method, active_attrs, version)
        span = self._tracer.start_span(
            "HTTP" if known == "_OTHER" else known,
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes=attrs,
        )
        token = context.attach(trace.set_span_in_context(span))
        active = self._instruments.active
        active.add(1, known, scheme)
        response: dict[str, Any] = {}
        capture = self._capture

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                for key, value in message.get("headers") or ():
                    if key.lower() == b"content-length":
                        response["length"] = _int(value.decode("latin-1"))
                if capture:
                    response["headers"] = _header_map(message.get("headers") or ())
            await send(message)

        error: str | None = None
        description: str | None = None
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException as exc:
            error = type(exc).__qualname__
            description = exception_summary(exc)
            span.record_exception(exc, attributes={"exception.message": exception_message(exc)})
            mark_escaped(exc, span.get_span_context())
            raise
        finally:
            # The duration metric's attributes: method and scheme, protocol version, then
            # route, status and error.type as the request ended.
            base = dict(active_attrs)
            if version:
                base["network.protocol.version"] = version
            self._finish(
                span,
                scope,
                start,
                base,
                response,
                (error, description),
                _int(headers.get("content-length")),
            )
            active.add(-1, known, scheme)
            context.detach(token)

    def _lifespan_send(self, send: Send) -> Send:
        stopping = self._on_stopping

        async def lifespan_send(message: Message) -> None:
            if stopping is not None and message["type"] in (
                "lifespan.shutdown.complete",
                "lifespan.shutdown.failed",
            ):
                stopping()  # bounded by the shutdown deadline; the server is stopping
            await send(message)

        return lifespan_send

    def _request_attributes(
        self,
        scope: Scope,
        headers: dict[str, str],
        method: str,
        active_attrs: dict[str, str],
        version: str | None,
    ) -> dict[str, Any]:
        attrs: dict[str, Any] = {**active_attrs, "url.path": scope.get("path", "")}
        if active_attrs["http.request.method"] != method:
            attrs["http.request.method_original"] = method
        query = scope.get("query_string")
        if query:
            attrs["url.query"] = query.decode("latin-1")
        host = headers.get("host")
        if host:
            address, port = host_and_port(host)
            attrs["server.address"] = address
            if port is not None:
                attrs["server.port"] = port
        client = scope.get("client")
        if client:
            attrs["client.address"] = client[0]
            attrs["client.port"] = client[1]
        if version:
            attrs["network.protocol.version"] = version
        agent = headers.get("user-agent")
        if agent:
            attrs["user_agent.original"] = agent
        if self._capture:
            attrs.update(_captured("http.request.header.", headers))
        return attrs

    def _finish(  # noqa: PLR0917  # one private call site, in __call__
        self,
        span: trace.Span,
        scope: Scope,
        start: float,
        metric_attrs: dict[str, Any],
        response: dict[str, Any],
        failure: tuple[str | None, str | None],
        request_length: int | None,
    ) -> None:
        error, description = failure  # error.type, and the status description
        route = getattr(scope.get("route"), "path", None)
        status = response.get("status")
        if error is None and status is not None and status >= 500:
            error = str(status)
        span_attrs: dict[str, Any] = {}
        if isinstance(route, str):
            metric_attrs["http.route"] = span_attrs["http.route"] = route
            method = metric_attrs["http.request.method"]
            span.update_name(f"{'HTTP' if method == '_OTHER' else method} {route}")
        if status is not None:
            metric_attrs["http.response.status_code"] = span_attrs["http.response.status_code"] = (
                status
            )
        if error is not None:
            metric_attrs["error.type"] = span_attrs["error.type"] = error
            span.set_status(Status(StatusCode.ERROR, description))
        if "headers" in response:
            span_attrs.update(_captured("http.response.header.", response["headers"]))
        span.set_attributes(span_attrs)
        instruments = self._instruments
        instruments.duration.record(max(default_timer() - start, 0.0), metric_attrs)
        if request_length is not None:
            instruments.request_size.record(request_length, metric_attrs)
        if response.get("length") is not None:
            instruments.response_size.record(response["length"], metric_attrs)
        span.end()
