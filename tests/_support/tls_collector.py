"""The single collector with its TLS layer (collector/otel-collector-tls.yaml) on free
loopback ports, beside a running stack whose Jaeger it exports to.

Used by the tests of setup()'s TLS variables and by the hostile-client faults (a client
without a certificate never reaches the gRPC decompressor).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from astra_otel._config.params import environ_snapshot
from astra_otel.stack import process
from astra_otel.stack.components import Component, resolve_components, state_paths
from astra_otel.stack.pki import Pki, ensure_pki, find_openssl

from .stack import RunningStack, pick_port_offset

__all__ = ["TLS_LAYER", "TlsCollector", "running_tls_collector"]

TLS_LAYER = Path(__file__).parents[2] / "collector" / "otel-collector-tls.yaml"


@dataclass(frozen=True)
class TlsCollector:
    """The running collector with the TLS layer, and the files its clients need."""

    component: Component
    pki: Pki
    telemetry: Path
    pid: int


@contextmanager
def running_tls_collector(
    stack: RunningStack, pki_dir: Path, state_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[TlsCollector]:
    """Start the collector with the TLS layer (certificates for "collector" and "client"
    under ``pki_dir``), extra config variables ``env``; stop it afterwards."""
    environ = environ_snapshot()
    pki = ensure_pki(pki_dir, find_openssl(environ), ("collector", "client"))
    settings = stack.stack.settings.with_(state_dir=state_dir, port_offset=pick_port_offset())
    base = resolve_components(settings, stack.stack.binaries)["collector"]
    comp = dataclasses.replace(base, command=(*base.command, "--config", f"file:{TLS_LAYER}"))
    paths = state_paths(settings)
    for key in ("queue", "telemetry"):
        paths[key].mkdir(parents=True, exist_ok=True)
    child_env = process.child_env(
        environ,
        {
            **comp.env,
            "OTELCOL_JAEGER_ENDPOINT": stack.stack.components["jaeger"].endpoint("otlp_grpc"),
            "OTELCOL_TLS_CERT_FILE": str(pki.cert("collector")),
            "OTELCOL_TLS_KEY_FILE": str(pki.key("collector")),
            "OTELCOL_TLS_CLIENT_CA_FILE": str(pki.ca_cert),
            "OTELCOL_TLS_TOKEN_FILE": str(pki.token),
            **(env or {}),
        },
    )
    began = time.monotonic()
    proc = process.spawn(comp, child_env, cwd=paths["logs"], die_with_parent=True)
    try:
        process.wait_healthy(comp, proc, began=began, deadline=began + 60)
        yield TlsCollector(comp, pki, paths["telemetry"], proc.pid)
    finally:
        process.terminate_group(proc.pid, 15)
        proc.wait(timeout=15)
