"""Demo test fixtures: a real redis-server on a free loopback port, and in-memory telemetry."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from astra_otel._config.params import environ_snapshot
from astra_otel.stack.build import ensure_binaries
from astra_otel.stack.settings import load_stack_settings
from astra_otel.testing import Capture, capture_telemetry


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    environ = environ_snapshot()
    binaries = ensure_binaries(load_stack_settings(environ), environ, print, components=("redis",))
    return str(binaries.redis)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server (no persistence, loopback only), stopped after the session."""
    port = _free_port()
    workdir: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            _redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def telemetry() -> Iterator[Capture]:
    """setup()'s wiring into memory (the default catalogue follows its providers)."""
    with capture_telemetry(service_name="astraguard-api-test") as cap:
        yield cap
