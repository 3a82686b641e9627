"""Value patterns: secrets found by their shape inside free text and URLs.

Free text (exception messages and stack traces, log bodies, span names, status
descriptions, any string attribute) has no key to go by, so only these shapes are
recognised; each match's secret part becomes ``[REDACTED]`` and the rest of the text stays:

- PEM private key blocks (``-----BEGIN ... PRIVATE KEY-----`` to its END line);
- database error text: SQLAlchemy's ``[SQL: ...]`` (literals replaced by ``?``, as recorded
  statements are) and ``[parameters: ...]``, PostgreSQL's ``LINE n: ...`` context line and
  ``Key (col)=(value)`` detail;
- URLs (``scheme://...``): userinfo with a password, and every query or fragment parameter
  whose name is sensitive;
- ``name=value``, ``name: value``, ``"name": "value"`` where ``name`` is sensitive (the value
  up to whitespace, a quote, ``,;&)}]>``; a quoted value up to its closing quote; an
  ``Authorization: Bearer x`` value with its scheme);
- ``Bearer <credential>`` and ``Basic <base64>`` (8+ characters);
- well-known token formats: JWTs, AWS access key ids, GitHub, Slack, Stripe, OpenAI-style
  ``sk-`` and Google API keys;
- card numbers: 13-19 digits (spaces or dashes between them allowed) starting with 2-6 that
  pass the Luhn check.

What is *not* recognised: a secret in prose with no separator ("the password is hunter2"),
a value split by ``,`` or ``;`` after the first part, formats not listed above.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote_plus

__all__ = [
    "REDACTED",
    "looks_like_card_number",
    "scrub_query",
    "scrub_text",
    "scrub_url",
    "strip_sql_literals",
]

REDACTED = "[REDACTED]"
Sensitive = Callable[[str], bool]

# String literals ('..' with '' escapes), then numbers not part of an identifier or $1/:1.
_SQL_STRING = re.compile(r"'(?:[^']|'')*'")
_SQL_NUMBER = re.compile(r"(?<![\w$:?.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b")


def strip_sql_literals(statement: str) -> str:
    """Replace string and numeric literals in SQL with ``?``."""
    return _SQL_NUMBER.sub("?", _SQL_STRING.sub("?", statement))


# --- cards ---


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """13-19 digits (separators removed), first digit 2-6, Luhn-valid."""
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and digits.isdigit() and _luhn(digits)


_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")


def _cards(text: str) -> str:
    return _CARD.sub(lambda m: REDACTED if looks_like_card_number(m.group()) else m.group(), text)


# --- URLs ---


def scrub_query(query: str, sensitive: Sensitive) -> str:
    """A query string (or ``a=b`` fragment) with sensitive parameters' values redacted.

    Parameters are split at ``&``; inside one, a ``;``-separated sub-parameter with a
    sensitive name redacts everything after its ``=`` up to the next ``&``.
    """
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        offset = 0
        for sub in part.split(";"):
            name, eq, value = sub.partition("=")
            if eq and value and value != REDACTED and sensitive(unquote_plus(name)):
                parts[i] = f"{part[: offset + len(name)]}={REDACTED}"
                changed = True
                break
            offset += len(sub) + 1
    return "&".join(parts) if changed else query


_AUTHORITY_END = re.compile(r"[/?#\s]")


def scrub_url(url: str, sensitive: Sensitive) -> str:
    """``url`` with a password in its userinfo and sensitive query/fragment parameters
    redacted (``https://[REDACTED]:[REDACTED]@host/p?token=[REDACTED]``)."""
    scheme_end = url.find("://")
    head, rest = (url[: scheme_end + 3], url[scheme_end + 3 :]) if scheme_end > 0 else ("", url)
    if head:
        end = _AUTHORITY_END.search(rest)
        authority = rest[: end.start()] if end else rest
        userinfo, at, host = authority.rpartition("@")
        if at and ":" in userinfo:
            rest = f"{REDACTED}:{REDACTED}@{host}{rest[len(authority) :]}"
    base, hash_, fragment = rest.partition("#")
    path, question, query = base.partition("?")
    if question:
        query = scrub_query(query, sensitive)
    if hash_ and "=" in fragment:
        fragment = scrub_query(fragment, sensitive)
    return f"{head}{path}{question}{query}{hash_}{fragment}"


_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>`]+")

# --- key=value pairs ---

_PAIR_HEAD = re.compile(r"""(?P<name>[A-Za-z_][\w.\-]*)["']?[ \t]*[=:][ \t]*""")
_PAIR_VALUE = re.compile(
    r"""\[REDACTED\]|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
    r"""|(?:(?i:bearer|basic|token|digest)[ \t]+)?[^\s"',;&)}\]>]+"""
)
# Bind parameters and values something already redacted are left as they are.
_PLACEHOLDER = re.compile(
    r"""\?|%s|%\(\w+\)s|\$\d+|:\w+|\[REDACTED\]|REDACTED|\*+|None|null|""|''|"\[REDACTED\]"|'\[REDACTED\]'"""
)


def _redacted_value(value: str) -> str:
    if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
        return f"{value[0]}{REDACTED}{value[0]}"
    return REDACTED


def _pairs(text: str, sensitive: Sensitive) -> str:
    out: list[str] = []
    last = 0
    for head in _PAIR_HEAD.finditer(text):
        if head.start() < last or not sensitive(head.group("name")):
            continue
        value = _PAIR_VALUE.match(text, head.end())
        if value is None or _PLACEHOLDER.fullmatch(value.group()):
            continue
        out.append(text[last : value.start()])
        out.append(_redacted_value(value.group()))
        last = value.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


# --- everything else, by shape ---

_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S
)
_SQL_BLOCK = re.compile(r"(\[SQL: )(.*?)(\])(?=\n|\Z)", re.S)
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n|\Z)", re.S)
_PG_LINE = re.compile(r"^(LINE \d+: )(.*)$", re.M)
_PG_KEY = re.compile(r"(Key \([^)\n]*\)=\()(.*?)(\))(?=[ .]|$)", re.M)
_AUTH_SCHEME = re.compile(
    r"\b((?i:bearer)[ \t]+)[A-Za-z0-9\-._~+/]{8,}=*"
    # Basic: only text that looks encoded (a digit, + or /, or a lower-upper case change),
    # so "basic authentication" is left alone.
    r"|\b((?i:basic)[ \t]+)(?=[A-Za-z0-9+/]*(?:[0-9+/]|[a-z][A-Z]))"
    r"[A-Za-z0-9+/]{8,}={0,2}(?![\w+/=])"
)
_KNOWN_TOKENS = re.compile(
    r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*"  # JWT (header and payload are JSON objects)
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_\w{22,}"  # GitHub
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b"  # Stripe
    r"|\bsk-(?:proj-|ant-)?[\w-]{20,}"  # OpenAI/Anthropic-style
    r"|\bAIza[\w-]{35}\b"  # Google API key
)
# Cheap first look: text with none of these cannot match any pattern above.
_MAYBE = re.compile(
    r"[=:]|-----BEGIN|(?i:bearer|basic)[ \t]|eyJ|A[KS]IA|gh[pousr]_|github_pat_|xox[abprs]-"
    r"|[rs]k_(?:live|test)_|sk-|AIza|\d(?:[ -]?\d){12}"
)


def _sql_block(match: re.Match[str]) -> str:
    return f"{match.group(1)}{strip_sql_literals(match.group(2))}{match.group(3)}"


def _auth_scheme(match: re.Match[str]) -> str:
    return f"{match.group(1) or match.group(2)}{REDACTED}"


def scrub_text(text: str, sensitive: Sensitive) -> str:
    """``text`` with every secret the value patterns recognise replaced by ``[REDACTED]``."""
    if not _MAYBE.search(text):
        return text
    if "-----BEGIN" in text:
        text = _PEM.sub(REDACTED, text)
    if "[SQL: " in text:
        text = _SQL_BLOCK.sub(_sql_block, text)
    if "[parameters: " in text:
        text = _SQL_PARAMETERS.sub(f"[parameters: {REDACTED}]", text)
    if "LINE " in text:
        text = _PG_LINE.sub(lambda m: m.group(1) + strip_sql_literals(m.group(2)), text)
    if "Key (" in text:
        text = _PG_KEY.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: scrub_url(m.group(), sensitive), text)
    text = _pairs(text, sensitive)
    text = _AUTH_SCHEME.sub(_auth_scheme, text)
    text = _KNOWN_TOKENS.sub(REDACTED, text)
    return _cards(text)
