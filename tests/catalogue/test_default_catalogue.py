"""The process-wide catalogue follows the global providers setup() installs."""

from __future__ import annotations

from astra_otel.catalogue import anomaly_detection, get_catalogue
from astra_otel.testing import capture_telemetry


def test_default_catalogue_follows_replaced_providers() -> None:
    """After the global providers are replaced, get_catalogue() records into the new ones."""
    with capture_telemetry(service_name="first") as first:
        first_catalogue = get_catalogue()
        first_catalogue.record_anomaly("low")
        assert get_catalogue() is first_catalogue, "cached while the providers stay"
        (point,) = first.metric("astra.anomaly.detections").data.data_points
        assert point.value == 1
    with capture_telemetry(service_name="second") as second:
        get_catalogue().record_anomaly("high")
        with anomaly_detection("m"):
            pass
        (point,) = second.metric("astra.anomaly.detections").data.data_points
        assert point.attributes == {"astra.anomaly.severity": "high"}
        assert [s.name for s in second.spans()] == ["astra.anomaly.detection"]
    assert get_catalogue() is not first_catalogue
