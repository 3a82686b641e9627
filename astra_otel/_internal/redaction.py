"""Secrets never leave the process: header redaction and literal-free SQL statements.

Applied twice: the instrumentations are configured to redact captured headers, and the
export thread re-checks every span's attributes (defence in depth, off the hot path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "REDACTED",
    "SENSITIVE_HEADER_PATTERNS",
    "is_sensitive_header",
    "sanitize_attributes",
    "sanitize_value",
    "strip_sql_literals",
]

REDACTED = "[REDACTED]"
SENSITIVE_HEADER_PATTERNS = (
    "authorization",
    "cookie",
    "set-cookie",
    "proxy-authorization",
    "x-api-key",
    ".*secret.*",
    ".*token.*",
    ".*password.*",
)
_SENSITIVE_RE = re.compile(
    "^(?:" + "|".join(SENSITIVE_HEADER_PATTERNS) + ")$",
    re.IGNORECASE,
)
_HEADER_PREFIXES = ("http.request.header.", "http.response.header.")
_STATEMENT_KEYS = frozenset({"db.statement", "db.query.text"})
# String literals ('..' with '' escapes), then numbers not part of an identifier or $1/:1.
_SQL_STRING = re.compile(r"'(?:[^']|'')*'")
_SQL_NUMBER = re.compile(r"(?<![\w$:?.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b")


def is_sensitive_header(name: str) -> bool:
    """Whether a header's value must be replaced by ``[REDACTED]``."""
    return _SENSITIVE_RE.match(name.replace("_", "-")) is not None


def strip_sql_literals(statement: str) -> str:
    """Replace string and numeric literals in SQL with ``?``."""
    return _SQL_NUMBER.sub("?", _SQL_STRING.sub("?", statement))


def sanitize_value(key: str, value: Any) -> Any:
    """``value`` as it may leave the process under attribute ``key`` (often unchanged)."""
    if key.startswith(_HEADER_PREFIXES):
        if is_sensitive_header(key.split(".header.", 1)[1]):
            return (REDACTED,) if isinstance(value, (tuple, list)) else REDACTED
    elif key in _STATEMENT_KEYS and isinstance(value, str):
        return strip_sql_literals(value)
    return value


def sanitize_attributes(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """A cleaned copy of span attributes, or ``None`` when nothing needed cleaning."""
    changed: dict[str, Any] | None = None
    for key, value in attrs.items():
        new = sanitize_value(key, value)
        if new != value:
            if changed is None:
                changed = dict(attrs)
            changed[key] = new
    return changed
