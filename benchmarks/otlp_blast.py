"""A load generator that costs almost nothing per span, so the collector is what a capacity
run measures: OTLP/gRPC trace exports encoded once, sent at a paced rate.

``python -m benchmarks.otlp_blast --endpoint HOST:PORT --rate SPANS_S --seconds S``

Each process encodes one ``ExportTraceServiceRequest`` (``TRACES_PER_REQUEST`` traces of
``SPANS_PER_TRACE`` spans, 5 attributes each, like the SDK's default 512-span batch) with a
random 8-byte marker as the first half of every trace id, and splits it at the markers.
Each send joins the pieces with the request's own number (one ``bytes.join``, ~50 us for
a 97 KB request), so every request carries traces nobody sent before, and goes out as is
(no serializer). Up to
``MAX_IN_FLIGHT`` exports are outstanding per process, like an SDK with several exporters.
Bounded in count (``rate * seconds`` spans) and time (``seconds`` + the export timeout).
Prints one JSON line: requests and spans sent, accepted and failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import struct
import sys
import time
from collections import deque
from multiprocessing import get_context
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = ["SPANS_PER_REQUEST", "main"]

SPANS_PER_TRACE = 10
TRACES_PER_REQUEST = 51
SPANS_PER_REQUEST = SPANS_PER_TRACE * TRACES_PER_REQUEST
MAX_IN_FLIGHT = 8
EXPORT_TIMEOUT_S = 10.0
_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _kv(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def encode(service: str, marker: bytes) -> bytes:
    """One request whose trace ids all start with ``marker`` (8 bytes)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", service), _kv("bench.kind", "capacity")])
    ss = rs.scope_spans.add()
    ss.scope.name = "astra.bench.blast"
    now = time.time_ns()
    for t in range(TRACES_PER_REQUEST):
        trace_id = marker + struct.pack(">Q", t + 1)
        root = (t * SPANS_PER_TRACE + 1).to_bytes(8, "big")
        for i in range(SPANS_PER_TRACE):
            span = ss.spans.add(
                trace_id=trace_id,
                span_id=root if i == 0 else (t * SPANS_PER_TRACE + 1 + i).to_bytes(8, "big"),
                parent_span_id=b"" if i == 0 else root,
                name="bench.root" if i == 0 else "bench.child",
                kind=Span.SPAN_KIND_SERVER if i == 0 else Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=now,
                end_time_unix_nano=now + 1_000_000,
            )
            span.attributes.extend(
                [
                    _kv("http.request.method", "GET"),
                    _kv("url.path", "/bench"),
                    _kv("server.port", 8000),
                    _kv("bench.index", i),
                    _kv("bench.kind", "capacity"),
                ]
            )
    payload = req.SerializeToString()
    if payload.count(marker) != TRACES_PER_REQUEST * SPANS_PER_TRACE:
        msg = "the trace id marker also occurs elsewhere in the payload"
        raise RuntimeError(msg)
    return payload


def _send(args: tuple[str, str, float, float, int]) -> dict[str, int]:
    """One process's share: ``rate`` spans/s for ``seconds``, paced per request."""
    endpoint, service, rate, seconds, index = args
    marker = secrets.token_bytes(8)
    pieces = encode(service, marker).split(marker)
    interval = SPANS_PER_REQUEST / rate
    # whole requests, rounded up: at least rate * seconds spans, at the paced rate
    total = max(1, math.ceil(rate * seconds / SPANS_PER_REQUEST))
    counts = {"requests": 0, "accepted": 0, "failed": 0}
    pending: deque[Any] = deque()

    def settle(future: Any) -> None:
        try:
            future.result()
            counts["accepted"] += 1
        except grpc.RpcError:
            counts["failed"] += 1

    with grpc.insecure_channel(endpoint) as channel:
        export = channel.unary_unary(_METHOD)  # bytes in, bytes out
        start = time.monotonic()
        for n in range(total):  # bounded in count, and in time by the pacing
            delay = start + n * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            while len(pending) >= MAX_IN_FLIGHT:
                settle(pending.popleft())
            request_id = struct.pack(">II", os.getpid() & 0xFFFFFFFF, (index << 24) | n)
            body = request_id.join(pieces)
            pending.append(export.future(body, timeout=EXPORT_TIMEOUT_S))
            counts["requests"] += 1
        while pending:
            settle(pending.popleft())
    return counts


def run(endpoint: str, service: str, rate: float, seconds: float, processes: int) -> dict[str, int]:
    """Send from ``processes`` processes at ``rate`` spans/s in all; the summed counts."""
    shares = [(endpoint, service, rate / processes, seconds, i) for i in range(processes)]
    with get_context("spawn").Pool(processes) as pool:
        results = pool.map(_send, shares)
    total = {k: sum(r[k] for r in results) for k in results[0]}
    return {
        **total,
        "spans_sent": total["requests"] * SPANS_PER_REQUEST,
        "spans_accepted": total["accepted"] * SPANS_PER_REQUEST,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: print the counts as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.otlp_blast")
    parser.add_argument("--endpoint", required=True, help="collector OTLP gRPC host:port")
    parser.add_argument("--service", default="bench-blast")
    parser.add_argument("--rate", type=float, required=True, help="spans per second, in all")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    counts = run(args.endpoint, args.service, args.rate, args.seconds, args.processes)
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
