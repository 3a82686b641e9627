"""The hooks' registry: each private use, its probe, its fallback and one warning."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["HOOKS", "ON_RESET", "Hook", "expect", "hook", "probe", "reset_probes"]

# One logger for every fallback warning, whichever submodule's hook fell back.
_logger = logging.getLogger("astra_otel._internal.sdk_private")


@dataclass
class Hook:
    """One use of private names: what it needs, how it is checked, what replaces it."""

    name: str
    uses: str
    fallback: str
    check: Callable[[], None]
    ok: bool | None = None  # None until probed

    def usable(self) -> bool:
        """Probe once (thread-safe); ``True`` if the fast path may be taken."""
        if self.ok is None:
            with _PROBE_LOCK:
                if self.ok is None:
                    self.ok = self._run()
        return self.ok

    def _run(self) -> bool:
        try:
            self.check()
        except Exception as exc:  # any failure means: not as expected on this release
            _logger.warning(
                "astra-otel: %s (%s) does not work as expected on the installed "
                "OpenTelemetry release (%s: %s); falling back to %s",
                self.name,
                self.uses,
                type(exc).__name__,
                exc,
                self.fallback,
            )
            return False
        return True


_PROBE_LOCK = threading.RLock()
HOOKS: dict[str, Hook] = {}
# Caches built from probe outcomes, emptied with them.
ON_RESET: list[Callable[[], None]] = []


def hook(name: str, uses: str, fallback: str) -> Callable[[Callable[[], None]], Hook]:
    def register(check: Callable[[], None]) -> Hook:
        hook = HOOKS[name] = Hook(name, uses, fallback, check)
        return hook

    return register


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def probe(names: Sequence[str]) -> dict[str, bool]:
    """Probe the named hooks (each only once per process); their outcome by name."""
    return {name: HOOKS[name].usable() for name in names}


def reset_probes() -> None:
    """Forget every probe outcome (tests that break a private name, then restore it)."""
    with _PROBE_LOCK:
        for hook in HOOKS.values():
            hook.ok = None
        for forget in ON_RESET:
            forget()
