"""The ``astra-otel`` command: ``astra-otel stack build|up|down|status|logs|topology``.

A group given without its command (``astra-otel``, ``astra-otel stack``) prints its help.

Expected failures (a port in use, a bad collector config, a missing toolchain, a bad
setting) print one line to stderr and exit 1; usage errors exit 2. No tracebacks.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from astra_otel._config.params import environ_snapshot
from astra_otel.errors import AstraOtelError
from astra_otel.stack import topology_cli
from astra_otel.stack.build import ensure_binaries, ensure_browser
from astra_otel.stack.components import COMPONENT_NAMES, CORE_COMPONENTS
from astra_otel.stack.exemplars import fetch_exemplars, trace_url
from astra_otel.stack.settings import load_stack_settings
from astra_otel.stack.supervisor import Stack

__all__ = ["main"]


def _say(line: str) -> None:
    print(line, flush=True)  # noqa: T201  # the CLI's output


_DESCRIPTION = (
    "astra-otel: run the local OpenTelemetry stack (collector, Jaeger, viewer, Prometheus, Redis) "
    "and the demo service. The library itself needs no command: call astra_otel.setup()."
)


def _version() -> str:
    try:
        return importlib.metadata.version("astra-otel")
    except importlib.metadata.PackageNotFoundError:  # a checkout that was never installed
        return "unknown (not installed)"


def _help_when_incomplete(parser: argparse.ArgumentParser) -> None:
    """Have a command group given without its command print its help, not a usage error."""
    parser.set_defaults(help_of=None)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            action.required = False
            parser.set_defaults(help_of=parser)
            for child in action.choices.values():
                _help_when_incomplete(child)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="astra-otel", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"astra-otel {_version()}")
    sub = parser.add_subparsers(dest="group", metavar="{stack,demo}")
    stack = sub.add_parser(
        "stack",
        help="the local collector/Jaeger/viewer/Prometheus/Redis stack",
        description="The local stack: the collector, Jaeger, the viewer, Prometheus and Redis "
        "as local processes (binaries built or installed on first use, cached under "
        "~/.cache/astra-otel), configured from the files shipped with astra-otel.",
    )
    cmds = stack.add_subparsers(dest="command")
    build = cmds.add_parser("build", help="build/install the binaries (cached; rebuilt on change)")
    build.add_argument(
        "--browser",
        action="store_true",
        help="also install Debian's chromium, which the browser tests drive",
    )
    up = cmds.add_parser("up", help="start the stack (idempotent) and print its URLs")
    up.add_argument("--demo", action="store_true", help="also start the demo service")
    up.add_argument(
        "--collector-config",
        type=Path,
        help="collector config to run instead of the packaged collector/otel-collector.yaml",
    )
    cmds.add_parser("down", help="stop every process `up` started")
    cmds.add_parser("status", help="pid and health of each component")
    exemplars = cmds.add_parser(
        "exemplars",
        help="the slowest recent exemplars of the duration histograms, each a link to its "
        "trace in the viewer",
    )
    exemplars.add_argument("--service", help="only this service.name")
    exemplars.add_argument(
        "--minutes", type=float, default=15.0, help="how far back to look (default 15)"
    )
    exemplars.add_argument(
        "-n", "--limit", type=int, default=10, help="how many to list (default 10)"
    )
    logs = cmds.add_parser("logs", help="print (or follow) a component's log")
    logs.add_argument("component", nargs="?", choices=COMPONENT_NAMES)
    logs.add_argument("-n", "--lines", type=int, default=40, help="lines per log (default 40)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    topology_cli.add_parser(cmds)  # `stack topology up|down|status|sync`
    sub.add_parser(
        "demo",
        add_help=False,
        help="run the demo AstraGuard service in the foreground "
        "(same options as `python -m astra_otel.demo`; `astra-otel demo --help`)",
    )
    _help_when_incomplete(parser)
    return parser


def _tail(path: Path, lines: int) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(errors="replace").splitlines()[-lines:]


def _logs(stack: Stack, component: str | None, lines: int, follow: bool) -> None:
    names = [component] if component else list(COMPONENT_NAMES)
    files = {n: stack.components[n].log_file for n in names}
    for name, path in files.items():
        if not path.exists():
            continue
        if len(files) > 1:
            _say(f"==> {name}: {path} <==")
        for line in _tail(path, lines):
            _say(line)
    if not follow:
        return
    offsets = {n: p.stat().st_size if p.exists() else 0 for n, p in files.items()}
    while True:
        for name, path in files.items():
            if not path.exists():
                continue
            with path.open("rb") as fh:
                fh.seek(offsets[name])
                chunk = fh.read()
                offsets[name] = fh.tell()
            for line in chunk.decode(errors="replace").splitlines():
                _say(f"{name}: {line}" if len(files) > 1 else line)
        time.sleep(0.5)


def _exemplars(stack: Stack, service: str | None, minutes: float, limit: int) -> None:
    prometheus = stack.components["prometheus"].url("http")
    found = fetch_exemplars(prometheus, minutes, service)
    if not found:
        _say(f"no exemplars in Prometheus ({prometheus}) over the last {minutes:g} min")
        return
    viewer = stack.components["viewer"].url("ui")
    _say(f"slowest exemplars of the last {minutes:g} min; open a link to see the trace:")
    for ex in found[:limit]:
        where = f"{ex.metric.removesuffix('_bucket')} {ex.route}".strip()
        _say(f"  {ex.value * 1000:>9.1f} ms  {where}")
        _say(f"             {trace_url(viewer, ex.trace_id, ex.span_id)}")


def _run(args: argparse.Namespace) -> int:
    environ = environ_snapshot()
    settings = load_stack_settings(environ)
    if args.command == "build":
        began = time.monotonic()
        ensure_binaries(settings, environ, _say)
        if args.browser:
            ensure_browser(settings, environ, _say)
        _say(
            f"stack binaries ready ({time.monotonic() - began:.0f} s); cache: {settings.cache_dir}"
        )
        return 0
    if args.command == "topology":
        return topology_cli.run(args, settings, environ, _say)
    config = getattr(args, "collector_config", None)
    _on_stack(Stack(settings, environ, say=_say, collector_config=config), args)
    return 0


def _on_stack(stack: Stack, args: argparse.Namespace) -> None:
    """The commands that act on (or read) a stack's processes."""
    settings = stack.settings
    if args.command == "up":
        wanted = [*CORE_COMPONENTS, "demo"] if args.demo else list(CORE_COMPONENTS)
        result = stack.up(wanted)
        if result.already_running:
            pids = ", ".join(f"{n} (pid {stack.pid(n)})" for n in result.already_running)
            _say(f"already running: {pids}")
        if result.started:
            _say(f"started: {', '.join(result.started)}")
        for label, url in stack.urls():
            if label != "demo API" or "demo" in wanted:
                _say(f"  {label:<17} {url}")
        _say(f"state: {settings.state_dir}; stop with `astra-otel stack down` (make down)")
    elif args.command == "down":
        stopped = stack.down()
        _say(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    elif args.command == "status":
        for st in stack.status():
            state = "running" if st.pid else "stopped"
            health = "healthy" if st.healthy else "unhealthy"
            pid = f"pid {st.pid}" if st.pid else "-"
            _say(f"{st.name:<11} {state:<8} {pid:<11} {health:<10} {st.health_url}")
    elif args.command == "logs":
        _logs(stack, args.component, args.lines, args.follow)
    elif args.command == "exemplars":
        _exemplars(stack, args.service, args.minutes, args.limit)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``astra-otel`` console script."""
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["demo"]:
        # Imported here: the demo needs the optional [demo] extra (uvicorn, redis, ...).
        from astra_otel.demo.cli import main as demo_main  # noqa: PLC0415

        return demo_main(raw[1:], prog="astra-otel demo")
    args = _parser().parse_args(raw)
    if args.help_of is not None:
        args.help_of.print_help()
        return 0
    try:
        return _run(args)
    except AstraOtelError as exc:
        print(f"astra-otel: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
