"""Whether a signal's exports work, said once on stderr: failing, still failing, recovered.

One :class:`ExportStatus` per signal is fed by two kinds of outcome: every request the
OTLP exporter makes (:meth:`ExportStatus.attempt`, from the hook in
:mod:`astra_otel._internal.exporters`, so the first refused connection is reported while
the exporter is still retrying) and every whole export (:meth:`ExportStatus.batch`, from
the pipeline's counters, for exporters without that hook). Lines go straight to stderr,
never through ``logging``: the log bridge must not carry reports about its own transport,
and a process whose only log handler is the bridge would print nothing.

Every error text passes through :func:`describe_error`, the one place it is worded.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

__all__ = ["REPEAT_INTERVAL", "ExportStatus", "describe_error", "say", "say_unexported"]

# What one item of each signal is called in the shutdown line (plural).
_ITEMS = {"traces": "spans", "metrics": "metric points", "logs": "log records"}

# While failures continue, the failing line is repeated at most this often (seconds).
REPEAT_INTERVAL = 60.0

Writer = Callable[[str], None]


def say(line: str) -> None:
    """Write one ``astra-otel[pid]: ...`` line to the process's stderr; never raises."""
    stream = sys.stderr or sys.__stderr__
    if stream is None:
        return
    try:
        stream.write(f"astra-otel[{os.getpid()}]: {line}\n")
        stream.flush()
    except (OSError, ValueError):  # closed or broken stderr: nothing else to tell
        return


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _strip_repr_prefix(text: str) -> str:
    # urllib3 prefixes its connection errors with the connection object's repr:
    # "HTTPConnection(host=..., port=...): ..." (2.x), "<urllib3.connection.... at 0x...>: ..."
    # (1.26, which requests 2.28 uses).
    for close in ("): ", ">: "):
        head, sep, rest = text.partition(close)
        if sep and head.startswith(("HTTPConnection(", "HTTPSConnection(", "<urllib3")):
            return rest
    return text


def describe_error(
    error: BaseException | None = None, status: int | None = None, reason: str | None = None
) -> str:
    """One line naming what went wrong with an export request.

    ``error``: what the transport raised (a ``requests`` error wrapping urllib3's cause,
    or a gRPC ``RpcError``); ``status``/``reason``: an HTTP response that was not 2xx.
    """
    if status is not None:
        return _one_line(f"HTTP {status} {reason or ''}")
    if error is None:
        return "export failed (the exporter gave no detail)"
    code = getattr(error, "code", None)
    details = getattr(error, "details", None)
    if callable(code) and callable(details):  # grpc.RpcError (a call's outcome)
        name = getattr(code(), "name", str(code()))
        return _one_line(f"gRPC status {name}: {details() or ''}")
    cause: object = error
    # requests.ConnectionError(urllib3.MaxRetryError(reason=NewConnectionError(...)))
    inner = error.args[0] if error.args else None
    if getattr(inner, "reason", None) is not None:
        cause = inner.reason  # type: ignore[union-attr]  # checked just above
    text = _strip_repr_prefix(str(cause)) or type(cause).__name__
    # urllib3 1.26 leaves the host out of a failed name resolution: say which one it was.
    request = getattr(error, "request", None)
    host = urlsplit(str(getattr(request, "url", "") or "")).hostname
    if host and host not in text:
        text = f"{text} (host {host})"
    return _one_line(f"{type(error).__name__}: {text}")


class ExportStatus:
    """One signal's export health: last error, its time, and the lines said about it.

    ``lost`` returns how many items of this signal were lost so far (the pipeline's
    counters), so the repeated and recovered lines can say how many went while failing.
    """

    def __init__(
        self,
        signal: str,
        endpoint: str,
        *,
        enabled: bool = True,
        lost: Callable[[], int] = lambda: 0,
        write: Writer = say,
        clock: Callable[[], float] = time.monotonic,
        repeat_interval: float = REPEAT_INTERVAL,
    ) -> None:
        self.signal = signal
        self.endpoint = endpoint
        self.enabled = enabled
        self._lost = lost
        self._write = write
        self._clock = clock
        self._repeat = repeat_interval
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything (a forked child starts healthy, with a lock of its own)."""
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.last_error_time: float | None = None  # Unix time of the last failure
        self.failing = False
        self._since = 0.0
        self._said = 0.0
        self._lost_before = 0

    def _say(self, line: str) -> None:
        if self.enabled:
            self._write(f"{self.signal} export to {self.endpoint} {line}")

    def attempt(self, error: str | None) -> None:
        """One export request ended: ``error`` is ``None`` on success, else its text."""
        if error is None:
            self._recovered()
        else:
            self._failed(error)

    def batch(self, ok: bool) -> None:
        """One whole export ended (after the exporter's own retries)."""
        if ok:
            self._recovered()
        elif not self.failing:  # an exporter that reported no request of its own
            self._failed(describe_error())

    def _failed(self, error: str) -> None:
        now = self._clock()
        with self._lock:
            self.last_error = error
            self.last_error_time = time.time()
            if not self.failing:
                self.failing = True
                self._since = self._said = now
                self._lost_before = self._lost()
                line = f"failing: {error}"
            elif now - self._said >= self._repeat:
                self._said = now
                lost = self._lost() - self._lost_before
                line = f"still failing after {now - self._since:.0f} s ({lost} lost): {error}"
            else:
                return
        self._say(line)

    def _recovered(self) -> None:
        with self._lock:
            if not self.failing:
                return
            self.failing = False
            took = self._clock() - self._since
            lost = self._lost() - self._lost_before
        self._say(f"recovered after {took:.0f} s ({lost} lost while failing)")

    def loss_reason(self, left: int, deadline: float) -> str:
        """Why items of this signal were not exported by a shutdown with ``deadline`` s,
        ``left`` of them still queued or being sent when it ended."""
        if self.failing:
            return f"export failing: {self.last_error}"
        if left:
            return f"not sent within the {deadline:g} s shutdown deadline"
        return f"export failed: {self.last_error or 'no detail'}"


def _items(signal: str, n: int) -> str:
    noun = _ITEMS.get(signal, "items")
    return f"{n} {noun[:-1] if n == 1 else noun}"


def say_unexported(
    losses: list[tuple[ExportStatus, int, int]], deadline: float, write: Writer = say
) -> None:
    """One line after a shutdown: per signal, how many items were not exported and why.

    ``losses``: (status, items lost during the shutdown, items still queued at its end).
    Signals lost for the same reason share it. Nothing is said when nothing was lost or
    the warnings are off.
    """
    reasons: dict[str, list[str]] = {}
    for status, lost, left in losses:
        if lost > 0 and status.enabled:
            reasons.setdefault(status.loss_reason(left, deadline), []).append(
                _items(status.signal, lost)
            )
    if reasons:
        parts = [f"{', '.join(items)} ({why})" for why, items in reasons.items()]
        write("shutdown left telemetry unexported: " + "; ".join(parts))
