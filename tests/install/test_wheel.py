"""The wheel installed non-editable into fresh venvs: what a plain install brings, the CLI
and the stack from an empty directory, a setup() span to the real stack, and an app's own
pins (an older FastAPI, the oldest supported SDK) kept by pip."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from astra_otel.stack.components import COMPONENT_NAMES, CORE_COMPONENTS

from _support.installs import (
    REPO,
    build_wheel,
    installed_versions,
    new_venv,
    progress,
    run,
    tool_env,
    uv_install,
)
from _support.stack import pick_port_offset

pytestmark = pytest.mark.e2e  # installs from PyPI (cached) and starts the real stack

# Web frameworks, servers, database drivers and Redis clients: a plain install has none.
FRAMEWORKS = {
    "fastapi",
    "starlette",
    "flask",
    "django",
    "uvicorn",
    "gunicorn",
    "pydantic",
    "sqlalchemy",
    "psycopg",
    "psycopg2",
    "psycopg2-binary",
    "pymysql",
    "redis",
    "grpcio",
}


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv holding ``astra-otel`` (no extra), from the wheel."""
    wheel = build_wheel()
    python = new_venv(tmp_path_factory.mktemp("plain") / "venv")
    progress("plain install of the wheel into a fresh venv")
    uv_install(
        python, "-c", str(REPO / "constraints" / "default.txt"), str(wheel), what="plain install"
    )
    return python


def test_a_plain_install_pulls_no_framework_driver_or_client(plain: Path) -> None:
    """``pip install astra-otel`` brings the API, SDK and OTLP/HTTP exporter, and no web
    framework, server, database driver, Redis client, gRPC or contrib instrumentation."""
    versions = installed_versions(plain)
    assert versions["astra-otel"] == "0.1.0"
    for core in (
        "opentelemetry-api",
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-http",
    ):
        assert core in versions
    assert sorted(FRAMEWORKS & set(versions)) == []
    assert [v for v in versions if v.startswith("opentelemetry-instrumentation")] == []


def _cli_env(tmp_path: Path, offset: int) -> dict[str, str]:
    return tool_env(
        {
            "ASTRA_OTEL_STATE_DIR": str(tmp_path / "state"),
            "ASTRA_OTEL_STACK_PORT_OFFSET": str(offset),
        }
    )


def _empty_dir(tmp_path: Path) -> Path:
    empty = tmp_path / "empty"
    empty.mkdir()
    return empty


def test_the_cli_works_from_an_empty_directory(plain: Path, tmp_path: Path) -> None:
    """From an empty directory the installed ``astra-otel`` prints its version and help
    and ``stack status``; the stack files it uses are inside the installed package and are
    byte for byte the repository's (the files ops edit)."""
    cli, cwd, env = str(plain.parent / "astra-otel"), _empty_dir(tmp_path), _cli_env(tmp_path, 0)
    assert run([cli, "--version"], what="--version", cwd=cwd, env=env).strip() == "astra-otel 0.1.0"
    assert run([cli], what="bare astra-otel", cwd=cwd, env=env).startswith("usage: astra-otel")
    status = run([cli, "stack", "status"], what="stack status", cwd=cwd, env=env)
    names = [line.split()[0] for line in status.splitlines()]
    assert names == list(COMPONENT_NAMES)
    where = run(
        [str(plain), "-c", "from astra_otel.stack.settings import FILES_DIR; print(FILES_DIR)"],
        what="FILES_DIR",
        cwd=cwd,
        env=env,
    )
    files_dir = Path(where.strip())
    assert files_dir.is_relative_to(plain.parent.parent)  # the venv, not the checkout
    shipped = [
        *sorted((REPO / "collector").rglob("*")),
        *sorted((REPO / "dashboards" / "prometheus").rglob("*")),
        *sorted((REPO / "dashboards" / "grafana").rglob("*")),
    ]
    shipped = [p for p in shipped if p.is_file()]
    assert len(shipped) > 15
    for source in shipped:
        packaged = files_dir / source.relative_to(REPO)
        assert not packaged.is_symlink(), packaged
        assert packaged.read_bytes() == source.read_bytes(), source.relative_to(REPO)


SMOKE = """
import sys
import astra_otel
from opentelemetry import trace
telemetry = astra_otel.setup(service_name="wheel-smoke", endpoint=sys.argv[1])
with trace.get_tracer("smoke").start_as_current_span("from-the-wheel"):
    pass
assert telemetry.shutdown(10.0)
print(telemetry.health().traces.exported)
"""


def _jaeger_operations(url: str) -> list[str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # loopback
        data = json.load(response)["data"]
    return [s["operationName"] for t in data for s in t["spans"]]


@pytest.fixture
def wheel_stack(plain: Path, tmp_path: Path) -> Iterator[tuple[int, dict[str, str], Path]]:
    """``astra-otel stack up`` run by the wheel's CLI in an empty directory; stopped after."""
    offset = pick_port_offset()
    cli, cwd, env = (
        str(plain.parent / "astra-otel"),
        _empty_dir(tmp_path),
        _cli_env(tmp_path, offset),
    )
    progress(f"astra-otel stack up from the wheel (offset {offset})")
    try:
        run([cli, "stack", "up"], what="stack up from the wheel", cwd=cwd, env=env)
        yield offset, env, cwd
    finally:
        subprocess.run(
            [cli, "stack", "down"], cwd=cwd, env=env, capture_output=True, timeout=120, check=False
        )


def test_stack_up_from_the_wheel_receives_a_setup_span(
    plain: Path, wheel_stack: tuple[int, dict[str, str], Path]
) -> None:
    """The wheel's ``stack up`` (packaged configs) runs every core component healthy, and a
    ``setup()`` program in the same venv exports a span that Jaeger's query API returns."""
    offset, env, cwd = wheel_stack
    cli = str(plain.parent / "astra-otel")
    status = run([cli, "stack", "status"], what="stack status", cwd=cwd, env=env).splitlines()
    running = [line.split() for line in status if line.split()[0] in CORE_COMPONENTS]
    assert [(f[0], f[1], f[4]) for f in running] == [
        (name, "running", "healthy") for name in CORE_COMPONENTS
    ]
    endpoint = f"http://127.0.0.1:{4318 + offset}"
    exported = run([str(plain), "-c", SMOKE, endpoint], what="setup() smoke", cwd=cwd, env=env)
    assert exported.strip() == "1"
    url = f"http://127.0.0.1:{16686 + offset}/api/traces?service=wheel-smoke&limit=5"
    deadline = time.monotonic() + 60
    while "from-the-wheel" not in _jaeger_operations(url):
        assert time.monotonic() < deadline, "the span never reached Jaeger"
        time.sleep(0.5)


PINNED_APP = """
import asyncio, sys
import astra_otel
from astra_otel.testing import OtlpHttpSink

with OtlpHttpSink() as sink:
    telemetry = astra_otel.setup(service_name="pinned-app", endpoint=sink.endpoint)
    import fastapi

    app = fastapi.FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict:
        return {"id": item_id}

    async def call() -> int:
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": "/items/42",
            "raw_path": b"/items/42", "query_string": b"", "root_path": "",
            "headers": [(b"host", b"app.test")], "client": ("127.0.0.1", 50000),
            "server": ("app.test", 80),
        }
        await app(scope, receive, send)
        return sent[0]["status"]

    status = asyncio.run(call())
    assert telemetry.shutdown(10.0)
    print(status, sorted(sink.span_names()))
"""


@pytest.mark.timeout(900)
def test_an_apps_older_pins_are_kept_and_its_route_is_traced(tmp_path: Path) -> None:
    """An app whose requirements pin FastAPI 0.115 and SDK 1.40 (the oldest supported)
    adds ``astra-otel[fastapi]`` to them: pip resolves (it picks the contrib release that
    pairs with SDK 1.40) and changes neither pin, and a FastAPI app under ``setup()``
    exports its server span named by the route template over OTLP."""
    wheel = build_wheel()
    python = new_venv(tmp_path / "app", seed=True)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "fastapi==0.115.*\nopentelemetry-api==1.40.0\nopentelemetry-sdk==1.40.0\n"
    )
    progress("pip: the app's own pins (FastAPI 0.115, SDK 1.40)")
    run([*pip, "-r", str(requirements)], what="installing the app's pins")
    before = installed_versions(python)
    progress("pip: the wheel with the fastapi extra next to them")
    run(
        [*pip, "-r", str(requirements), f"{wheel}[fastapi]"], what="pip install astra-otel[fastapi]"
    )
    after = installed_versions(python)
    assert before["fastapi"].startswith("0.115.")
    assert before["opentelemetry-sdk"] == "1.40.0"
    for pkg in ("fastapi", "starlette", "pydantic", "opentelemetry-api", "opentelemetry-sdk"):
        assert after[pkg] == before[pkg], pkg
    assert after["opentelemetry-instrumentation-fastapi"] == "0.61b0"
    out = run([str(python), "-c", PINNED_APP], what="the pinned app", cwd=tmp_path)
    assert out.strip() == "200 ['GET /items/{item_id}']"
