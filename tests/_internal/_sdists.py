"""Upstream test suites from sdists, fetched at test time and cached by version.

An sdist on the package index ships the project's ``tests/``. It is downloaded with pip
(``--no-binary :all: --no-deps``), unpacked once under
``<cache dir>/sdists/<name>-<version>/`` (the stack's cache directory,
``~/.cache/astra-otel`` by default) and reused by every later run; a lock file serialises
concurrent fetches. Nothing fetched is kept in the repository.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from astra_otel._config.params import environ_snapshot
from astra_otel.stack.settings import load_stack_settings

__all__ = ["installed_version", "upstream_sdist"]


def _say(line: str) -> None:
    stream = sys.__stderr__
    if stream is not None:
        stream.write(f"[sdist] {line}\n")
        stream.flush()


def installed_version(python: str, distribution: str) -> str:
    """The version of ``distribution`` installed for the interpreter ``python``."""
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _pip(python: str) -> list[str]:
    """A pip to download with: ``python``'s, else ours, else the system's (a venv made by
    uv has none; an sdist is only source, any pip fetches the same file)."""
    for candidate in (python, sys.executable, shutil.which("python3")):
        if candidate is None:
            continue
        probe = subprocess.run(
            [candidate, "-m", "pip", "--version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return [candidate, "-m", "pip"]
    msg = "no pip to download an sdist with"
    raise RuntimeError(msg)


def upstream_sdist(distribution: str, version: str, python: str = sys.executable) -> Path:
    """The unpacked sdist of ``distribution==version`` (fetched with pip)."""
    root = load_stack_settings(environ_snapshot()).cache_dir / "sdists"
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{distribution}-{version}"
    with (root / "fetch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "tests").is_dir():
            return target
        _say(f"fetching the sdist of {distribution}=={version} (cached in {root})")
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            download = Path(tmp) / "download"
            pip = [*_pip(python), "download", "--quiet", "--no-binary", ":all:", "--no-deps"]
            subprocess.run([*pip, "-d", str(download), f"{distribution}=={version}"], check=True)
            (archive,) = download.glob("*.tar.gz")
            unpacked = Path(tmp) / "unpacked"
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
            (top,) = unpacked.iterdir()
            if target.exists():
                shutil.rmtree(target)
            top.rename(target)
        _say(f"{target.name} ready")
    return target
