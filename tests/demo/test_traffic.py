"""The traffic generator: bounded in count and time, rate-limited, disabled at 0 rps."""

from __future__ import annotations

import random
import threading
import time

from astra_otel.demo.traffic import TrafficGenerator, pick_request


class Recorder:
    """A fake transport that records what would have been sent."""

    def __init__(self, status: int = 200) -> None:
        self.calls: list[tuple[str, str]] = []
        self.status = status
        self.lock = threading.Lock()

    def __call__(self, base: str, method: str, path: str, timeout: float) -> int:
        with self.lock:
            self.calls.append((method, path))
        return self.status


def test_stops_after_max_requests() -> None:
    """The generator sends exactly max_requests requests and then stops by itself."""
    rec = Recorder()
    gen = TrafficGenerator("http://x", rps=500, duration=30, max_requests=25, send=rec)
    gen.start()
    gen.join(10)
    assert gen.sent == 25
    assert len(rec.calls) == 25
    assert gen.statuses == {200: 25}


def test_stops_after_duration_at_the_given_rate() -> None:
    """At 20 rps for 0.5 s it sends about 10 requests and then stops."""
    rec = Recorder()
    gen = TrafficGenerator("http://x", rps=20, duration=0.5, max_requests=10_000, send=rec)
    started = time.monotonic()
    gen.start()
    gen.join(10)
    assert time.monotonic() - started < 2.0
    assert 8 <= gen.sent <= 12


def test_zero_rps_disables_it() -> None:
    """--traffic-rps 0 sends nothing and starts no thread."""
    rec = Recorder()
    gen = TrafficGenerator("http://x", rps=0, duration=10, max_requests=10, send=rec)
    assert not gen.enabled
    gen.start(wait_for_ready=1)
    gen.stop()
    assert rec.calls == []


def test_stop_interrupts_a_slow_rate() -> None:
    """stop() ends a generator waiting for its next slot promptly."""
    rec = Recorder()
    gen = TrafficGenerator("http://x", rps=0.1, duration=600, max_requests=100, send=rec)
    gen.start()
    time.sleep(0.1)
    started = time.monotonic()
    gen.stop(5)
    assert time.monotonic() - started < 1.0
    assert gen.sent == 1


def test_waits_for_health_before_sending() -> None:
    """Nothing but /healthz is sent until the API answers it with 200."""
    rec = Recorder(status=503)
    gen = TrafficGenerator("http://x", rps=100, duration=0.2, max_requests=5, send=rec)
    gen.start(wait_for_ready=0.3)
    time.sleep(0.15)
    assert rec.calls and all(path == "/healthz" for _, path in rec.calls)
    gen.stop()


def test_mix_covers_every_endpoint() -> None:
    """The request mix reaches analyze, anomalies, health, recovery and unknown paths."""
    rng = random.Random(3)
    paths = {pick_request(rng)[1].split("?")[0].rsplit("/", 1)[-1] for _ in range(2000)}
    assert {"analyze", "anomalies", "health", "flush-cache"} <= paths
    assert any(p.startswith("unknown-") for p in paths)
