"""Sensitive names, the allowlist and user patterns, and how each kind of value is redacted."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from astra_otel._internal.redaction import (
    DEFAULT,
    NAME_TERMS,
    REDACTED,
    Redactor,
    header_patterns,
    is_sensitive_header,
    normalize_name,
)

SENSITIVE = [
    "password",
    "db.password",
    "PASSWORD",
    "passwd",
    "passphrase",
    "mysql_pwd",
    "pass",
    "user.pass",
    "secret",
    "client_secret",
    "AWS_SECRET_ACCESS_KEY",
    "token",
    "access_token",
    "refresh-token",
    "csrftoken",
    "x_refresh_token",
    "idToken",
    "authorization",
    "Proxy-Authorization",
    "http.request.header.authorization",
    "oauth_state",
    "x-auth-token",
    "auth",
    "credentials",
    "X-Amz-Credential",
    "session",
    "session.id",
    "JSESSIONID",
    "sessionId",
    "cookie",
    "Set-Cookie",
    "http.response.header.set_cookie",
    "jwt",
    "jwt_claims",
    "csrf",
    "x-xsrf-token",
    "ssn",
    "cvv",
    "sentry.dsn",
    "api_key",
    "apikey",
    "X-API-Key",
    "xApiKey",
    "http.request.header.x_api_key",
    "private_key",
    "privateKey",
    "AWSAccessKeyId",
    "signing_key",
    "signature",
    "X-Amz-Signature",
    "sig",
    "credit_card",
    "creditCardNumber",
    "card_number",
    "social_security_number",
    "bearer",
    "connection_string",
    "db-password",
    "x-client-secret",
]

# Near misses: names that contain a term's letters but hold no secret.
NOT_SENSITIVE = [
    "token_count",
    "tokens",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "tokenizer",
    "tokenized",
    "author",
    "authors",
    "author_id",
    "coauthor",
    "authority",
    ":authority",
    "http.request.header.:authority",
    "is_authenticated",
    "secretary",
    "session_count",
    "token_type",
    "auth_type",
    "password_length",
    "cookie_size",
    "secret_expiry",
    "key",
    "cache_key",
    "redis.key",
    "monkey",
    "keyboard",
    "signal",
    "design",
    "bypass",
    "passenger",
    "compass",
    "url.query",
    "url.full",
    "http.route",
    "user_agent.original",
    "db.statement",
    "code.function.name",
    "exception.message",
    "content-type",
    "user-agent",
    "x-request-id",
    "accept",
]


@pytest.mark.parametrize("name", SENSITIVE)
def test_sensitive_names_are_recognised(name: str) -> None:
    """Each built-in term is found in a name, whatever its case and separators."""
    assert DEFAULT.sensitive(name)


@pytest.mark.parametrize("name", NOT_SENSITIVE)
def test_near_misses_are_not_redacted(name: str) -> None:
    """Counts, plural tokens, authors, authorities and ordinary keys keep their values."""
    assert not DEFAULT.sensitive(name)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("X-Api-Key", "x_api_key"),
        ("xApiKey", "x_api_key"),
        ("OAuthToken", "o_auth_token"),
        ("JSESSIONID", "jsessionid"),
        ("http.request.header.set_cookie", "http_request_header_set_cookie"),
        ("__Host-token__", "host_token"),
    ],
)
def test_names_are_compared_by_their_words(name: str, words: str) -> None:
    """Case, separators and camelCase humps all become single underscores."""
    assert normalize_name(name) == words


def test_user_patterns_add_names_and_the_allowlist_removes_them() -> None:
    """A user pattern is searched case-insensitively in the name as written; the allowlist
    must match a whole name and wins over both the built-in terms and user patterns."""
    redactor = Redactor(patterns=("iban", r"^acct\."), allowlist=("page_token", "acct.id"))
    assert redactor.sensitive("customer.IBAN")
    assert redactor.sensitive("acct.number")
    assert not redactor.sensitive("acct.id")
    assert not redactor.sensitive("page_token")
    assert redactor.sensitive("next_page_token")  # the allowlist matches whole names only
    assert redactor.sensitive("password")
    assert not DEFAULT.sensitive("customer.iban")


def test_allowlisted_names_still_get_the_value_patterns() -> None:
    """An allowlisted key keeps its value, except secrets the value patterns recognise."""
    redactor = Redactor(allowlist=("session",))
    assert redactor.value("session", "abc") == "abc"
    assert redactor.value("session", "Bearer abcdefgh12345") == f"Bearer {REDACTED}"


def test_values_under_sensitive_keys_are_replaced_and_keys_kept() -> None:
    """Any type becomes [REDACTED]; a sequence becomes a one-item sequence of the same type."""
    attrs = {
        "password": 1234,
        "api_key": "k",
        "http.request.header.authorization": ("Bearer s3cr3t",),
        "cookie": ["a=b", "c=d"],
        "ok": True,
    }
    clean = DEFAULT.attributes(attrs)
    assert clean == {
        "password": REDACTED,
        "api_key": REDACTED,
        "http.request.header.authorization": (REDACTED,),
        "cookie": [REDACTED],
        "ok": True,
    }


def test_clean_attributes_are_returned_as_none() -> None:
    """Nothing to redact: None, and no copy is made."""
    assert DEFAULT.attributes({"http.route": "/x", "db.statement": "SELECT ?", "n": 3}) is None
    assert DEFAULT.attributes(None) is None


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "url.query",
            "token=abc&page=2&password=hunter2",
            f"token={REDACTED}&page=2&password={REDACTED}",
        ),
        ("url.query", "api%5Fkey=abc&q=1", f"api%5Fkey={REDACTED}&q=1"),
        ("url.query", "a=1;session_id=x;b=2&c=3", f"a=1;session_id={REDACTED}&c=3"),
        (
            "url.full",
            "https://u:p%40ss@example.com:8443/x?api_key=k1&q=1#access_token=t9&state=s",
            f"https://{REDACTED}:{REDACTED}@example.com:8443/x?api_key={REDACTED}&q=1"
            f"#access_token={REDACTED}&state=s",
        ),
        (
            "url.full",
            "https://REDACTED:REDACTED@h/x?sig=REDACTED&token=1",
            f"https://{REDACTED}:{REDACTED}@h/x?sig={REDACTED}&token={REDACTED}",
        ),
        ("url.full", "https://git@github.com/x.git", "https://git@github.com/x.git"),
        ("http.target", "/login?user=bob&pass=x", f"/login?user=bob&pass={REDACTED}"),
        ("http.url", "http://h/p?token_count=3", "http://h/p?token_count=3"),
        (
            "http.request.header.referer",
            ("https://a/?code=1&token=t",),
            (f"https://a/?code=1&token={REDACTED}",),
        ),
        ("url.path", "/reset-password/step2", "/reset-password/step2"),
    ],
)
def test_url_parameters_with_sensitive_names_are_redacted(
    key: str, value: object, expected: object
) -> None:
    """Query and fragment parameters are judged by their (decoded) names; a password in
    the userinfo goes with its user name; a user name alone stays."""
    assert DEFAULT.value(key, value) == expected


def test_statements_lose_literals_and_parameters_their_values() -> None:
    """db.statement/db.query.text keep their shape; db.query.parameter.* are redacted."""
    assert DEFAULT.value(
        "db.query.text", "SELECT a FROM t WHERE name = 'O''Brien' AND id = 42"
    ) == ("SELECT a FROM t WHERE name = ? AND id = ?")
    assert DEFAULT.value("db.statement", "UPDATE u SET pw='x' WHERE id = :p1") == (
        "UPDATE u SET pw=? WHERE id = :p1"
    )
    assert DEFAULT.value("db.query.parameter.0", "alice") == REDACTED


def test_card_numbers_are_redacted_as_integers_too() -> None:
    """A Luhn-valid 13-19 digit integer starting 2-6 is a card number; timestamps are not."""
    assert DEFAULT.value("n", 4111111111111111) == REDACTED
    assert DEFAULT.value("n", 4111111111111112) == 4111111111111112
    assert DEFAULT.value("t", 1712345678901234567) == 1712345678901234567
    assert DEFAULT.value("b", True) is True


def test_log_bodies_are_redacted_by_key_and_by_text() -> None:
    """A mapping body is redacted by key, recursively; strings by the value patterns."""
    body = {"user": "bob", "password": "x", "nested": [{"api_key": "k"}, "token=abc"]}
    assert DEFAULT.body(body) == {
        "user": "bob",
        "password": REDACTED,
        "nested": [{"api_key": REDACTED}, f"token={REDACTED}"],
    }
    assert DEFAULT.body(b"raw") == b"raw"
    assert DEFAULT.body(7) == 7


def test_header_capture_uses_the_same_terms() -> None:
    """Capture-time header checks and the contrib instrumentation's patterns come from the
    one list of terms."""
    assert is_sensitive_header("x-api-key")
    assert not is_sensitive_header("content-type")
    assert len(header_patterns()) == len(NAME_TERMS)
    import re  # noqa: PLC0415

    joined = re.compile("|".join(header_patterns()), re.IGNORECASE)
    for name in ("authorization", "x-api-key", "set-cookie", "x-csrf-token"):
        assert joined.search(name)
    for name in ("content-type", "user-agent", "accept"):
        assert not joined.search(name)


def test_decisions_are_cached_and_the_cache_is_bounded() -> None:
    """A name is decided once; a flood of distinct names never grows the cache unbounded."""
    redactor = Redactor()
    for i in range(10_000):
        redactor.sensitive(f"k{i}")
    assert len(redactor._names) <= 4096


_names = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=20)


@given(
    prefix=_names, term=st.sampled_from(["password", "secret", "api_key", "access_token", "cookie"])
)
def test_a_term_anywhere_in_a_name_is_found(prefix: str, term: str) -> None:
    """Whatever precedes it (after a separator), a term makes the name sensitive, unless
    the name ends in a descriptive word."""
    assert DEFAULT.sensitive(f"{prefix}.{term}")
    assert not DEFAULT.sensitive(f"{prefix}.{term}_count")


@given(key=_names, value=st.text(max_size=200))
def test_redaction_is_idempotent_and_never_raises(key: str, value: str) -> None:
    """Redacting what was already redacted changes nothing, for any key and text."""
    once = DEFAULT.value(key, value)
    assert DEFAULT.value(key, once) == once
