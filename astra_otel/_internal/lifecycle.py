"""Process lifecycle: bounded flush at exit and on SIGTERM, re-arming after ``os.fork()``.

* ``atexit`` and SIGTERM run ``Telemetry.shutdown()``: all three signals flush in parallel
  under one deadline (``shutdown_timeout``), then exporters are shut (aborting OTLP retry
  waits). Export threads are daemons, so a dead collector cannot hold the process.
* SIGTERM is only taken over when nobody else handles it (``SIG_DFL``) and only from the
  main thread; after the flush the default action runs, so the exit status is unchanged.
* A ``multiprocessing`` child (fork start method) leaves through ``os._exit``, so the same
  flush is registered as a multiprocessing exit finalizer in the child.
* After a fork the child gets a new ``service.instance.id``, fresh exporters and export
  threads, and forgets the parent's queued items and metric state (no duplicates).
* In a pre-fork server's master (``gunicorn --preload`` imports the app, so runs
  ``setup()``, in the arbiter before forking workers) the pipeline is wired but exports
  nothing: the master is no service instance; each forked worker is one.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing.util
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import ClassVar

__all__ = ["ExitHooks", "in_prefork_master", "register_fork_hook"]


class _Fork:
    callbacks: ClassVar[list[Callable[[], None]]] = []
    registered = False


def _after_fork_in_child() -> None:
    for callback in list(_Fork.callbacks):
        with contextlib.suppress(Exception):  # the child must keep running whatever happens
            callback()


def _register_at_fork() -> None:
    # Registered at import, before any provider exists, so ours runs first in the child
    # (the SDK providers' own hooks then merge into the Resource we already renewed).
    if not _Fork.registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _Fork.registered = True


_register_at_fork()


def register_fork_hook(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` in every forked child; returns a function that unregisters it."""
    _register_at_fork()
    _Fork.callbacks.append(callback)

    def unregister() -> None:
        if callback in _Fork.callbacks:
            _Fork.callbacks.remove(callback)

    return unregister


def in_prefork_master() -> bool:
    """Whether this call runs in gunicorn's arbiter loading the app before forking
    (``--preload``): an arbiter frame on the stack and no worker frame. A worker loading
    the app also has arbiter frames below it (it was forked from ``spawn_worker``), and
    ``gunicorn.workers`` ones above them."""
    frame: FrameType | None
    try:
        frame = sys._getframe(1)
    except (AttributeError, ValueError):  # not CPython: never dormant
        return False
    arbiter = False
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("gunicorn.workers"):
            return False
        arbiter = arbiter or module == "gunicorn.arbiter"
        frame = frame.f_back
    return arbiter


def _arm_multiprocessing_child(shutdown: Callable[[], object]) -> None:
    # multiprocessing's forked children leave through os._exit: no atexit. They do run
    # multiprocessing's own exit finalizers, so the flush is registered there.
    multiprocessing.util.Finalize(None, shutdown, exitpriority=100)


class _ShutdownRef:
    """A weak-referenceable holder (multiprocessing keys its after-fork hooks weakly)."""

    def __init__(self, shutdown: Callable[[], object]) -> None:
        self.shutdown = shutdown


class ExitHooks:
    """atexit + SIGTERM hooks calling ``shutdown()`` once; removable."""

    def __init__(self, shutdown: Callable[[], object]) -> None:
        self._shutdown = shutdown
        self._sigterm_installed = False
        atexit.register(self._at_exit)
        self._install_sigterm()
        self._mp_ref = _ShutdownRef(shutdown)
        multiprocessing.util.register_after_fork(
            self._mp_ref, lambda ref: _arm_multiprocessing_child(ref.shutdown)
        )

    def _at_exit(self) -> None:
        self._shutdown()

    def _install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
                return
            signal.signal(signal.SIGTERM, self._on_sigterm)
            self._sigterm_installed = True
        except (ValueError, OSError):  # not the main interpreter / unsupported
            return

    def _on_sigterm(self, signum: int, _frame: FrameType | None) -> None:
        self._shutdown()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def remove(self) -> None:
        """Unregister from atexit and give SIGTERM back if we still hold it."""
        atexit.unregister(self._at_exit)
        if self._sigterm_installed and threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
            except (ValueError, OSError):
                pass
            self._sigterm_installed = False
