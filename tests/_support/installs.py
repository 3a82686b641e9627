"""Building astra-otel's wheel and the venvs the install tests use, cached by content.

Everything comes from PyPI through uv (a dev dependency) or pip, with their caches, the
wheels and the venvs under the stack's cache directory (``~/.cache/astra-otel``):

* ``wheels/<digest>/``: the wheel, built from a clean copy of the sources (links followed),
  keyed by a digest of every file that goes into it;
* ``venvs/<set>-<digest>/``: one venv per dependency set of ``constraints/sets.toml`` with
  the set's dependencies but not astra-otel itself (each run puts its own wheel on
  ``PYTHONPATH``, so concurrent runs from different checkouts never share an install),
  keyed by the constraints file, the declared dependencies and the interpreter.

Builds take a file lock, so test sessions running at once wait for each other's build.
Progress goes to the real stderr (a cold venv takes a minute or two).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from astra_otel._config.params import environ_snapshot
from astra_otel.stack.settings import load_stack_settings

REPO = Path(__file__).resolve().parents[2]
SETS_FILE = REPO / "constraints" / "sets.toml"
_TIMEOUT = 900.0


def progress(line: str) -> None:
    """One progress line on the real stderr, past pytest's capture."""
    stream = sys.__stderr__
    if stream is not None:
        stream.write(f"[install] {line}\n")
        stream.flush()


def cache_root() -> Path:
    """``<stack cache>/installs`` (``ASTRA_OTEL_CACHE_DIR`` or ``~/.cache/astra-otel``)."""
    return load_stack_settings(environ_snapshot()).cache_dir / "installs"


def uv() -> str:
    """The uv executable installed next to this interpreter (the dev extra brings it)."""
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    if found is None:
        raise RuntimeError("uv not found: install the dev extra (make venv)")
    return found


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for uv/pip/python children: caches under ours, no pytest leftovers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    env["UV_CACHE_DIR"] = str(cache_root() / "uv-cache")
    env["PIP_CACHE_DIR"] = str(cache_root() / "pip-cache")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra or {})
    return env


def run(
    cmd: Sequence[str],
    *,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a tool to completion; its output, or a failure naming ``what`` and the tail."""
    proc = subprocess.run(
        list(cmd),
        cwd=cwd,
        env=dict(env) if env is not None else tool_env(),
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _wheel_inputs() -> list[Path]:
    files = [REPO / "pyproject.toml", REPO / "README.md"]
    for top, dirs, names in os.walk(REPO / "astra_otel", followlinks=True):  # the stack files
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files += [Path(top) / n for n in sorted(names) if not n.endswith(".pyc")]
    return files


def _digest(parts: Sequence[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()[:16]


def build_wheel() -> Path:
    """The wheel of this checkout, built once per content (a clean copy of the sources:
    a stale ``build/`` directory can never leak into it)."""
    files = _wheel_inputs()
    key = _digest([str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() for f in files])
    target = cache_root() / "wheels" / key
    with _locked(target):
        found = sorted(target.glob("astra_otel-*.whl"))
        if found:
            return found[0]
        progress(f"building the wheel ({key})")
        source = target.with_name(key + ".src")
        shutil.rmtree(source, ignore_errors=True)
        for f in files:
            dest = source / f.relative_to(REPO)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest)  # follows the stack files' links
        out = target.with_name(key + ".out")
        shutil.rmtree(out, ignore_errors=True)
        run([uv(), "build", "--wheel", "--out-dir", str(out), str(source)], what="uv build")
        shutil.rmtree(source, ignore_errors=True)
        out.replace(target)
        return sorted(target.glob("astra_otel-*.whl"))[0]


@dataclass(frozen=True)
class DependencySet:
    """One set of ``constraints/sets.toml``: its constraints, extras and pytest arguments."""

    name: str
    constraints: Path
    extras: str
    libraries: tuple[str, ...]
    pytest_args: tuple[str, ...]

    def pins(self) -> dict[str, str]:
        """``name -> version`` of every ``==`` line of the constraints file."""
        out: dict[str, str] = {}
        for raw in self.constraints.read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if "==" in line:
                name, version = line.split("==", 1)
                out[name.strip().lower().replace("_", "-")] = version.strip()
        return out


def dependency_sets() -> dict[str, DependencySet]:
    """Every set named in ``constraints/sets.toml``."""
    data = tomllib.loads(SETS_FILE.read_text())
    return {
        name: DependencySet(
            name=name,
            constraints=SETS_FILE.parent / spec["constraints"],
            extras=spec["extras"],
            libraries=tuple(spec.get("with", ())),
            pytest_args=tuple(spec.get("pytest", ())),
        )
        for name, spec in data["sets"].items()
    }


def _declared_dependencies() -> bytes:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {k: project.get(k) for k in ("dependencies", "optional-dependencies")}
    return json.dumps(declared, sort_keys=True).encode()


def new_venv(path: Path, *, seed: bool = False) -> Path:
    """A new venv at ``path`` on this interpreter (``seed``: with pip in it); its python."""
    cmd = [uv(), "venv", "--quiet", "--python", sys.executable, str(path)]
    run([*cmd, "--seed"] if seed else cmd, what=f"uv venv {path.name}")
    return path / "bin" / "python"


def uv_install(python: Path, *args: str, what: str) -> None:
    """``uv pip install`` into the venv of ``python``."""
    run([uv(), "pip", "install", "--quiet", "--python", str(python), *args], what=what)


def wheel_site(wheel: Path, target: Path) -> Path:
    """``wheel`` installed (non-editable, without dependencies) into the directory
    ``target``, for ``PYTHONPATH``; returns ``target``."""
    run(
        [uv(), "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        what=f"installing {wheel.name} into {target.name}",
    )
    return target


def set_venv(dep_set: DependencySet, wheel: Path) -> Path:
    """The cached venv of ``dep_set`` (its dependencies, not astra-otel); its python."""
    wanted = f"{dep_set.extras};{','.join(dep_set.libraries)}".encode()
    key = _digest(
        [dep_set.constraints.read_bytes(), _declared_dependencies(), wanted, sys.version.encode()]
    )
    root = cache_root() / "venvs" / f"{dep_set.name}-{key}"
    python = root / "bin" / "python"
    with _locked(root):
        if (root / ".complete").exists():
            (root / ".complete").touch()  # in use: not stale
            return python
        progress(f"creating the {dep_set.name} venv {root.name} (cold: a minute or two)")
        shutil.rmtree(root, ignore_errors=True)
        new_venv(root)
        uv_install(
            python,
            "-c",
            str(dep_set.constraints),
            f"{wheel}[{dep_set.extras}]",
            *dep_set.libraries,
            what=f"installing the {dep_set.name} set",
        )
        run(
            [uv(), "pip", "uninstall", "--quiet", "--python", str(python), "astra-otel"],
            what="uninstalling astra-otel from the set venv",
        )
        (root / ".complete").write_text("")
        progress(f"{dep_set.name} venv ready")
    _prune(root)
    return python


_STALE_S = 2 * 24 * 3600.0


def _prune(keep: Path) -> None:
    """Remove this set's venvs of other keys unused for two days (none in use: each is
    removed only under its own lock, which a build or a checkout's run would hold)."""
    prefix = keep.name.rsplit("-", 1)[0] + "-"
    for other in keep.parent.glob(prefix + "*"):
        if other == keep or not other.is_dir():
            continue
        marker = other / ".complete"
        if marker.exists() and time.time() - marker.stat().st_mtime < _STALE_S:
            continue
        with other.with_name(other.name + ".lock").open("w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue
            shutil.rmtree(other, ignore_errors=True)


def installed_versions(python: Path) -> dict[str, str]:
    """``name -> version`` of every distribution in the venv of ``python``."""
    out = run(
        [
            str(python),
            "-c",
            "import json, importlib.metadata as m; print(json.dumps({d.metadata['Name']"
            ".lower().replace('_', '-'): d.version for d in m.distributions()}))",
        ],
        what="listing the venv's distributions",
        cwd=python.parent,
    )
    versions: dict[str, str] = json.loads(out)
    return versions


def main(argv: Sequence[str]) -> int:
    """``python -m tests._support.installs python SET``: print the python of ``SET``'s
    venv (built if missing), e.g. to run the benchmarks on the oldest supported set."""
    if len(argv) != 2 or argv[0] != "python" or argv[1] not in dependency_sets():
        names = "|".join(dependency_sets())
        print(f"usage: python -m tests._support.installs python {{{names}}}", file=sys.stderr)
        return 2
    print(set_venv(dependency_sets()[argv[1]], build_wheel()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
