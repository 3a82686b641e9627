"""A bounded traffic generator for the demo API: a steady request rate, for a limited time
and a limited number of requests.

It uses ``urllib`` (which astra-otel does not instrument), so each request's trace starts
at the API's server span, as it would for an outside client.
"""

from __future__ import annotations

import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

__all__ = ["TrafficGenerator", "pick_request"]

SATELLITES = tuple(f"sat-{i:02d}" for i in range(20))

# (weight, method, path template); {sat} is a satellite id, {n} a random number
_MIX: tuple[tuple[int, str, str], ...] = (
    (70, "POST", "/api/v1/satellites/{sat}/analyze"),
    (10, "GET", "/api/v1/anomalies?limit=10"),
    (10, "GET", "/api/v1/health"),
    (8, "GET", "/api/v1/satellites/{sat}/unknown-{n}"),  # 404s: an unbounded raw path
    (2, "POST", "/api/v1/recovery/flush-cache"),
)
_WEIGHTS = [w for w, _, _ in _MIX]


def pick_request(rng: random.Random) -> tuple[str, str]:
    """One (method, path) from the weighted mix."""
    _, method, template = rng.choices(_MIX, weights=_WEIGHTS)[0]
    return method, template.format(sat=rng.choice(SATELLITES), n=rng.randrange(1_000_000))


def _send(base_url: str, method: str, path: str, timeout: float) -> int:
    url = base_url + path  # our own loopback http:// URL, never user input
    body = b"" if method == "POST" else None
    request = urllib.request.Request(url, method=method, data=body)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # see above
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


class TrafficGenerator:
    """Sends ``rps`` requests per second to ``base_url`` on a background thread.

    Stops after ``duration`` seconds or ``max_requests`` requests, whichever comes first,
    or on :meth:`stop`. ``rps <= 0`` disables it. ``statuses`` counts responses by status
    (0 for a connection error).
    """

    def __init__(
        self,
        base_url: str,
        *,
        rps: float,
        duration: float,
        max_requests: int,
        timeout: float = 5.0,
        rng: random.Random | None = None,
        send: Callable[[str, str, str, float], int] = _send,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.rps = rps
        self.duration = duration
        self.max_requests = max_requests
        self.timeout = timeout
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self._rng = rng or random.Random()  # noqa: S311  # load mix, not security
        self._send = send
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether this generator sends anything at all."""
        return self.rps > 0 and self.duration > 0 and self.max_requests > 0

    def start(self, *, wait_for_ready: float = 0.0) -> None:
        """Start sending on a daemon thread (after the API's ``/healthz`` answers, waiting
        at most ``wait_for_ready`` seconds for it)."""
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, args=(wait_for_ready,), name="astra-demo-traffic", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sending and wait for the thread (at most ``timeout`` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def join(self, timeout: float) -> None:
        """Wait for the generator to finish on its own (at most ``timeout`` seconds)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._stop.is_set() and time.monotonic() < deadline:
            if self._send(self.base_url, "GET", "/healthz", self.timeout) == 200:
                return
            self._stop.wait(0.2)

    def _run(self, wait_for_ready: float) -> None:
        if wait_for_ready > 0:
            self._wait_ready(wait_for_ready)
        interval = 1.0 / self.rps
        start = time.monotonic()
        end = start + self.duration
        next_at = start
        while not self._stop.is_set() and self.sent < self.max_requests:
            now = time.monotonic()
            if now >= end:
                break
            if now < next_at:
                self._stop.wait(min(next_at - now, end - now))
                continue
            method, path = pick_request(self._rng)
            status = self._send(self.base_url, method, path, self.timeout)
            self.sent += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            # a slow response does not cause a burst afterwards: never schedule in the past
            next_at = max(next_at + interval, time.monotonic() - interval)
