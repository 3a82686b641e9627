"""The demo's storage: results through SQLAlchemy, the 'memory engine' cache in Redis."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
import sqlalchemy
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
)

from astra_otel.catalogue import Catalogue, get_catalogue, memory_engine_operation

__all__ = ["MemoryEngine", "ResultStore", "StoredResult"]

_metadata = MetaData()
_results = Table(
    "anomaly_results",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("satellite_id", String(64), nullable=False, index=True),
    Column("score", Float, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("anomaly", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class StoredResult:
    """One stored detection result."""

    id: int
    satellite_id: str
    score: float
    severity: str
    anomaly: bool
    created_at: datetime


class ResultStore:
    """Detection results in any SQLAlchemy database (SQLite file by default)."""

    def __init__(self, database_url: str) -> None:
        kwargs: dict[str, Any] = {}
        if database_url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False}
        # Looked up at call time: setup()'s SQLAlchemy instrumentation patches it.
        self.engine: Engine = sqlalchemy.create_engine(database_url, **kwargs)
        _metadata.create_all(self.engine)

    def add(self, satellite_id: str, score: float, severity: str, anomaly: bool) -> int:
        """Store one result; return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(_results).values(
                    satellite_id=satellite_id,
                    score=score,
                    severity=severity,
                    anomaly=anomaly,
                    created_at=datetime.now(UTC),
                )
            )
            key = result.inserted_primary_key
            return int(key[0]) if key else 0

    def recent(self, limit: int, *, anomalies_only: bool = False) -> list[StoredResult]:
        """The ``limit`` most recent results, newest first."""
        query = select(_results).order_by(_results.c.id.desc()).limit(limit)
        if anomalies_only:
            query = query.where(_results.c.anomaly.is_(True))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [StoredResult(*row) for row in rows]

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


class MemoryEngine:
    """AstraGuard's 'memory engine': a Redis-backed cache of per-satellite baselines.

    Lookups count hits and misses; ``astra.memory_engine.stored`` tracks the bytes of the
    entries this process wrote (an estimate: entries may since have expired).
    """

    PREFIX = "astra:baseline:"

    def __init__(
        self, redis_url: str, *, ttl_seconds: int = 15, catalogue: Catalogue | None = None
    ) -> None:
        self.client: redis.Redis = redis.Redis.from_url(
            redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self.ttl_seconds = ttl_seconds
        self._catalogue = catalogue
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def _cat(self) -> Catalogue:
        return self._catalogue or get_catalogue()

    def get(self, key: str) -> dict[str, float] | None:
        """The cached entry for ``key``, or ``None``."""
        with memory_engine_operation("get", catalogue=self._catalogue):
            raw = self.client.get(self.PREFIX + key)
            self._cat().record_memory_lookup(hit=raw is not None)
        if raw is None:
            return None
        value: dict[str, float] = json.loads(raw)
        return value

    def put(self, key: str, value: dict[str, float]) -> None:
        """Cache ``value`` under ``key`` with the engine's TTL."""
        data = json.dumps(value).encode()
        with memory_engine_operation("put", catalogue=self._catalogue):
            self.client.set(self.PREFIX + key, data, ex=self.ttl_seconds)
        with self._lock:
            self._sizes[key] = len(data)
            total = sum(self._sizes.values())
        self._cat().record_memory_stored(total)

    def count_request(self, satellite_id: str) -> int:
        """Increment and return the request counter for ``satellite_id``."""
        with memory_engine_operation("incr", catalogue=self._catalogue):
            return int(self.client.incr(f"astra:requests:{satellite_id}"))

    def ping(self) -> None:
        """Raise if Redis does not answer."""
        self.client.ping()

    def flush(self) -> int:
        """Drop every cached baseline (a recovery action); return how many were dropped."""
        with memory_engine_operation("flush", catalogue=self._catalogue):
            keys = list(self.client.scan_iter(match=self.PREFIX + "*", count=100))
            dropped = int(self.client.delete(*keys)) if keys else 0
        with self._lock:
            self._sizes.clear()
        self._cat().record_memory_stored(0)
        return dropped

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
