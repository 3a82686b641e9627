"""The stack's throwaway PKI: what ensure_pki and rotate write, checked by openssl and ssl."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from astra_otel.stack import pki as pki_module
from astra_otel.stack.errors import StackError
from astra_otel.stack.pki import Pki, ensure_pki, find_openssl, rotate

OPENSSL = find_openssl({"PATH": os.defpath + ":/usr/bin"})


def _text(cert: Path) -> str:
    cmd = [str(OPENSSL), "x509", "-noout", "-text", "-in", str(cert)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def _verifies(pki: Pki, cert: Path, purpose: str) -> bool:
    cmd = [str(OPENSSL), "verify", "-purpose", purpose, "-CAfile", str(pki.ca_cert), str(cert)]
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


def test_files_are_private_and_certificates_chain_to_the_ca(tmp_path: Path) -> None:
    """Every file is 0600 in a 0700 directory; each role's certificate verifies for its use."""
    pki = ensure_pki(tmp_path / "tls", OPENSSL)
    assert stat.S_IMODE(pki.root.stat().st_mode) == 0o700
    files = [p for p in pki.root.iterdir() if not p.name.startswith(".")]
    assert {p.name for p in files} >= {"ca.crt", "ca.key", "token", "gateway.crt", "agent.key"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert _verifies(pki, pki.cert("gateway"), "sslserver")
    assert _verifies(pki, pki.cert("gateway"), "sslclient")
    assert _verifies(pki, pki.cert("agent"), "sslclient")
    assert not _verifies(pki, pki.cert("agent"), "sslserver")
    assert not _verifies(pki, pki.cert("jaeger"), "sslclient")
    assert "IP Address:127.0.0.1, DNS:localhost" in _text(pki.cert("jaeger"))
    assert "CA:TRUE" in _text(pki.ca_cert)
    token = pki.token.read_text().strip()
    assert len(token) >= 40 and token.isascii() and " " not in token


def test_ensure_keeps_valid_files_and_rotate_replaces_only_the_leaves(tmp_path: Path) -> None:
    """A second ensure_pki changes nothing; rotate issues new gateway files from the same CA."""
    pki = ensure_pki(tmp_path, OPENSSL, ("gateway", "agent"))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    ensure_pki(tmp_path, OPENSSL, ("gateway", "agent"))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    rotate(tmp_path, OPENSSL, ("gateway",))
    assert pki.cert("gateway").read_bytes() != before["gateway.crt"]
    assert pki.key("gateway").read_bytes() != before["gateway.key"]
    for name in ("ca.crt", "ca.key", "agent.crt", "agent.key", "token"):
        assert (tmp_path / name).read_bytes() == before[name], name
    assert _verifies(pki, pki.cert("gateway"), "sslserver")
    assert stat.S_IMODE(pki.cert("gateway").stat().st_mode) == 0o600


def test_certificates_about_to_expire_are_reissued_with_a_new_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the CA expires within the renewal window, the CA and every leaf are made anew."""
    pki = ensure_pki(tmp_path, OPENSSL, ("agent",))
    old_ca, old_agent = pki.ca_cert.read_bytes(), pki.cert("agent").read_bytes()
    monkeypatch.setattr(pki_module, "_RENEW_BEFORE_S", 60 * 24 * 3600)  # > validity
    ensure_pki(tmp_path, OPENSSL, ("agent",))
    assert pki.ca_cert.read_bytes() != old_ca
    assert pki.cert("agent").read_bytes() != old_agent
    assert _verifies(pki, pki.cert("agent"), "sslclient")


def test_a_python_tls13_client_and_server_accept_each_other(tmp_path: Path) -> None:
    """Python's ssl (OpenSSL, not our generator) completes TLS 1.3 mTLS with the files."""
    pki = ensure_pki(tmp_path, OPENSSL, ("collector", "client"))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    server_ctx.load_cert_chain(pki.cert("collector"), pki.key("collector"))
    server_ctx.load_verify_locations(pki.ca_cert)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
    client_ctx.load_cert_chain(pki.cert("client"), pki.key("client"))
    seen: dict[str, object] = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)

        def serve() -> None:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                seen["peer"] = tls.getpeercert()
                tls.sendall(b"ok")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            assert tls.version() == "TLSv1.3"
            assert tls.recv(2) == b"ok"
        thread.join(10)
    subject = dict(x[0] for x in seen["peer"]["subject"])  # type: ignore[index]
    assert subject["commonName"] == "astra-otel client"


def test_unknown_role_missing_ca_and_missing_openssl_are_stack_errors(tmp_path: Path) -> None:
    """Bad input fails with one-line StackErrors naming the fix."""
    with pytest.raises(StackError, match="unknown certificate role 'nope'"):
        ensure_pki(tmp_path / "a", OPENSSL, ("nope",))
    with pytest.raises(StackError, match="no CA in"):
        rotate(tmp_path / "b", OPENSSL, ("gateway",))
    with pytest.raises(StackError, match="openssl not found"):
        find_openssl({"PATH": str(tmp_path)})
