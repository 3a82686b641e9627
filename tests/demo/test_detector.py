"""The simulated anomaly detector: severities, spans, accuracy and false positives."""

from __future__ import annotations

import pytest

from astra_otel.demo.detector import Detector, severity_for
from astra_otel.demo.reliability import ChaosMonkey
from astra_otel.testing import Capture

CALM = [10.0, 10.1, 9.9, 10.0, 10.05, 9.95, 10.0, 10.02] * 3
SPIKE = [*CALM[:-1], 30.0]


def _quiet() -> ChaosMonkey:
    return ChaosMonkey(base_rate=0.0, storm_rate=0.0)


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (0.1, "none"),
        (0.5, "low"),
        (0.7, "medium"),
        (0.85, "high"),
        (0.95, "critical"),
        (1.0, "critical"),
    ],
)
def test_severity_thresholds(score: float, severity: str) -> None:
    """Scores map to severities at 0.5, 0.7, 0.85 and 0.95."""
    assert severity_for(score) == severity


def test_spike_is_an_anomaly_and_calm_is_not(telemetry: Capture) -> None:
    """A large spike scores critical; calm readings score below the anomaly threshold."""
    detector = Detector(_quiet())
    spike = detector.detect("sat-1", SPIKE, truth=True)
    calm = detector.detect("sat-1", CALM, truth=False)
    assert spike.anomaly and spike.severity in {"high", "critical"}
    assert not calm.anomaly
    (point,) = telemetry.metric("astra.anomaly.detections").data.data_points
    assert point.attributes == {"astra.anomaly.severity": spike.severity}
    (accuracy,) = telemetry.metric("astra.anomaly.model.accuracy").data.data_points
    assert accuracy.value == 1.0


def test_detection_span_contains_inference_span(telemetry: Capture) -> None:
    """Detection is a span whose child is the model inference span."""
    Detector(_quiet()).detect("sat-1", CALM, truth=None)
    by_name = {s.name: s for s in telemetry.spans()}
    inference = by_name["astra.model.inference"]
    detection = by_name["astra.anomaly.detection"]
    assert inference.parent is not None
    assert inference.parent.span_id == detection.context.span_id


def test_false_positive_lowers_accuracy(telemetry: Capture) -> None:
    """An anomaly reported where none was injected is a false positive and lowers accuracy."""
    detector = Detector(_quiet())
    detector.detect("sat-1", SPIKE, truth=False)
    detector.detect("sat-1", CALM, truth=False)
    (fp,) = telemetry.metric("astra.anomaly.false_positives").data.data_points
    assert fp.value == 1
    (accuracy,) = telemetry.metric("astra.anomaly.model.accuracy").data.data_points
    assert accuracy.value == 0.5


def test_anomaly_is_logged_in_the_detection_span(telemetry: Capture) -> None:
    """An anomaly logs an astra.anomaly.detected event carrying the detection span's ids."""
    Detector(_quiet()).detect("sat-9", SPIKE, truth=True)
    (log,) = [
        r
        for r in telemetry.logs()
        if (r.log_record.attributes or {}).get("event.name") == "astra.anomaly.detected"
    ]
    detection = next(s for s in telemetry.spans() if s.name == "astra.anomaly.detection")
    assert log.log_record.trace_id == detection.context.trace_id
    assert log.log_record.span_id == detection.context.span_id
    assert (log.log_record.attributes or {})["astra.anomaly.source"] == "sat-9"
