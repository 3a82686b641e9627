"""Value patterns: secrets recognised by their shape in free text, and text left alone."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from astra_otel._internal.redaction import DEFAULT
from astra_otel._internal.redaction_text import (
    REDACTED,
    looks_like_card_number,
    strip_sql_literals,
)

R = REDACTED


def scrub(text: str) -> str:
    """The built-in redactor's free-text scrubbing."""
    return DEFAULT.text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login failed: password=hunter2 for bob", f"login failed: password={R} for bob"),
        ("token: abc123 rejected", f"token: {R} rejected"),
        (
            "KeyError: {'password': 'hunter2', 'user': 'bob'}",
            f"KeyError: {{'password': '{R}', 'user': 'bob'}}",
        ),
        ('bad {"api_key": "sk-a\\"b", "n": 1}', f'bad {{"api_key": "{R}", "n": 1}}'),
        ('connect(password = "x y")', f'connect(password = "{R}")'),
        ("--db-password=s3cret --verbose", f"--db-password={R} --verbose"),
        ("Authorization: Bearer abcdefgh12345 refused", f"Authorization: {R} refused"),
        ("error: token=abc inside", f"error: token={R} inside"),
        ("baggage user=alice,api_key=s3cr3t", f"baggage user=alice,api_key={R}"),
        ("WHERE password = ? AND token = :token", "WHERE password = ? AND token = :token"),
        ("sent Bearer eyJabc.def-ghi_jkl to upstream", f"sent Bearer {R} to upstream"),
        ("header Basic dXNlcjpwYXNzd29yZA== ok", f"header Basic {R} ok"),
        (
            "GET https://api/x?page=1&access_token=t0k3n HTTP/1.1",
            f"GET https://api/x?page=1&access_token={R} HTTP/1.1",
        ),
        (
            "dial postgresql://app:s3cret@db:5432/x failed",
            f"dial postgresql://{R}:{R}@db:5432/x failed",
        ),
        ("card 4111 1111 1111 1111 declined", f"card {R} declined"),
        ("card 4111-1111-1111-1111 declined", f"card {R} declined"),
        ("amex 378282246310005", f"amex {R}"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig_nature-x", f"jwt {R}"),
        ("key AKIAIOSFODNN7EXAMPLE used", f"key {R} used"),
        ("gh ghp_" + "a" * 36 + " leaked", f"gh {R} leaked"),
        ("slack xoxb-1234567890-abcdef", f"slack {R}"),
        ("stripe sk_live_" + "a1" * 10, f"stripe {R}"),
        ("openai sk-proj-" + "A" * 24, f"openai {R}"),
        ("google AIza" + "B" * 35, f"google {R}"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- after",
            f"{R} after",
        ),
        ("-----BEGIN PRIVATE KEY-----\nMIIE truncated", R),
    ],
)
def test_value_patterns_redact_the_secret_and_keep_the_rest(text: str, expected: str) -> None:
    """Each recognised shape loses exactly its secret part."""
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the password is hunter2",  # prose: no separator, documented as not covered
        "basic authentication failed for bob",
        "bearer of bad news",
        "token_count=5 tokens=7 author=me authority: x",
        "GET /users/42 took 12:30.5 ms at 2024-01-01 12:00:00",
        "order 4111111111111112 (not Luhn-valid)",
        "timestamp 1712345678901 and 1712345678901234567",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "see https://sqlalche.me/e/20/e3q8 and ssh://git@github.com/x",
        "redis GET session-store done",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    """Prose, counts, dates, ids and plain URLs pass unchanged."""
    assert scrub(text) == text


def test_sqlalchemy_errors_lose_statement_literals_and_parameters() -> None:
    """The [SQL: ...] block is stripped like a recorded statement; [parameters: ...] goes."""
    failing = (
        "(sqlite3.OperationalError) no such table: nope\n"
        "[SQL: SELECT * FROM nope WHERE k = 'hunter2' AND n = 42]\n"
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
    )
    assert scrub(failing) == (
        "(sqlite3.OperationalError) no such table: nope\n"
        "[SQL: SELECT * FROM nope WHERE k = ? AND n = ?]\n"
        "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
    )
    with_params = (
        "(sqlite3.IntegrityError) UNIQUE constraint failed: t.k\n"
        "[SQL: INSERT INTO t VALUES (?)]\n[parameters: ('hunter2', 42)]"
    )
    assert scrub(with_params) == (
        "(sqlite3.IntegrityError) UNIQUE constraint failed: t.k\n"
        f"[SQL: INSERT INTO t VALUES (?)]\n[parameters: {R}]"
    )


def test_postgres_context_lines_and_key_details_lose_their_values() -> None:
    """psycopg's LINE n: context is stripped of literals and Key (..)=(..) of its value."""
    text = (
        'invalid input syntax for type integer: "x"\n'
        "LINE 1: SELECT * FROM t WHERE id = 'abc' AND n = 7\n"
        "DETAIL:  Key (email)=(a@b.com) already exists."
    )
    assert scrub(text) == (
        'invalid input syntax for type integer: "x"\n'
        "LINE 1: SELECT * FROM t WHERE id = ? AND n = ?\n"
        f"DETAIL:  Key (email)=({R}) already exists."
    )


def test_a_real_sqlalchemy_error_message_is_redacted() -> None:
    """What SQLAlchemy really raises for a failing statement carries no literal after."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.connect() as conn, pytest.raises(sqlalchemy.exc.OperationalError) as info:
        conn.execute(sqlalchemy.text("SELECT * FROM missing WHERE k = 'hunter2-literal'"))
    assert "hunter2-literal" in str(info.value)
    assert "hunter2-literal" not in scrub(str(info.value))
    assert "[SQL: SELECT * FROM missing WHERE k = ?]" in scrub(str(info.value))


def test_strip_sql_literals_keeps_identifiers_and_placeholders() -> None:
    """String and numeric literals become ?; identifiers, $1 and :name stay."""
    sql = (
        "SELECT t1.a FROM t1 WHERE name = 'O''Brien' AND id = 42 AND x > -3.5 AND y = :p1"
        " AND z = $2"
    )
    assert strip_sql_literals(sql) == (
        "SELECT t1.a FROM t1 WHERE name = ? AND id = ? AND x > ? AND y = :p1 AND z = $2"
    )


def _luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it Luhn-valid."""
    for check in "0123456789":
        if looks_like_card_number(prefix + check):
            return prefix + check
    raise AssertionError(prefix)


@given(
    first=st.sampled_from("3456"),
    body=st.text(alphabet="0123456789", min_size=13, max_size=14),
    words=st.lists(st.sampled_from(["paid", "with", "card", "ok", "id:"]), max_size=4),
)
def test_any_luhn_valid_card_in_text_is_redacted(first: str, body: str, words: list[str]) -> None:
    """Generated card numbers (15-16 digits, valid check digit) never survive."""
    card = _luhn_complete(first + body)
    text = " ".join([*words, card, *words])
    assert card not in scrub(text)
    assert R in scrub(text)


@given(
    name=st.sampled_from(["password", "api_key", "client_secret", "access_token", "session_id"]),
    sep=st.sampled_from(["=", ": ", " = ", '": "']),
    secret=st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.",
        min_size=4,
        max_size=30,
    ),
    before=st.sampled_from(["", "error ", '{"', "failed: ", "x&"]),
)
def test_generated_key_value_secrets_are_redacted(
    name: str, sep: str, secret: str, before: str
) -> None:
    """name=value in any common spelling loses the value, whatever it looks like."""
    assume(secret not in {"None", "null"})  # bind-parameter-like values are kept
    quote = '"' if sep.startswith('"') else ""
    text = f"{before}{name}{sep}{secret}{quote} tail"
    out = scrub(text)
    assert f"{sep}{secret}" not in out
    assert out.endswith(" tail")
