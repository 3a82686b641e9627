"""The OTLP TLS settings: CA, client certificate and key, general and per signal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from astra_otel import ConfigError, TracesOptions
from astra_otel._config.settings import load_settings


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """Three files standing in for a CA, a client certificate and its key."""
    out = {}
    for name in ("ca.crt", "other-ca.crt", "client.crt", "client.key"):
        (tmp_path / name).write_text("PEM\n")
        out[name] = str(tmp_path / name)
    return out


def test_general_variables_apply_to_every_signal_and_per_signal_ones_win(
    files: dict[str, str],
) -> None:
    """OTEL_EXPORTER_OTLP_CERTIFICATE & co. reach every signal's export; the _TRACES_ forms
    (and TracesOptions) replace them for traces only."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example:4318",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": files["ca.crt"],
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": files["client.crt"],
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": files["client.key"],
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": files["other-ca.crt"],
    }
    s = load_settings({}, env)
    for export in (s.metrics.export, s.logs.export):
        assert (export.certificate, export.client_certificate, export.client_key) == (
            files["ca.crt"],
            files["client.crt"],
            files["client.key"],
        )
    assert s.traces.export.certificate == files["other-ca.crt"]
    assert s.traces.export.client_certificate == files["client.crt"]
    by_option = load_settings({"traces": TracesOptions(certificate=files["ca.crt"])}, env)
    assert by_option.traces.export.certificate == files["ca.crt"]


def test_without_tls_variables_the_system_trust_store_is_used() -> None:
    """No certificate set: None (the exporters then verify against the system's store)."""
    s = load_settings({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.example:4318"})
    assert s.traces.export.certificate is None
    assert s.traces.export.client_certificate is None


def test_a_missing_file_names_its_variable(tmp_path: Path) -> None:
    """A path that is not a file fails setup() with the variable that gave it."""
    env = {"OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY": str(tmp_path / "nope.key")}
    with pytest.raises(ConfigError, match=r"OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY=.*existing file"):
        load_settings({}, env)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
    ],
)
def test_a_client_certificate_needs_its_key_and_the_key_its_certificate(
    files: dict[str, str], given: str, missing: str
) -> None:
    """Half a client credential is refused, naming the half that is missing."""
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4318", given: files["client.key"]}
    with pytest.raises(ConfigError, match=f"^{missing}=None"):
        load_settings({}, env)


def test_tls_files_with_a_plaintext_endpoint_are_refused(files: dict[str, str]) -> None:
    """A certificate with an http:// endpoint would silently send in clear: refused."""
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4318",
        "OTEL_EXPORTER_OTLP_CERTIFICATE": files["ca.crt"],
    }
    with pytest.raises(
        ConfigError, match=re.escape("traces endpoint='http://collector.example:4318")
    ):
        load_settings({}, env)
    # The same files with the signal's own https:// endpoint are fine for that signal only.
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "https://collector.example:4318/v1/traces"
    with pytest.raises(ConfigError, match="metrics endpoint"):
        load_settings({}, env)
