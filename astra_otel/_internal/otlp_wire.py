"""Protobuf wire-format primitives for OTLP: varints, fields, ``AnyValue``/``KeyValue``.

Why this exists: the SDK's exporters build a tree of generated protobuf objects for every
span and log record and then serialize it. In CPython that costs ~45 µs per span (more
than creating the span), on a thread that shares the GIL with the application. Writing
the bytes directly, with the encodings of repeated attributes, resources and scopes cached,
costs a fraction of that. The output parses as the same OTLP message the SDK would send
(``tests/_internal/test_otlp_encoding.py`` compares both, field by field and byte by byte).

Field numbers come from ``opentelemetry/proto/common/v1/common.proto`` and
``resource/v1/resource.proto`` (OTLP 1.x); the span and log modules hold theirs.
"""

from __future__ import annotations

import enum
import importlib.metadata
import logging
import struct
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "LOG_NULLS",
    "SPAN_NULLS",
    "AttributeCache",
    "Nulls",
    "ObjectCache",
    "ResourceGroups",
    "any_value",
    "field_bytes",
    "field_string",
    "field_varint",
    "key_value",
    "length_prefixed",
    "resource_bytes",
    "scope_bytes",
    "value_field",
    "varint",
]

_logger = logging.getLogger(__name__)

_SMALL = [bytes((i,)) for i in range(128)]
_pack_double = struct.Struct("<d").pack
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64_MASK = (1 << 64) - 1


def varint(value: int) -> bytes:
    """Base-128 varint of a non-negative integer (< 2**64)."""
    if value < 0x80:
        return _SMALL[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def length_prefixed(payload: bytes) -> bytes:
    """``payload`` preceded by its length (the body of a length-delimited field)."""
    n = len(payload)
    return (_SMALL[n] if n < 0x80 else varint(n)) + payload


def field_bytes(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field (string, bytes or sub-message) with its encoded tag."""
    return tag + length_prefixed(payload)


def field_string(tag: bytes, text: str) -> bytes:
    """A string field; empty strings are omitted as proto3 does."""
    return field_bytes(tag, _utf8(text)) if text else b""


def field_varint(tag: bytes, value: int) -> bytes:
    """A varint field; zero is omitted as proto3 does."""
    return tag + varint(value) if value else b""


def _utf8(text: str) -> bytes:
    # Lone surrogates cannot go on the wire (protobuf strings are UTF-8): replace them
    # rather than lose the whole attribute or batch.
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


# AnyValue fields: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7.
_ANY_TRUE = b"\x10\x01"
_ANY_FALSE = b"\x10\x00"


def _any_bool(value: bool) -> bytes:
    return _ANY_TRUE if value else _ANY_FALSE


def _any_str(value: str) -> bytes:
    return b"\x0a" + length_prefixed(_utf8(value))


def _any_int(value: int) -> bytes:
    if _INT64_MIN <= value <= _INT64_MAX:
        return b"\x18" + varint(value & _UINT64_MASK)
    # Outside int64 the SDK's encoder drops the attribute; keep it, as its decimal text.
    return b"\x0a" + length_prefixed(str(value).encode())


def _any_float(value: float) -> bytes:
    return b"\x21" + _pack_double(value)


def _any_bytes(value: bytes) -> bytes:
    return b"\x3a" + length_prefixed(bytes(value))


def _any_composite(value: Any) -> bytes:
    if isinstance(value, Sequence):
        items = b"".join(b"\x0a" + length_prefixed(any_value(v)) for v in value)
        return b"\x2a" + length_prefixed(items)
    if isinstance(value, Mapping):
        pairs = b"".join(b"\x0a" + length_prefixed(key_value(str(k), v)) for k, v in value.items())
        return b"\x32" + length_prefixed(pairs)
    raise TypeError(f"Invalid type {type(value)} of value {value}")  # the SDK's words


# bool before int: bool is an int subclass.
# Only ``bytes`` is a bytes value: like the SDK, a ``bytearray`` or ``memoryview`` is a
# sequence (an array of ints).
_BY_BASE: tuple[tuple[type, Any], ...] = (
    (bool, _any_bool),
    (str, _any_str),
    (int, _any_int),
    (float, _any_float),
    (bytes, _any_bytes),
)
_BY_TYPE: dict[type, Any] = {bool: _any_bool, str: _any_str, int: _any_int, float: _any_float}
_BY_TYPE[bytes] = _any_bytes


def any_value(value: Any) -> bytes:
    """The body of an ``AnyValue`` message for an attribute or log-body value."""
    if value is None:
        return b""
    encode = _BY_TYPE.get(type(value))
    if encode is None:
        encode = next((f for base, f in _BY_BASE if isinstance(value, base)), _any_composite)
    result: bytes = encode(value)
    return result


class Nulls(enum.Enum):
    """What ``None`` inside a value becomes, as the installed SDK's encoder has it.

    ``EMPTY`` (SDK >= 1.43, every signal): an empty ``AnyValue``. Before 1.43 the SDK had
    two rules: ``REJECT`` (spans, resources, scopes) makes the whole attribute
    unencodable (dropped with the ERROR record), and ``OMIT`` (log records) leaves the
    ``KeyValue``'s value (or the record's body) out, with an empty ``AnyValue`` for an
    array element.
    """

    EMPTY = "empty"
    REJECT = "reject"
    OMIT = "omit"


def _sdk_before(major: int, minor: int) -> bool:
    try:
        version = importlib.metadata.version("opentelemetry-exporter-otlp-proto-common")
    except importlib.metadata.PackageNotFoundError:
        return False
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()]
    return len(parts) == 2 and (parts[0], parts[1]) < (major, minor)


_LEGACY_NULLS = _sdk_before(1, 43)
# The rules of the installed SDK: spans (and every resource and scope), log records.
SPAN_NULLS = Nulls.REJECT if _LEGACY_NULLS else Nulls.EMPTY
LOG_NULLS = Nulls.OMIT if _LEGACY_NULLS else Nulls.EMPTY


def _legacy_value(value: Any, omit: bool) -> bytes | None:
    """``AnyValue`` body under the SDK < 1.43 rules (``None``: no value at all)."""
    if value is None:
        if omit:
            return None
        raise TypeError(f"Invalid type {type(value)} of value {value}")  # the SDK's words
    if isinstance(value, (bool, str, int, float, bytes)):
        return any_value(value)
    if isinstance(value, Sequence):
        # A None element: an empty AnyValue where nulls are omitted, else it raises.
        items = b"".join(
            b"\x0a" + length_prefixed(b"" if v is None and omit else _legacy_value(v, omit) or b"")
            for v in value
        )
        return b"\x2a" + length_prefixed(items)
    if isinstance(value, Mapping):
        pairs = b"".join(
            b"\x0a" + length_prefixed(key_value(str(k), v, Nulls.OMIT if omit else Nulls.REJECT))
            for k, v in value.items()
        )
        return b"\x32" + length_prefixed(pairs)
    raise TypeError(f"Invalid type {type(value)} of value {value}")  # the SDK's words


def value_field(tag: bytes, value: Any, nulls: Nulls = Nulls.EMPTY) -> bytes:
    """``tag`` + the ``AnyValue`` of ``value``, or nothing where ``nulls`` leaves it out."""
    if nulls is Nulls.EMPTY:
        return tag + length_prefixed(any_value(value))
    body = _legacy_value(value, nulls is Nulls.OMIT)
    return b"" if body is None else tag + length_prefixed(body)


def key_value(key: str, value: Any, nulls: Nulls = Nulls.EMPTY) -> bytes:
    """The body of a ``KeyValue`` message (key 1, value 2)."""
    return field_string(b"\x0a", key) + value_field(b"\x12", value, nulls)


_CACHEABLE = (str, bool, int, float)


def _as_is(_key: str, value: Any) -> Any:
    return value


class AttributeCache:
    """Length-prefixed ``KeyValue`` bodies, cached for the scalar pairs that repeat.

    Attribute sets repeat heavily (routes, methods, status codes, file paths), so most
    pairs are encoded once. The cache is bounded: it is emptied when it reaches
    ``max_entries`` (a burst of unique values costs one re-encode each, never memory).
    Only the export thread of one pipeline uses an instance.
    """

    def __init__(
        self,
        max_entries: int = 8192,
        sanitize: Callable[[str, Any], Any] | None = None,
        nulls: Nulls = Nulls.EMPTY,
    ) -> None:
        self._cache: dict[tuple[Any, ...], bytes] = {}
        self._max = max_entries
        self._nulls = nulls
        # Applied to each pair before it is encoded (so a cached pair was checked once).
        self._sanitize = sanitize or _as_is

    def encode(self, tag: bytes, attributes: Mapping[str, Any] | None) -> list[bytes]:
        """One ``tag + length + KeyValue`` chunk per attribute (unencodable ones skipped,
        with the SDK's ERROR log)."""
        if not attributes:
            return []
        cache = self._cache
        out: list[bytes] = []
        for key, value in attributes.items():
            kind = type(value)
            if kind in _CACHEABLE:
                # 0.0 == -0.0 and they hash alike, but encode differently: a zero float
                # is keyed by its text. Other equal scalars of different types (True, 1,
                # 1.0) differ in ``kind``; a NaN equals nothing, so each one misses.
                ck = (key, kind, value) if value or kind is not float else (key, repr(value))
                chunk = cache.get(ck)
                if chunk is None:
                    chunk = self._pair(key, value)
                    if chunk is None:
                        continue
                    if len(cache) >= self._max:
                        cache.clear()
                    cache[ck] = chunk
            else:
                chunk = self._pair(key, value)
                if chunk is None:
                    continue
            out.append(tag)
            out.append(chunk)
        return out

    def _pair(self, key: str, value: Any) -> bytes | None:
        try:
            return length_prefixed(key_value(key, self._sanitize(key, value), self._nulls))
        except Exception as error:
            # The SDK's encoder drops such a pair with exactly this record.
            _logger.exception("Failed to encode key %s: %s", key, error)
            return None

    def clear(self) -> None:
        """Forget every cached pair."""
        self._cache.clear()


def scope_bytes(cache: AttributeCache, scope: Any) -> bytes:
    """An ``InstrumentationScope`` body (name 1, version 2, attributes 3); ``None`` → empty."""
    if scope is None:
        return b""
    parts = [field_string(b"\x0a", scope.name or ""), field_string(b"\x12", scope.version or "")]
    parts += cache.encode(b"\x1a", scope.attributes)
    return b"".join(parts)


def resource_bytes(cache: AttributeCache, resource: Any) -> bytes:
    """A ``Resource`` body (attributes 1)."""
    return b"".join(cache.encode(b"\x0a", resource.attributes))


class ObjectCache:
    """Encodings of long-lived objects (resources, scopes), keyed by identity.

    The objects are kept referenced so an ``id`` is never reused while cached; the cache is
    emptied when it reaches ``max_entries``.
    """

    def __init__(self, encode: Any, max_entries: int = 256) -> None:
        self._encode = encode
        self._cache: dict[int, tuple[object, bytes]] = {}
        self._max = max_entries

    def get(self, obj: object) -> bytes:
        """The encoding of ``obj``, computed on first sight."""
        hit = self._cache.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        encoded: bytes = self._encode(obj)
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[id(obj)] = (obj, encoded)
        return encoded


class _Group:
    """One resource (or scope) and what is grouped under it, in first-seen order."""

    __slots__ = ("by_id", "by_value", "head", "items")

    def __init__(self, head: Any) -> None:
        self.head = head  # the first object seen: the one encoded, as the SDK's dict key
        self.items: list[Any] = []
        self.by_id: dict[int, _Group] = {}
        self.by_value: dict[Any, _Group] = {}

    def child(self, obj: Any) -> _Group:
        """The sub-group of ``obj``: by identity first (cheap), then by value (equal but
        separate objects share a group, exactly as they share a key of the SDK's dict)."""
        group = self.by_id.get(id(obj))
        if group is None:
            group = self.by_value.get(obj)
            if group is None:
                group = self.by_value[obj] = _Group(obj)
                self.items.append(group)
            self.by_id[id(obj)] = group
        return group


class ResourceGroups:
    """Encoded items grouped by resource, then scope: the shape of every OTLP request.

    ``ResourceSpans``/``ResourceLogs`` (resource 1, scope groups 2, schema_url 3) hold
    ``ScopeSpans``/``ScopeLogs`` (scope 1, items 2, schema_url 3); the field numbers are the
    same for both signals. Resources and scopes are grouped by value (their own ``==`` and
    hash, as the SDK's encoder does), looked up by identity first: one provider shares one
    resource, one tracer one scope. The batch keeps every object alive, so no ``id`` is
    reused while a request is built.
    """

    def __init__(self) -> None:
        self._root = _Group(None)

    def add(self, resource: Any, scope: Any, item: bytes) -> None:
        """Add one encoded item (span or log record body)."""
        self._root.child(resource).child(scope).items.append(item)

    def encode(self, resources: ObjectCache, scopes: ObjectCache) -> bytes:
        """The request body: one field-1 entry per resource."""
        out: list[bytes] = []
        for by_resource in self._root.items:
            resource = by_resource.head
            body = [b"\x0a", length_prefixed(resources.get(resource))]
            for by_scope in by_resource.items:
                scope = by_scope.head
                group = [b"\x0a", length_prefixed(scopes.get(scope))]
                for item in by_scope.items:
                    group.append(b"\x12")
                    group.append(length_prefixed(item))
                if scope is not None and scope.schema_url:
                    group.append(field_string(b"\x1a", scope.schema_url))
                body.append(b"\x12")
                body.append(length_prefixed(b"".join(group)))
            body.append(field_string(b"\x1a", resource.schema_url or ""))
            out.append(b"\x0a")
            out.append(length_prefixed(b"".join(body)))
        return b"".join(out)
