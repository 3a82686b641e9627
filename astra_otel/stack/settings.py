"""Settings of the local stack (``astra-otel stack ...``), each declared once.

:func:`load_stack_settings` resolves them from a snapshot of the environment into a frozen
:class:`StackSettings`; nothing in ``astra_otel.stack`` reads the environment itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from astra_otel._config.kinds import Kind, directory, duration, whole
from astra_otel._config.params import Declarations

__all__ = [
    "CACHE_DIR",
    "COLLECTOR_MAX_OPEN_FILES",
    "FILES_DIR",
    "PORT_OFFSET",
    "STARTUP_TIMEOUT",
    "STATE_DIR",
    "STOP_TIMEOUT",
    "VIEWER_DB_MAX_SIZE",
    "StackSettings",
    "declare",
    "load_stack_settings",
]

# The highest default port (jaeger self metrics, 55679 for zpages) plus the offset must stay
# a valid TCP port, so the offset is bounded well below 65535 - 55679.
MAX_PORT_OFFSET = 9000

declare = Declarations("stack")

PORT_OFFSET = declare(
    "port_offset",
    "ASTRA_OTEL_STACK_PORT_OFFSET",
    0,
    whole(0, MAX_PORT_OFFSET),
    "Added to every port of the local stack, so a second stack (or a test session) runs "
    "beside the first.",
)
STATE_DIR = declare(
    "state_dir",
    "ASTRA_OTEL_STATE_DIR",
    "",
    directory(),
    "Run-time state of the local stack: pid files, logs, generated configs, Prometheus "
    "TSDB, collector queue, JSON telemetry files. Default `$XDG_STATE_HOME/astra-otel` "
    "(`~/.local/state/astra-otel`).",
)
CACHE_DIR = declare(
    "cache_dir",
    "ASTRA_OTEL_CACHE_DIR",
    "",
    directory(),
    "Go caches and the built collector, Jaeger and viewer binaries. Default "
    "`$XDG_CACHE_HOME/astra-otel` (`~/.cache/astra-otel`).",
)
STARTUP_TIMEOUT = declare(
    "startup_timeout",
    "ASTRA_OTEL_STACK_STARTUP_TIMEOUT",
    60.0,
    duration(env_unit="s"),
    "How long `stack up` waits for each component's health endpoint.",
)
STOP_TIMEOUT = declare(
    "stop_timeout",
    "ASTRA_OTEL_STACK_STOP_TIMEOUT",
    10.0,
    duration(env_unit="s"),
    "How long `stack down` waits after SIGTERM before it sends SIGKILL.",
)
PROMETHEUS_RETENTION = declare(
    "prometheus_retention_hours",
    "ASTRA_OTEL_PROMETHEUS_RETENTION_HOURS",
    48,
    whole(1, unit="hours"),
    "Prometheus keeps samples this long (`--storage.tsdb.retention.time`).",
)

COLLECTOR_MAX_OPEN_FILES = declare(
    "collector_max_open_files",
    "ASTRA_OTEL_COLLECTOR_MAX_OPEN_FILES",
    4096,
    whole(64, 1_048_576, unit="file descriptors"),
    "Limit on open files (RLIMIT_NOFILE, soft and hard) of the collector process. Every "
    "client connection holds one; past the limit the collector cannot accept connections, "
    'its health check included (docs/faults.md, "Hostile clients").',
)

_SIZE = re.compile(r"(?i)([1-9][0-9]*)\s*(KB|MB|GB)")


def _parse_size(raw: str) -> str:
    # The viewer's own syntax (binary units). 0 (no pruning) and bare numbers are refused:
    # the store is always bounded, and "512" is not silently read as 512 bytes.
    match = _SIZE.fullmatch(raw.strip())
    if match is None:
        raise ValueError(raw)
    return f"{match.group(1)}{match.group(2).upper()}"


def _check_size(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return _parse_size(value)


VIEWER_DB_MAX_SIZE = declare(
    "viewer_db_max_size",
    "ASTRA_OTEL_VIEWER_DB_MAX_SIZE",
    "256MB",
    Kind("a size such as 256MB or 1GB (KB, MB, GB; binary units)", _parse_size, _check_size, str),
    "Bound of the viewer's DuckDB file (`--db-max-size`): every 30 s the viewer prunes its "
    "oldest tenth of telemetry until the file fits.",
)


@dataclass(frozen=True)
class StackSettings:
    """Resolved settings of the local stack."""

    port_offset: int
    state_dir: Path
    cache_dir: Path
    startup_timeout: float
    stop_timeout: float
    prometheus_retention_hours: int
    files_dir: Path
    collector_max_open_files: int
    viewer_db_max_size: str

    def with_(self, **changes: object) -> StackSettings:
        """Return a copy with some fields replaced (tests pick their own offset/state dir)."""
        return replace(self, **changes)  # type: ignore[arg-type]  # fields checked by replace()


FILES_DIR = Path(__file__).parent / "files"
"""Where the stack's files are: ``collector/`` (collector and Jaeger configs, the builder
manifest, the Jaeger wrapper module, the Prometheus template) and ``dashboards/``
(Prometheus rules, Grafana dashboards). In a checkout these are links to the repository's
``collector/`` and ``dashboards/``, the files ops edit; a wheel ships copies of them."""


def _xdg(environ: Mapping[str, str], var: str, fallback: str) -> Path:
    base = environ.get(var, "").strip()
    if base:
        return Path(base) / "astra-otel"
    home = environ.get("HOME", "").strip() or str(Path.home())
    return Path(home) / fallback / "astra-otel"


def load_stack_settings(environ: Mapping[str, str], **kwargs: object) -> StackSettings:
    """Resolve the stack settings: keyword argument > ``ASTRA_OTEL_*`` > default."""
    state = STATE_DIR.resolve(kwargs, environ)
    cache = CACHE_DIR.resolve(kwargs, environ)
    return StackSettings(
        port_offset=PORT_OFFSET.resolve(kwargs, environ),
        state_dir=Path(state) if state else _xdg(environ, "XDG_STATE_HOME", ".local/state"),
        cache_dir=Path(cache) if cache else _xdg(environ, "XDG_CACHE_HOME", ".cache"),
        startup_timeout=STARTUP_TIMEOUT.resolve(kwargs, environ),
        stop_timeout=STOP_TIMEOUT.resolve(kwargs, environ),
        prometheus_retention_hours=PROMETHEUS_RETENTION.resolve(kwargs, environ),
        files_dir=FILES_DIR,
        collector_max_open_files=COLLECTOR_MAX_OPEN_FILES.resolve(kwargs, environ),
        viewer_db_max_size=VIEWER_DB_MAX_SIZE.resolve(kwargs, environ),
    )
