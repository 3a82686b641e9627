"""A process whose trace exports fail, for the export-failure tests:
``python _failing_export_app.py ENDPOINT PROTOCOL [recover | EXPORT_TIMEOUT]``.

It sends one span, waits until ``health()`` shows the failure and prints the trace
health as a JSON line on stdout. With ``recover`` it then reads one line from stdin (sent
once the test has made the endpoint work), waits until the span was exported and prints
the health again. A number instead sets the export timeout (default 8 s). Then it
exits, leaving its exit hook to flush what is still queued.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict

from opentelemetry import trace

from astra_otel import LogsOptions, MetricsOptions, TracesOptions, setup


def _wait(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.02)


def main() -> None:
    endpoint, protocol, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    timeout = float(extra[0]) if extra and extra[0] != "recover" else 8.0
    telemetry = setup(
        service_name="failing-export",
        endpoint=endpoint,
        protocol=protocol,
        export_timeout=timeout,  # still retrying when the process exits
        shutdown_timeout=1.0,
        traces=TracesOptions(schedule_delay=0.05),
        metrics=MetricsOptions(enabled=False),
        logs=LogsOptions(enabled=False),
    )
    with trace.get_tracer("failing-export").start_as_current_span("doomed"):
        pass
    _wait(lambda: telemetry.health().traces.last_error is not None)
    print(json.dumps(asdict(telemetry.health().traces)), flush=True)
    if extra == ["recover"]:
        sys.stdin.readline()
        _wait(lambda: telemetry.health().traces.exported >= 1)
        print(json.dumps(asdict(telemetry.health().traces)), flush=True)


if __name__ == "__main__":
    main()
