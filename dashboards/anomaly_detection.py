"""``astra-anomaly-detection``: detections, their latency, model accuracy, false positives."""

from __future__ import annotations

from .metrics import metric
from .model import Dashboard, Panel, Query, Row
from .promql import RI, SVC, agg, percentiles, quantile, rate

__all__ = ["ANOMALY_DETECTION"]

DETECTIONS = metric("astra.anomaly.detections")
DETECTION_RATE = f"sum(rate({DETECTIONS}{{{SVC}}}{RI}))"
FALSE_POSITIVES = f"sum(rate({metric('astra.anomaly.false_positives')}{{{SVC}}}{RI}))"

ANOMALY_DETECTION = Dashboard(
    uid="astra-anomaly-detection",
    title="astra-otel / Anomaly detection",
    description="Detection rate by severity, detection and inference latency, model "
    "accuracy and false positives (the AstraGuard catalogue).",
    service_metric=DETECTIONS,
    rows=(
        Row(
            "Detections",
            (
                Panel(
                    "Detections by severity",
                    "Anomalies detected per second, by severity.",
                    (
                        Query(
                            rate(DETECTIONS, "astra_anomaly_severity"), "{{astra_anomaly_severity}}"
                        ),
                    ),
                    "ops",
                ),
                Panel(
                    "Detection latency (p50 / p95 / p99)",
                    "Duration of one detection pass.",
                    percentiles(
                        metric("astra.anomaly.detection.duration"),
                        "service_name",
                        "{{service_name}}",
                    ),
                    "s",
                ),
            ),
        ),
        Row(
            "Model quality",
            (
                Panel(
                    "Model accuracy",
                    "Accuracy of each detection model, in [0, 1].",
                    (
                        Query(
                            agg(
                                "max",
                                "astra_anomaly_model",
                                metric("astra.anomaly.model.accuracy"),
                            ),
                            "{{astra_anomaly_model}}",
                        ),
                    ),
                    "percentunit",
                    width=8,
                    max_value=1,
                ),
                Panel(
                    "False positives",
                    "Detections later classified as false positives, per second, and their "
                    "share of all detections.",
                    (
                        Query(FALSE_POSITIVES, "false positives/s"),
                        Query(f"{FALSE_POSITIVES} / {DETECTION_RATE}", "false-positive share"),
                    ),
                    "short",
                    width=8,
                ),
                Panel(
                    "Model inference latency (p95)",
                    "95th percentile of one model inference, by model.",
                    (
                        Query(
                            quantile(
                                0.95,
                                metric("astra.model.inference.duration"),
                                "astra_anomaly_model",
                            ),
                            "{{astra_anomaly_model}}",
                            exemplar=True,
                        ),
                    ),
                    "s",
                    width=8,
                ),
            ),
        ),
    ),
)
