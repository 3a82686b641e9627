"""A simulated anomaly detector: scores telemetry readings and keeps its own accuracy.

The downstream feed marks which readings it made anomalous on purpose, so the detector can
tell true from false positives and report ``astra.anomaly.model.accuracy`` and
``astra.anomaly.false_positives`` honestly.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from astra_otel.catalogue import (
    Catalogue,
    anomaly_detection,
    get_catalogue,
    log_anomaly,
    model_inference,
)
from astra_otel.demo.reliability import ChaosMonkey

__all__ = ["Detection", "Detector", "severity_for"]

MODEL = "zscore-v1"


@dataclass(frozen=True)
class Detection:
    """One detector verdict."""

    score: float  # in [0, 1]
    severity: str  # none, low, medium, high, critical
    anomaly: bool


def severity_for(score: float) -> str:
    """Map a score in [0, 1] to a severity; ``none`` below the anomaly threshold."""
    if score >= 0.95:
        return "critical"
    if score >= 0.85:
        return "high"
    if score >= 0.7:
        return "medium"
    if score >= 0.5:
        return "low"
    return "none"


class Detector:
    """Z-score detector over one batch of readings (simulated model)."""

    def __init__(self, chaos: ChaosMonkey, *, catalogue: Catalogue | None = None) -> None:
        self._chaos = chaos
        self._catalogue = catalogue
        self._lock = threading.Lock()
        self._correct = 0
        self._total = 0

    def _cat(self) -> Catalogue:
        return self._catalogue or get_catalogue()

    def _infer(self, readings: Sequence[float]) -> float:
        with model_inference(MODEL, catalogue=self._catalogue):
            self._chaos.maybe_delay("model_latency", 0.15)
            self._chaos.maybe_fail("model_fault")
            if len(readings) < 2:
                return 0.0
            mean = sum(readings) / len(readings)
            var = sum((r - mean) ** 2 for r in readings) / (len(readings) - 1)
            peak = max(abs(r - mean) for r in readings) / math.sqrt(var or 1.0)
            # squash the peak z-score (typically 1.5..4) into [0, 1]
            return 1.0 / (1.0 + math.exp(-(peak - 3.0) * 2.0))

    def detect(self, source: str, readings: Sequence[float], truth: bool | None) -> Detection:
        """Score ``readings`` from ``source``; ``truth`` (if known) updates the accuracy."""
        cat = self._cat()
        with anomaly_detection(MODEL, catalogue=self._catalogue):
            score = self._infer(readings)
            severity = severity_for(score)
            anomaly = severity != "none"
            if anomaly:
                cat.record_anomaly(severity)
                log_anomaly(severity, score, MODEL, source)
            if truth is not None:
                self._score(cat, anomaly, truth)
        return Detection(score=score, severity=severity, anomaly=anomaly)

    def _score(self, cat: Catalogue, predicted: bool, truth: bool) -> None:
        if predicted and not truth:
            cat.record_false_positive()
        with self._lock:
            self._total += 1
            self._correct += predicted == truth
            accuracy = self._correct / self._total
        cat.record_model_accuracy(MODEL, accuracy)

    def reload(self) -> None:
        """Recovery action for the breaker: 'reload the model' (fails during a storm)."""
        self._chaos.maybe_fail("model_reload", weight=0.5)
