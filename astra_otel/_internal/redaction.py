"""Secrets never leave the process: one set of sensitive names, applied to everything exported.

A :class:`Redactor` (one per ``setup()``, built from the ``redact_patterns`` and
``redact_allowlist`` settings) is applied on the export threads, by the OTLP encoders and on
the SDK-exporter path alike (so ``astra_otel.testing`` captures what production sends):

- **Sensitive names.** An attribute (span, span event, span link, log record including
  ``extra=`` fields, resource, scope, metric data point) whose key is a sensitive name has its
  value replaced by ``[REDACTED]`` (a sequence by ``("[REDACTED]",)``); the key stays. So
  does every query or fragment parameter with a sensitive name inside ``url.query``,
  ``url.full``, ``http.target``, ``http.url``, ``url.original`` and captured
  ``Referer``/``Location`` headers, and a password in a URL's userinfo.
- **Statements.** ``db.statement``/``db.query.text`` lose their string and numeric literals
  (``?``); ``db.query.parameter.*`` values are redacted.
- **Free text.** Every other string value, log body, span and event name and status
  description goes through the value patterns of :mod:`astra_otel._internal.redaction_text`.

A name is sensitive when (1) it does not fully match an allowlist pattern, and (2) it
matches a user pattern (searched, case-insensitive, in the name as written) or one of
:data:`NAME_TERMS`, searched in its *words* (lower case, split at non-alphanumerics and at
camelCase humps, joined by ``_``: ``X-Api-Key`` and ``xApiKey`` are both ``x_api_key``),
unless its last word is one of :data:`DESCRIPTIVE_SUFFIXES` (``token_count`` describes a
token, it is not one). Decisions and scrubbed texts are cached per name/text (bounded), so
a repeated key costs one dict lookup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from astra_otel._internal.redaction_text import (
    REDACTED,
    looks_like_card_number,
    scrub_query,
    scrub_text,
    scrub_url,
    strip_sql_literals,
)

__all__ = [
    "DEFAULT",
    "DESCRIPTIVE_SUFFIXES",
    "NAME_TERMS",
    "REDACTED",
    "Redactor",
    "header_patterns",
    "is_sensitive_header",
    "normalize_name",
    "strip_sql_literals",
]

# (pattern searched in the name's words, why it is there / what it must not catch)
NAME_TERMS: tuple[tuple[str, str], ...] = (
    (r"password|passwd|passphrase", "passwords"),
    (r"(?:^|_)(?:pwd|pass)(?:_|$)", "mysql_pwd, ?pass=; not bypass, passenger"),
    (r"secret(?!ar)", "secrets, client_secret; not secretary"),
    (r"token(?!s|i[sz])", "access_token, csrftoken; not tokens/tokenizer (LLM usage counts)"),
    (
        r"auth(?!or(?!i[sz])|enticated)",
        "authorization, oauth, x-auth-token; not author, authority (the HTTP/2 host), "
        "authenticated (a flag)",
    ),
    (r"credential", "credentials, X-Amz-Credential"),
    (r"session", "session ids, JSESSIONID"),
    (r"cookie", "cookie, set-cookie"),
    (r"(?:^|_)jwt", "JWTs"),
    (r"(?:^|_)(?:csrf|xsrf|ssn|cvv|cvc|dsn)(?:_|$)", "CSRF tokens, SSNs, card codes, DSNs"),
    (
        r"(?:api|private|access|secret|signing|encryption|client|master)_?key",
        "api_key, x-api-key, private_key, access key ids; not key, cache_key",
    ),
    (r"signature|(?:^|_)sig(?:_|$)", "signed-URL signatures (sig, X-Amz-Signature)"),
    (r"credit_?card|card_?number|social_?security", "card and social security numbers"),
    (r"(?:^|_)bearer(?:_|$)", "bearer credentials"),
    (r"connection_?string", "connection strings (they carry passwords)"),
)
DESCRIPTIVE_SUFFIXES = frozenset(
    {
        "count",
        "counts",
        "length",
        "len",
        "size",
        "type",
        "kind",
        "limit",
        "ttl",
        "expiry",
        "expires",
        "expiration",
        "enabled",
        "required",
    }
)
_TERMS = re.compile("|".join(f"(?:{pattern})" for pattern, _why in NAME_TERMS))
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

URL_KEYS = frozenset(
    {
        "url.full",
        "url.original",
        "http.url",
        "http.target",
        "http.request.header.referer",
        "http.response.header.location",
    }
)
_QUERY_KEYS = frozenset({"url.query"})
_STATEMENT_KEYS = frozenset({"db.statement", "db.query.text"})
_REDACTED_PREFIXES = ("db.query.parameter.",)
_MAX_CACHED = 4096


def normalize_name(name: str) -> str:
    """``name``'s words, lower case, joined by ``_`` (``X-Api-Key`` -> ``x_api_key``)."""
    return _NON_ALNUM.sub("_", _CAMEL.sub("_", name).lower()).strip("_")


def header_patterns() -> list[str]:
    """:data:`NAME_TERMS` as regexes over raw header names (``-`` or ``_`` between words),
    for instrumentations that take a list of header patterns to redact at capture."""
    return [pattern.replace("_", "[-_]") for pattern, _why in NAME_TERMS]


def _compiled(patterns: Iterable[str]) -> re.Pattern[str] | None:
    joined = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(joined, re.IGNORECASE) if joined else None


def _redacted_like(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return type(value)([REDACTED])
    return REDACTED


class Redactor:
    """Decides which names are sensitive and scrubs values; safe to share across threads
    (its caches are plain dicts, bounded by emptying them when full)."""

    def __init__(self, patterns: Iterable[str] = (), allowlist: Iterable[str] = ()) -> None:
        self._extra = _compiled(patterns)
        self._allow = _compiled(allowlist)
        self._names: dict[str, bool] = {}
        self._texts: dict[str, str] = {}

    # --- names ---

    def sensitive(self, name: str) -> bool:
        """Whether a value under ``name`` (attribute key, parameter name) is a secret."""
        known = self._names.get(name)
        if known is None:
            known = self._decide(name)
            if len(self._names) >= _MAX_CACHED:
                self._names.clear()
            self._names[name] = known
        return known

    def _decide(self, name: str) -> bool:
        if self._allow is not None and self._allow.fullmatch(name):
            return False
        if self._extra is not None and self._extra.search(name):
            return True
        words = normalize_name(name)
        if _TERMS.search(words) is None:
            return False
        return words.rpartition("_")[2] not in DESCRIPTIVE_SUFFIXES

    # --- values ---

    def text(self, text: str) -> str:
        """Free text with the value patterns applied (cached per text)."""
        done = self._texts.get(text)
        if done is None:
            done = scrub_text(text, self.sensitive)
            if len(self._texts) >= _MAX_CACHED:
                self._texts.clear()
            self._texts[text] = done
        return done

    def _string(self, key: str, value: str) -> str:
        if key in _STATEMENT_KEYS:
            value = strip_sql_literals(value)
        elif key in URL_KEYS:
            value = scrub_url(value, self.sensitive)
        elif key in _QUERY_KEYS:
            value = scrub_query(value, self.sensitive)
        return self.text(value)

    def value(self, key: str, value: Any) -> Any:
        """``value`` as it may leave the process under attribute ``key``."""
        if self.sensitive(key) or key.startswith(_REDACTED_PREFIXES):
            return _redacted_like(value)
        kind = type(value)
        if kind is str:
            return self._string(key, value)
        if kind is int:
            if value >= 10**12 and looks_like_card_number(str(value)):
                return REDACTED
            return value
        if isinstance(value, (tuple, list)) and any(isinstance(v, str) for v in value):
            return type(value)(self._string(key, v) if isinstance(v, str) else v for v in value)
        return value

    def attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A scrubbed copy of ``attributes``, or ``None`` when nothing changes."""
        if not attributes:
            return None
        changed: dict[str, Any] | None = None
        for key, value in attributes.items():
            new = self.value(key, value)
            if new is not value and new != value:
                if changed is None:
                    changed = dict(attributes)
                changed[key] = new
        return changed

    def body(self, body: Any) -> Any:
        """A log record body: text scrubbed, mappings by key (recursively), lists by item."""
        if isinstance(body, str):
            return self.text(body)
        if isinstance(body, Mapping):
            return {
                k: _redacted_like(v) if self.sensitive(str(k)) else self.body(v)
                for k, v in body.items()
            }
        if isinstance(body, Sequence) and not isinstance(body, (bytes, bytearray)):
            return [self.body(v) for v in body]
        return body


DEFAULT = Redactor()
"""The built-in names and patterns (no user patterns): for redaction at capture time."""


def is_sensitive_header(name: str) -> bool:
    """Whether a captured header's value is replaced at capture (built-in names)."""
    return DEFAULT.sensitive(name)
