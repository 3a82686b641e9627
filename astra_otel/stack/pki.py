"""Throwaway certificates and a bearer token for the local stack's TLS hops, made with openssl.

:func:`ensure_pki` makes (or reuses) a directory holding a CA, one certificate per role and a
token; :func:`rotate` issues new certificates for some roles from the same CA, in place.
Everything is a file, because that is how the collectors read credentials (and how
Kubernetes mounts a cert-manager Secret): ``<role>.crt``/``<role>.key``, ``ca.crt`` and
``token``. Files are 0600 in a 0700 directory; keys never leave it.

The ``openssl`` command-line tool does the cryptography (every Linux and macOS host has it),
so the stack adds no Python dependency to the library that services install. Keys are
ECDSA P-256: a certificate takes a few milliseconds, and TLS 1.3 stacks all speak it.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from astra_otel.stack.errors import StackError
from astra_otel.stack.private import private_dir

__all__ = [
    "ROLES",
    "Pki",
    "Role",
    "ensure_pki",
    "find_openssl",
    "issue_ca",
    "rotate",
]

_VALID_DAYS = 30
_RENEW_BEFORE_S = 24 * 3600  # a certificate expiring within a day is reissued by ensure_pki
_LOCAL_NAMES = ("IP:127.0.0.1", "DNS:localhost")


@dataclass(frozen=True)
class Role:
    """One certificate of the PKI: who holds it and what it may be used for."""

    name: str
    server: bool
    client: bool


ROLES: tuple[Role, ...] = (
    # Gateways serve OTLP to the agents and are Jaeger's clients, with one certificate.
    Role("gateway", server=True, client=True),
    Role("agent", server=False, client=True),
    Role("jaeger", server=True, client=False),
    # The single collector's TLS layer (collector/otel-collector-tls.yaml) and its clients.
    Role("collector", server=True, client=False),
    Role("client", server=False, client=True),
)
_BY_NAME = {r.name: r for r in ROLES}


@dataclass(frozen=True)
class Pki:
    """Paths of one PKI directory (see the module docstring for its layout)."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        """The CA certificate every party trusts (``ca_file`` / ``client_ca_file``)."""
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        """The CA's private key: only :func:`rotate` and :func:`ensure_pki` read it."""
        return self.root / "ca.key"

    @property
    def token(self) -> Path:
        """The bearer token file: one token per line, the first is the one clients send."""
        return self.root / "token"

    def cert(self, role: str) -> Path:
        """``<role>.crt``: the role's certificate (PEM)."""
        return self.root / f"{role}.crt"

    def key(self, role: str) -> Path:
        """``<role>.key``: the role's private key (PEM, PKCS#8)."""
        return self.root / f"{role}.key"


def find_openssl(environ: Mapping[str, str]) -> Path:
    """The ``openssl`` binary on ``environ``'s PATH, or a StackError saying how to get it."""
    found = shutil.which("openssl", path=environ.get("PATH", os.defpath))
    if found is None:
        msg = (
            "openssl not found on PATH (it makes the stack's TLS certificates): install it "
            "(Debian/Ubuntu: `apt-get install openssl`)"
        )
        raise StackError(msg)
    return Path(found)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a 0600 file, atomically (readers see old or new)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _openssl(openssl: Path, *args: str, stdin: bytes = b"") -> bytes:
    try:
        done = subprocess.run(
            [str(openssl), *args], input=stdin, capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        msg = f"could not run {openssl}: {exc}"
        raise StackError(msg) from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        msg = f"`openssl {args[0]}` failed: {detail[-1] if detail else done.returncode}"
        raise StackError(msg)
    return done.stdout


def _new_key(openssl: Path) -> bytes:
    return _openssl(openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")


def _serial() -> str:
    return "0x" + secrets.token_hex(16)


_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = astra-otel
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = {usage}
subjectAltName = {names}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@contextmanager
def _scratch(root: Path, usage: str = "clientAuth", names: str = "DNS:localhost") -> Iterator[Path]:
    """An openssl config file (no secrets) in a private temporary directory."""
    with tempfile.TemporaryDirectory(dir=root, prefix=".openssl-") as tmp:
        config = Path(tmp) / "openssl.cnf"
        config.write_text(_CONFIG.format(usage=usage, names=names))
        yield config


def issue_ca(root: Path, openssl: Path, *, name: str = "astra-otel throwaway CA") -> Pki:
    """Make a new CA in ``root`` (replacing one that is there); no leaf certificates yet."""
    pki = _prepare(root)
    key = _new_key(openssl)
    _write_private(pki.ca_key, key)
    with _scratch(root) as config:
        cert = _openssl(
            openssl,
            "req",
            "-new",
            "-x509",
            "-config",
            str(config),
            "-extensions",
            "ca",
            "-key",
            str(pki.ca_key),
            "-subj",
            f"/CN={name}",
            "-days",
            str(_VALID_DAYS),
            "-sha256",
            "-set_serial",
            _serial(),
        )
    _write_private(pki.ca_cert, cert)
    return pki


def _issue_leaf(pki: Pki, role: Role, openssl: Path, names: tuple[str, ...]) -> None:
    usage = ", ".join(
        u for u, on in (("serverAuth", role.server), ("clientAuth", role.client)) if on
    )
    key = _new_key(openssl)
    with _scratch(pki.root, usage=usage, names=", ".join(names)) as config:
        key_file = config.parent / "leaf.key"
        _write_private(key_file, key)
        csr = _openssl(
            openssl,
            "req",
            "-new",
            "-config",
            str(config),
            "-key",
            str(key_file),
            "-subj",
            f"/CN=astra-otel {role.name}",
        )
        cert = _openssl(
            openssl,
            "x509",
            "-req",
            "-CA",
            str(pki.ca_cert),
            "-CAkey",
            str(pki.ca_key),
            "-set_serial",
            _serial(),
            "-days",
            str(_VALID_DAYS),
            "-sha256",
            "-extfile",
            str(config),
            "-extensions",
            "leaf",
            stdin=csr,
        )
    # Key first, then certificate: a collector reloading in between fails one handshake
    # (mismatched pair) and loads the pair at the next one; it never keeps a broken pair.
    _write_private(pki.key(role.name), key)
    _write_private(pki.cert(role.name), cert)


def _prepare(root: Path) -> Pki:
    return Pki(private_dir(root))


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Serialise writers of one PKI directory (``stack up`` and ``topology up`` share it)."""
    _prepare(root)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _valid(openssl: Path, cert: Path) -> bool:
    """True if ``cert`` exists and stays valid for at least another day."""
    if not cert.exists():
        return False
    done = subprocess.run(
        [str(openssl), "x509", "-checkend", str(_RENEW_BEFORE_S), "-noout", "-in", str(cert)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def _role(name: str) -> Role:
    try:
        return _BY_NAME[name]
    except KeyError:
        msg = f"unknown certificate role {name!r}: expected one of {', '.join(_BY_NAME)}"
        raise StackError(msg) from None


def ensure_pki(
    root: Path,
    openssl: Path,
    roles: tuple[str, ...] = tuple(_BY_NAME),
    *,
    names: tuple[str, ...] = _LOCAL_NAMES,
) -> Pki:
    """Make what is missing or about to expire in ``root``; keep what is valid.

    A new CA means new certificates for every role (the old ones would not verify).
    ``names`` are the subjectAltNames of server certificates (default: loopback).
    """
    with _locked(root):
        pki = Pki(root)
        fresh_ca = not (pki.ca_key.exists() and _valid(openssl, pki.ca_cert))
        if fresh_ca:
            issue_ca(root, openssl)
        for name in roles:
            if fresh_ca or not (pki.key(name).exists() and _valid(openssl, pki.cert(name))):
                _issue_leaf(pki, _role(name), openssl, names)
        if not pki.token.exists():
            _write_private(pki.token, (secrets.token_urlsafe(32) + "\n").encode())
        return pki


def rotate(
    root: Path, openssl: Path, roles: tuple[str, ...], *, names: tuple[str, ...] = _LOCAL_NAMES
) -> Pki:
    """Issue new certificates and keys for ``roles`` from the existing CA, replacing the files.

    Collectors pick them up without a restart: servers and clients reload their certificate
    at the first handshake after ``reload_interval``; the CA stays, so both generations
    verify while connections move over.
    """
    with _locked(root):
        pki = Pki(root)
        if not (pki.ca_key.exists() and pki.ca_cert.exists()):
            msg = f"no CA in {root} to rotate from: start the topology first"
            raise StackError(msg)
        for name in roles:
            _issue_leaf(pki, _role(name), openssl, names)
        return pki
