"""setup(): idempotence, conflicts, disabled mode, re-setup after shutdown."""

from __future__ import annotations

import logging
import logging.config

import pytest
from opentelemetry import metrics, trace

import astra_otel
from astra_otel import SettingsConflictError, TracesOptions
from astra_otel._config.settings import load_settings
from astra_otel._internal import setup as setup_mod
from astra_otel._internal.logs import BridgeHandler
from astra_otel.testing import capture_telemetry

DEAD = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused


def _bridges() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, BridgeHandler)]


def test_second_call_with_equal_settings_returns_the_same_handle() -> None:
    """setup() twice with the same settings: same handle, one bridge on the root logger."""
    first = astra_otel.setup(service_name="idem", endpoint=DEAD, export_timeout=0.2)
    second = astra_otel.setup(service_name="idem", endpoint=DEAD, export_timeout=0.2)
    assert second is first
    assert len(_bridges()) == 1
    assert isinstance(trace.get_tracer_provider(), type(first.tracer_provider))


def test_call_with_different_settings_names_the_fields() -> None:
    """A different setup() while one is live raises SettingsConflictError with the fields."""
    astra_otel.setup(service_name="one", endpoint=DEAD, export_timeout=0.2)
    with pytest.raises(SettingsConflictError) as info:
        astra_otel.setup(
            service_name="two",
            endpoint=DEAD,
            export_timeout=0.2,
            traces=TracesOptions(sampler="always_off"),
        )
    assert info.value.fields == ["service_name", "traces.sampler"]
    assert "service_name" in str(info.value)


def test_setup_after_shutdown_installs_new_providers() -> None:
    """After shutdown() a new setup() with other settings works and becomes global."""
    first = astra_otel.setup(service_name="a", endpoint=DEAD, export_timeout=0.2)
    assert first.shutdown(2.0) in (True, False)
    assert _bridges() == []
    second = astra_otel.setup(service_name="b", endpoint=DEAD, export_timeout=0.2)
    assert second is not first
    assert trace.get_tracer_provider() is second.tracer_provider
    assert metrics.get_meter_provider() is second.meter_provider


def test_one_record_per_log_call_after_many_setups_and_logging_config() -> None:
    """N setup() calls, basicConfig and dictConfig never duplicate a record."""
    with capture_telemetry(service_name="dup") as cap:
        settings = cap.telemetry.settings
        for _ in range(5):
            assert setup_mod.activate(settings) is cap.telemetry
        logging.basicConfig(level=logging.INFO)
        logging.getLogger("app").info("after basicConfig")
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"null": {"class": "logging.NullHandler"}},
                "root": {"level": "INFO", "handlers": ["null"]},
            }
        )
        setup_mod.activate(settings)  # re-attaches the bridge dictConfig removed
        setup_mod.activate(settings)
        logging.getLogger("app").info("after dictConfig")
        bodies = [r.log_record.body for r in cap.logs()]
        assert bodies == ["after basicConfig", "after dictConfig"]
        assert len(_bridges()) == 1


def test_disabled_mode_leaves_the_api_as_noops() -> None:
    """enabled=False: no providers, non-recording spans, empty health, no bridge."""
    handle = astra_otel.setup(service_name="off", enabled=False)
    assert handle.enabled is False
    assert handle.tracer_provider is None
    span = trace.get_tracer("x").start_span("s")
    assert not span.is_recording()
    span.end()
    assert _bridges() == []
    assert handle.health().traces == astra_otel.SignalHealth(0, 0, 0, 0)
    assert handle.force_flush(1.0) is True
    assert handle.shutdown(1.0) is True


def test_sdk_disabled_variable_disables(monkeypatch: pytest.MonkeyPatch) -> None:
    """OTEL_SDK_DISABLED=true in the environment is the same as enabled=False."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = astra_otel.setup(service_name="off")
    assert handle.enabled is False
    assert not trace.get_tracer("x").start_span("s").is_recording()


def test_config_error_is_raised_at_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad variable fails setup() itself, naming the variable."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
    with pytest.raises(astra_otel.ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL"):
        astra_otel.setup(service_name="bad")
    assert setup_mod.current() is None


def test_health_counts_spans_and_logs() -> None:
    """health() reports exported items per signal after a flush."""
    with capture_telemetry(service_name="h") as cap:
        with trace.get_tracer("t").start_as_current_span("s"):
            logging.getLogger("app").warning("w")
        cap.telemetry.force_flush(5.0)
        health = cap.telemetry.health()
        assert (health.traces.exported, health.logs.exported) == (1, 1)
        assert health.traces.dropped == 0


def test_drops_show_in_health_and_self_metrics() -> None:
    """A full span queue drops the oldest; health() and astra.telemetry.dropped show it."""
    with capture_telemetry(
        service_name="drops",
        traces=TracesOptions(max_queue_size=5, max_export_batch_size=5, schedule_delay=60),
    ) as cap:
        processor = cap.telemetry._extras["span_processor"]
        assert processor.batcher.shutdown(5.0)  # worker stopped: the queue only fills
        tracer = trace.get_tracer("t")
        for i in range(12):
            tracer.start_span(f"s{i}").end()
        health = cap.telemetry.health()
        assert health.traces.dropped == 7
        assert health.traces.queued == 5
        assert [s.name for s in processor.batcher._queue] == [f"s{i}" for i in range(7, 12)]
        dropped = cap.metric("astra.telemetry.dropped")
        points = {
            (
                p.attributes["astra.telemetry.signal"],
                p.attributes["astra.telemetry.reason"],
            ): p.value
            for p in dropped.data.data_points  # type: ignore[union-attr]
        }
        assert points[("traces", "queue_full")] == 7
        assert dropped.unit == "{item}"
        queue = cap.metric("astra.telemetry.queue.size")
        sizes = {p.attributes["astra.telemetry.signal"]: p.value for p in queue.data.data_points}  # type: ignore[union-attr]
        assert sizes["traces"] == 5


def test_settings_object_is_exposed() -> None:
    """The handle exposes the frozen Settings it was built from."""
    with capture_telemetry(service_name="s") as cap:
        assert cap.telemetry.settings == load_settings(
            {"service_name": "s", "gc_freeze": False}, {}
        )


def test_enabled_argument_overrides_sdk_disabled_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """enabled=True beats OTEL_SDK_DISABLED=true everywhere, the SDK providers included."""
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    with capture_telemetry(service_name="on", enabled=True) as cap:
        trace.get_tracer("t").start_span("recorded").end()
        metrics.get_meter("m").create_counter("c").add(1)
        assert [s.name for s in cap.spans()] == ["recorded"]
        assert cap.metric("c").data.data_points[0].value == 1  # type: ignore[union-attr]


def test_conflict_lists_public_arguments_with_old_and_new_values() -> None:
    """The conflict error names the arguments as the caller wrote them (endpoint, not
    traces.export.endpoint), each with old -> new, and hides header values."""
    astra_otel.setup(service_name="one", endpoint=DEAD, export_timeout=0.2, headers={"k": "s1"})
    with pytest.raises(SettingsConflictError) as info:
        astra_otel.setup(
            service_name="one",
            endpoint="http://127.0.0.1:10",
            export_timeout=0.3,
            headers={"k": "s2"},
        )
    assert info.value.changes == {
        "endpoint": (DEAD, "http://127.0.0.1:10"),
        "headers": ({"k": "***"}, {"k": "***"}),
        "export_timeout": (0.2, 0.3),
    }
    message = str(info.value)
    assert "endpoint: 'http://127.0.0.1:9' -> 'http://127.0.0.1:10'" in message
    assert "export_timeout: 0.2 -> 0.3" in message
    assert "s1" not in message and "s2" not in message
    assert "traces.export" not in message
