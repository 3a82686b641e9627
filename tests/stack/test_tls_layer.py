"""The TLS config layers: what they switch on, and that they stay in step with their base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).parents[2]
COLLECTOR = REPO / "collector"


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((COLLECTOR / name).read_text())


def _server_tls_required(protocol: dict[str, Any]) -> None:
    tls = protocol["tls"]
    assert tls["min_version"] == "1.3"
    assert tls["client_ca_file"].startswith("${env:")  # a client certificate is mandatory
    assert tls["reload_interval"].startswith("${env:")
    assert "insecure" not in tls


def test_single_collector_layer_secures_both_receivers_and_keeps_every_extension() -> None:
    """otel-collector-tls.yaml: TLS 1.3 + client CA + token on gRPC and HTTP, and its
    extension list is the base list plus the authenticator (a layer replaces lists)."""
    base, layer = _load("otel-collector.yaml"), _load("otel-collector-tls.yaml")
    for protocol in layer["receivers"]["otlp"]["protocols"].values():
        _server_tls_required(protocol)
        assert protocol["auth"] == {"authenticator": "bearertokenauth/clients"}
    assert set(layer["receivers"]["otlp"]["protocols"]) == set(
        base["receivers"]["otlp"]["protocols"]
    )
    assert layer["service"]["extensions"] == [
        *base["service"]["extensions"],
        "bearertokenauth/clients",
    ]


def test_gateway_receivers_and_every_hop_out_of_agent_and_gateway_use_tls() -> None:
    """gateway.yaml requires mTLS + token on every protocol; no exporter of the agent or
    the gateway is insecure, and the agent authenticates every load-balancing exporter."""
    gateway, agent = _load("gateway.yaml"), _load("agent.yaml")
    for protocol in gateway["receivers"]["otlp"]["protocols"].values():
        _server_tls_required(protocol)
        assert protocol["auth"] == {"authenticator": "bearertokenauth/agents"}
    assert "bearertokenauth/agents" in gateway["service"]["extensions"]
    jaeger_tls = gateway["exporters"]["otlp_grpc/jaeger"]["tls"]
    assert jaeger_tls["min_version"] == "1.3" and "cert_file" in jaeger_tls
    for name, exporter in agent["exporters"].items():
        otlp = exporter["protocol"]["otlp"]
        assert otlp["tls"]["min_version"] == "1.3", name
        assert {"ca_file", "cert_file", "key_file"} <= set(otlp["tls"]), name
        assert otlp["auth"] == {"authenticator": "bearertokenauth/gateways"}, name
    assert "bearertokenauth/gateways" in agent["service"]["extensions"]
    for text in (COLLECTOR / "agent.yaml", COLLECTOR / "gateway.yaml"):
        assert "insecure" not in yaml.safe_dump(yaml.safe_load(text.read_text()))


def test_jaeger_tls_layer_adds_an_mtls_receiver_beside_the_loopback_one() -> None:
    """jaeger-tls.yaml adds otlp/tls (mTLS, TLS 1.3) and keeps the plaintext loopback otlp."""
    base, layer = _load("jaeger/jaeger.yaml"), _load("jaeger/jaeger-tls.yaml")
    _server_tls_required(layer["receivers"]["otlp/tls"]["protocols"]["grpc"])
    assert layer["service"]["pipelines"]["traces"]["receivers"] == [
        *base["service"]["pipelines"]["traces"]["receivers"],
        "otlp/tls",
    ]
