"""Header redaction and literal-free SQL."""

from __future__ import annotations

import pytest

from astra_otel._internal.redaction import (
    REDACTED,
    is_sensitive_header,
    sanitize_attributes,
    strip_sql_literals,
)


@pytest.mark.parametrize(
    "name",
    [
        "authorization",
        "Cookie",
        "set-cookie",
        "proxy-authorization",
        "X-API-Key",
        "x-client-secret",
        "x_refresh_token",
        "db-password",
    ],
)
def test_sensitive_headers_are_recognised(name: str) -> None:
    """The listed names and anything matching secret/token/password are sensitive."""
    assert is_sensitive_header(name)


@pytest.mark.parametrize("name", ["content-type", "user-agent", "x-request-id", "accept"])
def test_ordinary_headers_are_kept(name: str) -> None:
    """Ordinary headers are not redacted."""
    assert not is_sensitive_header(name)


def test_span_header_attributes_are_redacted() -> None:
    """http.*.header.<sensitive> values become [REDACTED]; others are untouched."""
    attrs = {
        "http.request.header.authorization": ("Bearer s3cr3t",),
        "http.response.header.set_cookie": ("sid=abc",),
        "http.request.header.user_agent": ("curl",),
    }
    clean = sanitize_attributes(attrs)
    assert clean is not None
    assert clean["http.request.header.authorization"] == (REDACTED,)
    assert clean["http.response.header.set_cookie"] == (REDACTED,)
    assert clean["http.request.header.user_agent"] == ("curl",)


def test_clean_attributes_are_returned_as_none() -> None:
    """Nothing to clean: None (no copy made)."""
    assert sanitize_attributes({"http.route": "/x", "db.statement": "SELECT ?"}) is None


def test_sql_literals_are_replaced() -> None:
    """String and numeric literals become ?, identifiers and placeholders stay."""
    sql = "SELECT t1.a FROM t1 WHERE name = 'O''Brien' AND id = 42 AND x > -3.5 AND y = :p1"
    assert strip_sql_literals(sql) == (
        "SELECT t1.a FROM t1 WHERE name = ? AND id = ? AND x > ? AND y = :p1"
    )
    assert sanitize_attributes({"db.query.text": "DELETE FROM u WHERE pw='hunter2'"}) == {
        "db.query.text": "DELETE FROM u WHERE pw=?"
    }
