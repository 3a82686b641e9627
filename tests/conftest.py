"""Session fixtures for the end-to-end tests: the real stack, started once per session.

The binaries are built, if missing, once the e2e tests are collected (``make test`` has
usually built them already). ``stack`` picks a port offset at which every port is free,
uses a temporary state directory and starts the collector, Jaeger, Prometheus and Redis;
everything is stopped at the end of the session (and killed by the kernel if the session
dies). ``demo`` adds the demo service.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from astra_otel._config.params import environ_snapshot
from astra_otel.stack.build import ensure_binaries
from astra_otel.stack.components import CORE_COMPONENTS
from astra_otel.stack.errors import StackError
from astra_otel.stack.settings import load_stack_settings

from _support.stack import (
    DemoService,
    RunningStack,
    demo_service,
    running_stack,
    start_on_free_offset,
)


def _progress(line: str) -> None:
    """Build/start progress goes to the real stderr, past pytest's capture."""
    stream = sys.__stderr__
    if stream is not None:
        stream.write(f"[stack] {line}\n")
        stream.flush()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the stack's binaries before any end-to-end test runs, outside the per-test
    timeout (a cold build takes minutes; ``make test`` has usually done it already)."""
    if any(item.get_closest_marker("e2e") for item in session.items):
        environ = environ_snapshot()
        try:
            ensure_binaries(load_stack_settings(environ), environ, _progress)
        except StackError as exc:
            pytest.exit(f"the stack's binaries could not be built: {exc}", returncode=1)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The collector, Jaeger, Prometheus and Redis, running on a free port offset."""
    environ = environ_snapshot()
    state_dir = tmp_path_factory.mktemp("stack-state")
    base = load_stack_settings(environ, state_dir=str(state_dir))
    binaries = ensure_binaries(base, environ, _progress)
    handle = start_on_free_offset(base, environ, CORE_COMPONENTS, binaries=binaries, say=_progress)
    try:
        yield running_stack(handle)
    finally:
        handle.down()


@pytest.fixture(scope="session")
def demo(stack: RunningStack) -> Iterator[DemoService]:
    """The demo service (``python -m astra_otel.demo``) started on the session's stack."""
    stack.stack.start("demo")
    try:
        yield demo_service(stack.stack)
    finally:
        stack.stack.stop("demo")
