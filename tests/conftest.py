"""Session fixtures for the end-to-end tests: the real stack, started once per session.

The binaries are built, if missing, once the e2e tests are collected (``make test`` has
usually built them already). ``stack`` picks a port offset at which every port is free,
uses a temporary state directory and starts the collector, Jaeger, Prometheus and Redis;
everything is stopped at the end of the session (and killed by the kernel if the session
dies). ``demo`` adds the demo service, ``analyzed`` one successful request to it.

``browser`` is Debian's Chromium driven by Playwright (installed with ``apt-get`` if
missing, once the tests that need it are collected); ``screenshots`` is where the browser
tests save theirs (``--screenshots DIR``, default ``test-artifacts/screenshots``).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from astra_otel._config.params import environ_snapshot
from astra_otel.stack.build import ensure_binaries, ensure_browser
from astra_otel.stack.components import CORE_COMPONENTS
from astra_otel.stack.errors import StackError
from astra_otel.stack.settings import load_stack_settings

from _support.stack import (
    Analyzed,
    DemoService,
    RunningStack,
    demo_service,
    running_stack,
    start_on_free_offset,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

_REPO = Path(__file__).resolve().parents[1]
# Headless Debian Chromium on a closed network: without the background-networking flags it
# keeps trying to reach Google's services; a fresh profile per session (Playwright passes
# --user-data-dir for a persistent context).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _progress(line: str) -> None:
    """Build/start progress goes to the real stderr, past pytest's capture."""
    stream = sys.__stderr__
    if stream is not None:
        stream.write(f"[stack] {line}\n")
        stream.flush()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--screenshots DIR``: where the browser tests save their screenshots."""
    parser.addoption(
        "--screenshots",
        default=str(_REPO / "test-artifacts" / "screenshots"),
        help="directory the browser tests save screenshots into (make screenshots: docs/img)",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """Build the stack's binaries (and install Chromium for the browser tests) before any
    end-to-end test runs, outside the per-test timeout (a cold build takes minutes;
    ``make test`` has usually done it already)."""
    environ = environ_snapshot()
    settings = load_stack_settings(environ)
    try:
        if any(item.get_closest_marker("e2e") for item in session.items):
            ensure_binaries(settings, environ, _progress)
        if any("browser" in getattr(item, "fixturenames", ()) for item in session.items):
            ensure_browser(settings, environ, _progress)
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


@pytest.fixture(scope="session")
def analyzed(demo: DemoService) -> Analyzed:
    """One analyze request for a fresh satellite that succeeded (chaos may 503 a few)."""
    for _ in range(30):  # bounded: chaos storms make a few attempts fail at most
        satellite = f"e2e-{uuid.uuid4().hex[:10]}"
        resp = requests.post(f"{demo.url}/api/v1/satellites/{satellite}/analyze", timeout=15)
        if resp.status_code == 200:
            body = resp.json()
            assert body["satellite_id"] == satellite
            return Analyzed(satellite, body["trace_id"])
        assert resp.status_code == 503, resp.text
        time.sleep(0.5)
    pytest.fail("no analyze request succeeded in 30 attempts")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Debian's Chromium, headless, with a fresh profile, driven by Playwright."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  # only browser tests

    environ = environ_snapshot()
    executable = ensure_browser(load_stack_settings(environ), environ, _progress)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(executable),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": 1440, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def screenshots(request: pytest.FixtureRequest) -> Path:
    """The directory the browser tests save their screenshots into (created)."""
    path = Path(str(request.config.getoption("--screenshots"))).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
