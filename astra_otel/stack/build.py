"""Builds and installs the stack's binaries, cached and rebuilt only when their inputs change.

* the collector: the OpenTelemetry Collector Builder (ocb) runs on
  ``collector/builder-config.yaml``; the binary lands in ``<cache>/otelcol-<hash>/``;
* Jaeger v2: ``go build`` of the tool declared by the wrapper module ``collector/jaeger``
  into ``<cache>/jaeger-<hash>/``;
* the viewer (OpenTelemetry Desktop Viewer): the same for ``collector/viewer`` into
  ``<cache>/viewer-<hash>/`` (cgo: it embeds DuckDB, so a C compiler is needed);
* Prometheus, Redis and openssl: Debian packages, installed with ``apt-get`` when missing;
* Chromium, for the browser tests only (:func:`ensure_browser`): Debian's package too.

``<hash>`` is a digest of the inputs (manifest, go.mod + go.sum), so editing them triggers
a rebuild and nothing else does. A lock file serialises concurrent builds.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from astra_otel.stack.components import Binaries
from astra_otel.stack.errors import StackError
from astra_otel.stack.process import Say
from astra_otel.stack.settings import StackSettings

__all__ = [
    "APT_PACKAGES",
    "BROWSER",
    "BUILDER_VERSION",
    "collector_binary",
    "ensure_binaries",
    "ensure_browser",
    "jaeger_binary",
    "locate_binaries",
    "viewer_binary",
]

BUILDER_VERSION = "v0.161.0"
# binary -> Debian package; openssl makes the throwaway certificates (astra_otel.stack.pki).
APT_PACKAGES = {"prometheus": "prometheus", "redis-server": "redis-server", "openssl": "openssl"}
BROWSER = Path("/usr/bin/chromium")
"""Debian's Chromium: what the browser tests drive (never a browser build of Playwright's)."""
_HEARTBEAT_S = 20.0
_FALLBACK_GO = Path("/usr/local/go/bin/go")


def _digest(*files: Path, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def collector_binary(settings: StackSettings) -> Path:
    """Path of the cached collector binary for the current manifest."""
    manifest = settings.files_dir / "collector" / "builder-config.yaml"
    key = _digest(manifest, extra=BUILDER_VERSION)
    return settings.cache_dir / f"otelcol-{key}" / "astra-otelcol"


@dataclass(frozen=True)
class _GoTool:
    """A binary ``go build`` makes from the tool a wrapper module declares."""

    name: str
    module: str
    package: str
    binary: str
    cold: str
    cgo: bool = False

    def target(self, settings: StackSettings) -> Path:
        mod = settings.files_dir / self.module
        key = _digest(mod / "go.mod", mod / "go.sum")
        return settings.cache_dir / f"{self.name}-{key}" / self.binary

    def build(
        self, settings: StackSettings, env: Mapping[str, str], go: Path, target: Path, say: Say
    ) -> None:
        if self.cgo:
            if _which("gcc", env) is None and _which("cc", env) is None:
                msg = f"building {self.name} needs a C compiler (cgo): install gcc"
                raise StackError(msg)
            env = {**env, "CGO_ENABLED": "1"}
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        say(f"building {self.name} from {self.module} (cold: {self.cold} on 2 cores)")
        _run(
            [str(go), "build", "-trimpath", "-ldflags=-s -w", "-o", str(partial), self.package],
            env=env,
            cwd=settings.files_dir / self.module,
            what=f"building {self.name}",
            say=say,
        )
        partial.replace(target)


_JAEGER = _GoTool(
    "jaeger",
    "collector/jaeger",
    "github.com/jaegertracing/jaeger/cmd/jaeger",
    "jaeger",
    "~10-30 min",
)
_VIEWER = _GoTool(
    "viewer",
    "collector/viewer",
    "github.com/CtrlSpice/otel-desktop-viewer",
    "otel-desktop-viewer",
    "~3-10 min",
    cgo=True,
)


def jaeger_binary(settings: StackSettings) -> Path:
    """Path of the cached Jaeger binary for the current wrapper module."""
    return _JAEGER.target(settings)


def viewer_binary(settings: StackSettings) -> Path:
    """Path of the cached viewer binary for the current wrapper module."""
    return _VIEWER.target(settings)


def _which(name: str, environ: Mapping[str, str]) -> Path | None:
    found = shutil.which(name, path=environ.get("PATH", os.defpath))
    return Path(found) if found else None


def locate_binaries(settings: StackSettings, environ: Mapping[str, str]) -> Binaries:
    """Where every binary is or will be, without building anything."""
    return Binaries(
        collector=collector_binary(settings),
        jaeger=jaeger_binary(settings),
        prometheus=_which("prometheus", environ) or Path("/usr/bin/prometheus"),
        redis=_which("redis-server", environ) or Path("/usr/bin/redis-server"),
        viewer=viewer_binary(settings),
    )


def _go(environ: Mapping[str, str]) -> Path:
    go = _which("go", environ) or (_FALLBACK_GO if _FALLBACK_GO.exists() else None)
    if go is None:
        msg = (
            "Go toolchain not found (needed to build the collector, Jaeger and the viewer): "
            "install Go "
            ">= 1.26 and put `go` on PATH, then run `astra-otel stack build`"
        )
        raise StackError(msg)
    return go


def _go_env(settings: StackSettings, environ: Mapping[str, str], go: Path) -> dict[str, str]:
    root = settings.cache_dir / "go"
    env = dict(environ)
    env.update(
        GOPATH=str(root),
        GOMODCACHE=str(root / "mod"),
        GOCACHE=str(root / "build"),
        PATH=f"{go.parent}{os.pathsep}{environ.get('PATH', os.defpath)}",
    )
    return env


def _run(cmd: list[str], *, env: Mapping[str, str], cwd: Path | None, what: str, say: Say) -> None:
    """Run ``cmd`` streaming its output (indented) and a heartbeat while it is silent."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    tail: list[str] = []
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(_HEARTBEAT_S):
            say(f"  still {what}... {time.monotonic() - start:.0f} s")

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            line = raw.rstrip()
            if line:
                say(f"  | {line}")
                tail = [*tail[-4:], line]
        code = proc.wait()
    finally:
        done.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if code != 0:
        last = tail[-1] if tail else "no output"
        msg = f"{what} failed (exit {code}): {last}"
        raise StackError(msg)
    say(f"  {what}: done in {time.monotonic() - start:.0f} s")


@contextmanager
def _build_lock(settings: StackSettings) -> Iterator[None]:
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    with (settings.cache_dir / "build.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _ensure_builder(settings: StackSettings, env: Mapping[str, str], go: Path, say: Say) -> Path:
    bindir = settings.cache_dir / "tools" / f"builder-{BUILDER_VERSION}"
    builder = bindir / "builder"
    if builder.exists():
        return builder
    say(f"installing the OpenTelemetry Collector Builder {BUILDER_VERSION}")
    _run(
        [str(go), "install", f"go.opentelemetry.io/collector/cmd/builder@{BUILDER_VERSION}"],
        env={**env, "GOBIN": str(bindir)},
        cwd=None,
        what="installing ocb",
        say=say,
    )
    return builder


def _build_collector(
    settings: StackSettings, env: Mapping[str, str], go: Path, target: Path, say: Say
) -> None:
    builder = _ensure_builder(settings, env, go, say)
    work = target.parent / "src"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    manifest_src = settings.files_dir / "collector" / "builder-config.yaml"
    manifest = yaml.safe_load(manifest_src.read_text())
    manifest.setdefault("dist", {})["output_path"] = str(work)
    manifest_tmp = target.parent / "manifest.yaml"
    manifest_tmp.write_text(yaml.safe_dump(manifest, sort_keys=False))
    say(f"building the collector from {manifest_src} (cold: ~10-30 min on 2 cores)")
    _run(
        [str(builder), "--config", str(manifest_tmp)],
        env=env,
        cwd=target.parent,
        what="building the collector",
        say=say,
    )
    built = work / str(manifest["dist"]["name"])
    built.replace(target)
    shutil.rmtree(work, ignore_errors=True)


def _ensure_packages(
    environ: Mapping[str, str], say: Say, packages: Mapping[str, str] = APT_PACKAGES
) -> None:
    missing = [pkg for binary, pkg in packages.items() if _which(binary, environ) is None]
    if not missing:
        return
    names = " ".join(missing)
    if _which("apt-get", environ) is None:
        msg = f"{names} not found and apt-get is unavailable: install {names} yourself"
        raise StackError(msg)
    if os.geteuid() != 0:
        msg = f"{names} not installed: run `sudo apt-get install -y {names}`"
        raise StackError(msg)
    env = {**environ, "DEBIAN_FRONTEND": "noninteractive"}
    say(f"installing Debian packages: {names}")
    _run(["apt-get", "update"], env=env, cwd=None, what="apt-get update", say=say)
    _run(
        ["apt-get", "install", "-y", "--no-install-recommends", *missing],
        env=env,
        cwd=None,
        what=f"apt-get install {names}",
        say=say,
    )


def ensure_binaries(
    settings: StackSettings,
    environ: Mapping[str, str],
    say: Say,
    components: tuple[str, ...] = ("collector", "jaeger", "viewer", "prometheus", "redis"),
) -> Binaries:
    """Build or install whatever ``components`` need and is not cached yet."""
    with _build_lock(settings):
        if "prometheus" in components or "redis" in components:
            _ensure_packages(environ, say)
        go_builds = (
            ("collector", collector_binary(settings), _build_collector),
            ("jaeger", jaeger_binary(settings), _JAEGER.build),
            ("viewer", viewer_binary(settings), _VIEWER.build),
        )
        for name, target, build in go_builds:
            if name in components and not target.exists():
                go = _go(environ)
                build(settings, _go_env(settings, environ, go), go, target, say)
    return locate_binaries(settings, environ)


def ensure_browser(settings: StackSettings, environ: Mapping[str, str], say: Say) -> Path:
    """Install Debian's ``chromium`` for the browser tests if it is missing; its path."""
    if not BROWSER.exists():
        with _build_lock(settings):
            _ensure_packages(environ, say, {"chromium": "chromium"})
    if not BROWSER.exists():
        msg = f"chromium was installed but {BROWSER} is missing"
        raise StackError(msg)
    return BROWSER
