"""pytest plugin: the SDK's own encoder tests, run with our encoders substituted.

Loaded with ``-p tests._internal.sdk_encoder_swap`` into a pytest run of the ``tests/``
directory of the ``opentelemetry-exporter-otlp-proto-common`` sdist (see
``test_otlp_upstream.py``). In each collected upstream module it replaces the SDK
functions the module imported (``encode_spans``, ``encode_logs``, ``_encode_attributes``,
``_encode_value``, ``_encode_status``) with wrappers that, on EVERY call:

- compute the SDK's serialized answer with the original function;
- encode the same input with our encoder twice, fresh and through one warm encoder kept
  for the whole session (as production runs), and require both to be byte-identical to
  the SDK's;
- compare the log records ours emits with the SDK's (level, message, key);
- hand the upstream assertions the message parsed from OUR bytes.

Every call, mismatch and test outcome is written as JSON to ``$ASTRA_OTEL_SWAP_REPORT``.
``$ASTRA_OTEL_SWAP_SABOTAGE`` names a function whose fresh answer is made one byte wrong
(the outer test proves a difference is caught).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common import _internal as common
from opentelemetry.exporter.otlp.proto.common import _log_encoder as public_logs
from opentelemetry.exporter.otlp.proto.common._internal import trace_encoder as internal_traces
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.resources import Resource

from astra_otel._internal import otlp_wire
from astra_otel._internal.logs import _attributes, _severity_of
from astra_otel._internal.otlp_logs import LogEncoder
from astra_otel._internal.otlp_spans import SpanEncoder, status_field
from astra_otel._internal.otlp_wire import SPAN_NULLS, AttributeCache, Nulls, value_field

_REPORT: dict[str, Any] = {"calls": {}, "mismatches": [], "outcomes": {}}
_SDK_LOGGER = common._logger
_OUR_LOGGER = otlp_wire._logger


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _captured(logger: logging.Logger, *, propagate: bool) -> Iterator[_Capture]:
    """Records ``logger`` emits; with ``propagate=False`` nobody else sees them."""
    capture = _Capture()
    old = logger.propagate
    logger.addHandler(capture)
    logger.propagate = propagate
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.propagate = old


def _shape(records: list[logging.LogRecord]) -> list[tuple[int, str, bool]]:
    """What a reader of the log sees: level, message (with its arguments), a traceback."""
    return [(r.levelno, r.getMessage(), bool(r.exc_info)) for r in records]


def _compare(
    name: str,
    sdk: bytes,
    ours: dict[str, bytes],
    sdk_logs: list[Any],
    our_logs: dict[str, list[Any]],
) -> None:
    _REPORT["calls"][name] = _REPORT["calls"].get(name, 0) + 1
    problems = [
        f"{how}: {len(b)} B against the SDK's {len(sdk)} B" for how, b in ours.items() if b != sdk
    ]
    problems += [
        f"{how} logged {logs} where the SDK logged {sdk_logs}"
        for how, logs in our_logs.items()
        if logs != sdk_logs
    ]
    if problems:
        _REPORT["mismatches"].append({"function": name, "problems": problems})
        raise AssertionError(f"{name}: our encoder differs from the SDK's: {'; '.join(problems)}")


def _swap(
    name: str,
    original: Callable[..., Any],
    serialize: Callable[[Any], bytes],
    fresh: Callable[..., Callable[[Any], bytes]],
    parse: Callable[[bytes], Any],
) -> Callable[..., Any]:
    """A stand-in for ``original`` that checks ours against it and returns ours, parsed.

    Keyword arguments (``allow_null`` before SDK 1.43) go to both sides: ``fresh(**kw)``
    builds our encoder for them; one warm encoder per set of them lives for the session.
    """
    warm: dict[tuple[Any, ...], Callable[[Any], bytes]] = {}
    sabotage = b"\x00" if os.environ.get("ASTRA_OTEL_SWAP_SABOTAGE") == name else b""

    def wrapper(data: Any, **kwargs: Any) -> Any:
        key = tuple(sorted(kwargs.items()))
        if key not in warm:
            warm[key] = fresh(**kwargs)
        with _captured(_SDK_LOGGER, propagate=False) as sdk_capture:
            expected = serialize(original(data, **kwargs))
        with _captured(_OUR_LOGGER, propagate=False) as fresh_capture:
            ours_fresh = fresh(**kwargs)(data) + sabotage
        # The warm encoder's records reach the upstream assertions (``assertLogs``).
        with _captured(_OUR_LOGGER, propagate=True) as warm_capture:
            ours_warm = warm[key](data)
        _compare(
            name,
            expected,
            {"fresh": ours_fresh, "warm": ours_warm},
            _shape(sdk_capture.records),
            {"fresh": _shape(fresh_capture.records), "warm": _shape(warm_capture.records)},
        )
        return parse(ours_warm)

    wrapper.__name__ = name
    return wrapper


def _span_encoder() -> Callable[[Any], bytes]:
    return SpanEncoder().encode


def _log_encoder() -> Callable[[Any], bytes]:
    return LogEncoder(Resource({}), _attributes, _severity_of).encode


def _nulls(allow_null: bool | None) -> Nulls:
    """Our rule for the SDK's ``allow_null`` (SDK < 1.43; later ones have one rule)."""
    if allow_null is None:
        return SPAN_NULLS
    return Nulls.OMIT if allow_null else Nulls.REJECT


def _attributes_encoder(allow_null: bool | None = None) -> Callable[[Any], bytes]:
    cache = AttributeCache(nulls=_nulls(allow_null))
    return lambda attributes: b"".join(cache.encode(b"\x0a", attributes))


def _value_encoder(allow_null: bool | None = None) -> Callable[[Any], bytes]:
    # As the ``value`` field of a KeyValue, so "no value" (None) has bytes too (none).
    return lambda value: value_field(b"\x12", value, _nulls(allow_null))


def _parse_value(data: bytes) -> Any:
    message = KeyValue.FromString(data)
    return message.value if message.HasField("value") else None


def _parse_attributes(data: bytes) -> Any:
    # SDK < 1.43 answers None for no attributes, later ones [].
    attributes = list(PbResource.FromString(data).attributes)
    return attributes if attributes or SPAN_NULLS is Nulls.EMPTY else None


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()  # type: ignore[no-any-return]


def _wrappers() -> dict[str, Callable[[Any], Any]]:
    return {
        "encode_spans": _swap(
            "encode_spans",
            internal_traces.encode_spans,
            _serialize,
            _span_encoder,
            ExportTraceServiceRequest.FromString,
        ),
        "encode_logs": _swap(
            "encode_logs",
            public_logs.encode_logs,
            _serialize,
            _log_encoder,
            ExportLogsServiceRequest.FromString,
        ),
        "_encode_attributes": _swap(
            "_encode_attributes",
            common._encode_attributes,
            lambda kvs: PbResource(attributes=kvs or []).SerializeToString(),
            _attributes_encoder,
            _parse_attributes,
        ),
        "_encode_value": _swap(
            "_encode_value",
            common._encode_value,
            lambda value: KeyValue(value=value).SerializeToString(),
            _value_encoder,
            _parse_value,
        ),
        "_encode_status": _swap(
            "_encode_status",
            internal_traces._encode_status,
            lambda status: PbSpan(status=status).SerializeToString() if status is not None else b"",
            lambda: status_field,
            lambda data: PbSpan.FromString(data).status if data else None,
        ),
    }


_ORIGINALS = {
    "encode_spans": internal_traces.encode_spans,
    "encode_logs": public_logs.encode_logs,
    "_encode_attributes": common._encode_attributes,
    "_encode_value": common._encode_value,
    "_encode_status": internal_traces._encode_status,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Swap the names the upstream test modules imported (the SDK's own modules are left
    alone, so the reference answers stay the SDK's)."""
    wrappers = _wrappers()
    seen: set[int] = set()
    for item in items:
        module = getattr(item, "module", None)
        if module is None or id(module) in seen:
            continue
        seen.add(id(module))
        for name, original in _ORIGINALS.items():
            if getattr(module, name, None) is original:
                setattr(module, name, wrappers[name])
                _REPORT["swapped"] = sorted({*_REPORT.get("swapped", []), name})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep each upstream test's outcome (a failure in any phase wins)."""
    if report.when == "call" or report.outcome != "passed":
        previous = _REPORT["outcomes"].get(report.nodeid)
        if previous in (None, "passed"):
            _REPORT["outcomes"][report.nodeid] = report.outcome


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report for the outer test."""
    path = os.environ.get("ASTRA_OTEL_SWAP_REPORT")
    if path:
        _REPORT["exitstatus"] = int(exitstatus)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(_REPORT, fh, indent=1, default=str)
