"""A small FastAPI service wired by ``astra_otel.setup()``, run as its own process by the
"collector absent" fault test: ``python _service.py PORT ENDPOINT SERVICE_NAME``.

``GET /work`` does a little traced work (a child span, a counter, a log record);
``GET /stats`` returns the pipeline's ``health()`` and the process's resident memory.
Export timeout 2 s and a 512-span queue make drops show within seconds of an outage.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from opentelemetry import metrics, trace

from astra_otel import MetricsOptions, TracesOptions, setup


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    port, endpoint, service = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    telemetry = setup(
        service_name=service,
        service_namespace="astra-faults",
        endpoint=endpoint,
        protocol="grpc",
        export_timeout=2.0,
        traces=TracesOptions(max_queue_size=512, schedule_delay=0.5),
        metrics=MetricsOptions(export_interval=1.0),
    )
    tracer = trace.get_tracer("astra.faults.service")
    work_done = metrics.get_meter("astra.faults.service").create_counter("astra.fault.work")
    log = logging.getLogger("astra.faults.service")
    app = FastAPI()

    @app.get("/work")
    def work() -> dict[str, int]:
        with tracer.start_as_current_span("fault.work", attributes={"fault.step": 1}):
            total = sum(range(200))
            work_done.add(1, {"fault.outcome": "ok"})
            log.info("work done")
        return {"total": total}

    @app.get("/stats")
    def stats() -> dict[str, Any]:
        return {"health": asdict(telemetry.health()), "rss": _rss_bytes()}

    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
