"""TLS probes of the topology's instances."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path


def served_certificate(endpoint: str, ca: Path) -> bytes:
    """The certificate (DER) a new TLS connection to ``endpoint`` is given."""
    host, port = endpoint.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der
