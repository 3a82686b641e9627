"""Every private OpenTelemetry hook: its probe passes on the installed SDK, and when the
private name is removed or behaves differently the public fallback works, with exactly one
warning naming the hook."""

from __future__ import annotations

import functools
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import context, trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal.metric_reader_storage import MetricReaderStorage
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

from astra_otel._config.settings import ExportSettings
from astra_otel._internal import sdk_private
from astra_otel._internal.batching import Batcher, SignalStats
from astra_otel._internal.exporters import span_exporter
from astra_otel._internal.metrics import reset_metric_state_in_child
from astra_otel._internal.otlp_spans import SpanEncoder
from astra_otel._internal.resource import CachedHashResource, renew_instance_id
from astra_otel._internal.sdk_private import _api, _exporters, _spans
from astra_otel.testing import OtlpHttpSink, capture_telemetry

LOGGER = "astra_otel._internal.sdk_private"


@pytest.fixture
def warnings_of(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """The fallback warnings logged so far."""
    caplog.set_level(logging.WARNING, logger=LOGGER)

    def seen() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == LOGGER]

    return seen


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A monkeypatch after which every hook is probed again; undone (and the probes
    forgotten again) before the next test."""
    sdk_private.reset_probes()
    yield monkeypatch
    monkeypatch.undo()
    sdk_private.reset_probes()


def _one_warning(seen: list[str], hook: str) -> None:
    assert len(seen) == 1, seen
    assert f"astra-otel: {hook} (" in seen[0]
    assert "falling back to" in seen[0]


def _finished_spans(n: int = 3) -> list[ReadableSpan]:
    provider = TracerProvider(resource=Resource({"service.name": "probe"}), shutdown_on_exit=False)
    tracer = provider.get_tracer("t", "1")
    spans: list[ReadableSpan] = []
    for i in range(n):
        with tracer.start_as_current_span("parent"):
            span: Any = tracer.start_span(f"op-{i}", attributes={"i": i, "k": "v"})
        span.add_event("e", {"x": True})
        span.end()
        spans.append(span)
    return spans


def test_every_hook_passes_its_probe_on_the_installed_sdk(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """On the installed release (oldest and newest supported) every probe passes, so every
    fast path is taken, and nothing is logged."""
    names = [n for n in sdk_private.HOOKS if n != "fastapi-native-telemetry"]
    assert sdk_private.probe(names) == dict.fromkeys(names, True)
    assert warnings_of() == []


def test_a_failed_probe_warns_once_per_process(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """A hook is probed once: later uses and later setup() calls add no second warning."""
    broken.setattr(_spans, "_PRIVATE_ORIGIN", attrgetter("_renamed_resource", "_scope"))
    for _ in range(3):
        with capture_telemetry(service_name="a") as cap:
            with trace.get_tracer("t").start_as_current_span("s"):
                pass
            assert [s.name for s in cap.spans()] == ["s"]
    _one_warning(warnings_of(), "span-fields")


class _NotOnce:
    """A set-once guard of another type, as if the API had replaced its ``Once``."""

    def __init__(self) -> None:
        self.done = False

    def do_once(self, func: Callable[[], None]) -> bool:
        if self.done:
            return False
        func()
        self.done = True
        return True


def test_api_globals_fallback_sets_each_global_once(
    broken: pytest.MonkeyPatch,
    warnings_of: Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without the API's set-once guards: the first setup() installs the globals through
    the public setters, a setup() after shutdown() still works (its own providers in use)
    and the API never logs an override warning."""
    broken.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", _NotOnce())
    with capture_telemetry(service_name="first") as cap:
        with trace.get_tracer("t").start_as_current_span("global"):
            pass
        assert [s.name for s in cap.spans()] == ["global"]
    with capture_telemetry(service_name="second") as cap:
        assert cap.telemetry.tracer_provider is not None
        cap.telemetry.tracer_provider.get_tracer("t").start_span("explicit").end()
        assert [s.name for s in cap.spans()] == ["explicit"]
    _one_warning(warnings_of(), "api-globals")
    assert not [r for r in caplog.records if "Overriding" in r.getMessage()]


def test_sdk_disabled_flag_fallback_leaves_the_sdk_reading(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """A provider whose ``_disabled`` is no longer a bool is left alone: setup() works and
    records (OTEL_SDK_DISABLED is unset here), with one warning."""
    original = TracerProvider.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._disabled = int(self._disabled)

    broken.setattr(TracerProvider, "__init__", init)
    with capture_telemetry(service_name="a") as cap:
        with trace.get_tracer("t").start_as_current_span("s"):
            pass
        assert [s.name for s in cap.spans()] == ["s"]
    _one_warning(warnings_of(), "sdk-disabled-flag")


def test_suppress_key_fallback_uses_the_contrib_context_manager(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """Without the API's suppression key, exports still run with instrumentation
    suppressed (through opentelemetry.instrumentation.utils), with one warning."""
    from opentelemetry.instrumentation.utils import is_instrumentation_enabled  # noqa: PLC0415

    broken.delattr(context, "_SUPPRESS_INSTRUMENTATION_KEY")
    seen: list[bool] = []

    def export(batch: Any) -> bool:
        seen.append(is_instrumentation_enabled())
        return True

    batcher: Batcher[int] = Batcher(
        name="t",
        export=export,
        stats=SignalStats("traces"),
        max_queue_size=10,
        max_export_batch_size=10,
        schedule_delay=60.0,
    )
    batcher.put(1)
    assert batcher.flush(5.0)
    batcher.shutdown(5.0)
    assert seen == [False]
    assert is_instrumentation_enabled()
    _one_warning(warnings_of(), "suppress-key")


def test_span_fields_fallback_encodes_the_sdk_bytes(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """With a span's private fields gone, the encoder reads the public properties and
    still writes the SDK encoder's bytes."""
    broken.setattr(_spans, "_PRIVATE_FIELDS", attrgetter("_context", "_renamed_parent"))
    spans = _finished_spans()
    assert SpanEncoder().encode(spans) == encode_spans(spans).SerializeToString()
    _one_warning(warnings_of(), "span-fields")


class _RenamedBounded(BoundedAttributes):
    """BoundedAttributes keeping its items under another name (as a later SDK might)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._items = self.__dict__.pop("_dict")

    def __getitem__(self, key: str) -> Any:
        return self._items[key]


def test_attributes_dict_fallback_encodes_the_sdk_bytes(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """Without ``BoundedAttributes._dict`` the encoders iterate the public mapping and
    still write the SDK encoder's bytes."""
    broken.setattr(_spans, "BoundedAttributes", _RenamedBounded)
    spans = _finished_spans()
    assert SpanEncoder().encode(spans) == encode_spans(spans).SerializeToString()
    _one_warning(warnings_of(), "attributes-dict")


def _frozen_after(name: str, ready: Callable[[Any], bool]) -> Callable[[Any, str, Any], None]:
    def setattr_(self: Any, attr: str, value: Any) -> None:
        if attr == name and ready(self):
            raise AttributeError(f"{attr} is read-only")
        object.__setattr__(self, attr, value)

    return setattr_


def test_span_attributes_write_fallback_redacts_a_copy(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """When an ended span's attributes cannot be replaced, the SDK-encoded path (in-memory
    capture) exports a public ReadableSpan copy carrying the redacted values."""
    ended = _frozen_after(
        "_attributes",
        lambda s: getattr(s, "_end_time", None) is not None and "_attributes" in vars(s),
    )
    broken.setattr(ReadableSpan, "__setattr__", ended)
    with capture_telemetry(service_name="a") as cap:
        with trace.get_tracer("t").start_as_current_span("login") as span:
            span.set_attribute("http.request.header.authorization", "Bearer hunter2")
            span.set_attribute("db.statement", "SELECT 1 FROM t WHERE pw = 'hunter2'")
            span.set_attribute("k", "v")
        (exported,) = cap.spans()
    assert exported.attributes is not None
    assert exported.attributes["http.request.header.authorization"] == "[REDACTED]"
    assert exported.attributes["db.statement"] == "SELECT ? FROM t WHERE pw = ?"
    assert exported.attributes["k"] == "v"
    _one_warning(warnings_of(), "span-fields-write")


def test_resource_write_fallback_leaves_the_resource(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """When a Resource's attributes cannot be replaced, the fork hook leaves it (and the
    instance id it reports) as it was instead of failing."""
    ready = lambda r: "_attributes" in vars(r)  # noqa: E731
    broken.setattr(Resource, "__setattr__", _frozen_after("_attributes", ready))
    resource = CachedHashResource({"service.instance.id": "parent", "process.pid": 1})
    assert renew_instance_id(resource) == "parent"
    assert resource.attributes["service.instance.id"] == "parent"
    _one_warning(warnings_of(), "resource-attributes-write")


def test_metrics_fork_reset_fallback_keeps_collecting(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """When the reader storages keep their view matches where a reset cannot reach, the
    reset is skipped (one warning) and the provider keeps collecting."""

    def get(self: Any) -> Any:
        return self.__dict__.get("_kept", self.__dict__.get("_instrument_view_instrument_matches"))

    def set_(self: Any, value: Any) -> None:
        self.__dict__.setdefault("_kept", value)  # the first (the SDK's own) write only

    attr = "_instrument_view_instrument_matches"
    broken.setattr(MetricReaderStorage, attr, property(get, set_), raising=False)
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    counter = provider.get_meter("m").create_counter("c")
    counter.add(2)
    reset_metric_state_in_child(provider, [reader])
    counter.add(3)
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = data.resource_metrics[0].scope_metrics[0].metrics
    assert [p.value for p in metric.data.data_points] == [5]
    _one_warning(warnings_of(), "metrics-fork-reset")


def test_semconv_mode_fallback_leaves_the_contrib_registry(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """When the contrib registry does not take the mode we hand it, it is left to read
    OTEL_SEMCONV_STABILITY_OPT_IN itself; setup() and the instrumentations still work."""
    from opentelemetry.instrumentation import _semconv  # noqa: PLC0415

    stability = _semconv._OpenTelemetrySemanticConventionStability
    default = _semconv._StabilityMode.DEFAULT
    broken.setattr(stability, "_get_opentelemetry_stability_opt_in_mode", lambda _s: default)
    with capture_telemetry(service_name="a") as cap:
        with trace.get_tracer("t").start_as_current_span("s"):
            pass
        assert [s.name for s in cap.spans()] == ["s"]
    _one_warning(warnings_of(), "semconv-mode")


def test_fastapi_native_telemetry_hook(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """Apps created before setup() are instrumented whether FastAPI keeps its native
    telemetry settings where we expect them or not (then: one warning); a FastAPI without
    native telemetry is never probed."""
    import fastapi  # noqa: PLC0415

    native = "telemetry" in __import__("inspect").signature(fastapi.FastAPI.__init__).parameters
    if native:
        original = fastapi.FastAPI.__init__

        @functools.wraps(original)
        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            self._telemetry_settings = self.__dict__.pop("_telemetry")

        broken.setattr(fastapi.FastAPI, "__init__", init)
    app = fastapi.FastAPI()

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    with capture_telemetry(service_name="a") as cap:
        cap.telemetry.instrument_fastapi(app)
        assert app.middleware_stack is None  # rebuilt, instrumented, on first use
    if native:
        _one_warning(warnings_of(), "fastapi-native-telemetry")
    else:
        assert sdk_private.HOOKS["fastapi-native-telemetry"].ok is None
        assert warnings_of() == []


def _settings(endpoint: str, protocol: str) -> ExportSettings:
    return ExportSettings(endpoint=endpoint, protocol=protocol, headers=(), timeout=5.0)


def _no_such_client(exporter: Any, payload: bytes) -> bool:
    raise AttributeError(f"{type(exporter).__name__!r} object has no attribute '_client'")


def test_otlp_http_bytes_fallback_sends_through_the_sdk_exporter(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """When no way of sending our own bytes through the SDK's HTTP exporter works, the
    SDK's own exporter (and encoder) is used, and the spans still arrive over OTLP/HTTP."""
    broken.setattr(_exporters, "_HTTP_SENDERS", (("client", _no_such_client),))
    with OtlpHttpSink() as sink:
        exporter = span_exporter(_settings(f"{sink.endpoint}/v1/traces", "http/protobuf"), 5.0)
        assert not hasattr(exporter, "export_encoded")
        assert type(exporter) is sdk_private.sdk_http_class("traces")
        spans = _finished_spans(2)
        assert exporter.export(spans).name == "SUCCESS"
        exporter.shutdown()
        assert sorted(sink.span_names()) == ["op-0", "op-1"]
    _one_warning(warnings_of(), "otlp-http-bytes")


class _NoRawStub:
    def __init__(self, channel: Any, method: str, response: Any) -> None:
        raise AttributeError("'OTLPSpanExporter' object has no attribute '_channel'")


def test_otlp_grpc_bytes_fallback_is_the_sdk_exporter(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """When our raw-bytes stub cannot be put on the SDK's gRPC exporter, span_exporter()
    is the SDK's own gRPC exporter (its own encoder), with one warning."""
    broken.setattr(_exporters, "_RawExportStub", _NoRawStub)
    exporter = span_exporter(_settings("http://127.0.0.1:9", "grpc"), 1.0)
    try:
        assert type(exporter) is sdk_private.sdk_grpc_class("traces")
        assert not hasattr(exporter, "export_encoded")
    finally:
        exporter.shutdown()
    _one_warning(warnings_of(), "otlp-grpc-bytes")


def test_otlp_grpc_stub_fallback_watches_nothing(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """An exporter that keeps its stub somewhere else than ``_client`` is not watched per
    request (only whole exports count), with one warning."""
    from astra_otel._internal.exporters import watch_requests  # noqa: PLC0415

    cls = sdk_private.sdk_grpc_class("traces")
    renamed = lambda self: setattr(self, "_rpc_stub", object())  # noqa: E731
    broken.setattr(cls, "_initialize_channel_and_stub", renamed)
    exporter = cls(endpoint="127.0.0.1:9", insecure=True, timeout=1.0)
    try:
        assert not watch_requests(exporter, lambda _error: None)
    finally:
        exporter.shutdown()
    _one_warning(warnings_of(), "otlp-grpc-calls")


def test_logs_sdk_fallback_turns_only_logs_off(
    broken: pytest.MonkeyPatch, warnings_of: Callable[[], list[str]]
) -> None:
    """Without the logs SDK's classes setup() still wires traces and metrics; there is no
    log pipeline, and one warning says so."""
    broken.setattr(_api, "_LOGS_ERROR", ImportError("cannot import name 'ReadWriteLogRecord'"))
    with capture_telemetry(service_name="a") as cap:
        with trace.get_tracer("t").start_as_current_span("s"):
            logging.getLogger("app").warning("not exported")
        assert [s.name for s in cap.spans()] == ["s"]
        assert cap.telemetry.logger_provider is None
        assert cap.logs() == []
    _one_warning(warnings_of(), "logs-sdk")


SDK_WITHOUT_READWRITE = """
import logging, sys
import opentelemetry.sdk._logs as logs
del logs.ReadWriteLogRecord  # as an SDK that renamed it would be
import astra_otel
from astra_otel.testing import capture_telemetry
from opentelemetry import trace
with capture_telemetry(service_name="old") as cap:
    with trace.get_tracer("t").start_as_current_span("still-traced"):
        pass
    print([s.name for s in cap.spans()], cap.telemetry.logger_provider)
"""


def test_import_survives_an_sdk_without_readwritelogrecord() -> None:
    """``import astra_otel`` and setup() work on an SDK whose ``opentelemetry.sdk._logs``
    lacks ``ReadWriteLogRecord``; stderr carries exactly one fallback warning."""
    proc = subprocess.run(
        [sys.executable, "-c", SDK_WITHOUT_READWRITE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['still-traced'] None"
    warnings = [line for line in proc.stderr.splitlines() if "falling back to" in line]
    assert len(warnings) == 1 and "logs-sdk" in warnings[0], proc.stderr


def test_the_docs_list_every_hook_with_its_fallback() -> None:
    """docs/setup.md has one row per hook, naming its private names and its fallback."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "setup.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for hook in sdk_private.HOOKS.values():
        assert f"| `{hook.name}` | {hook.uses} | {hook.fallback} |" in rows, hook.name
