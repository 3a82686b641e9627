"""The logging bridge: trace ids as fields, severity, no loops, console JSON."""

from __future__ import annotations

import io
import json
import logging
import threading

from opentelemetry import trace

from astra_otel import LogsOptions
from astra_otel._internal.logs import JsonConsoleFormatter, severity
from astra_otel.testing import capture_telemetry


def test_records_carry_trace_and_span_ids_as_fields() -> None:
    """A record logged inside a span has that span's trace_id/span_id on the record."""
    with capture_telemetry(service_name="l") as cap:
        with trace.get_tracer("t").start_as_current_span("work") as span:
            logging.getLogger("app.orders").info("order %s placed", 42)
        ctx = span.get_span_context()
        (record,) = cap.logs()
        assert record.log_record.trace_id == ctx.trace_id
        assert record.log_record.span_id == ctx.span_id
        assert record.log_record.body == "order 42 placed"
        assert record.instrumentation_scope is not None
        assert record.instrumentation_scope.name == "app.orders"


def test_severity_text_and_number_follow_opentelemetry() -> None:
    """WARNING maps to WARN/13, CRITICAL to FATAL/21, INFO to INFO/9."""
    with capture_telemetry(service_name="l") as cap:
        log = logging.getLogger("app")
        log.info("i")
        log.warning("w")
        log.critical("c")
        got = [(r.log_record.severity_text, r.log_record.severity_number) for r in cap.logs()]
        assert [(t, n.value) for t, n in got if n is not None] == [
            ("INFO", 9),
            ("WARN", 13),
            ("FATAL", 21),
        ]
    assert severity(logging.DEBUG).value == 5
    assert severity(logging.ERROR).value == 17


def test_extra_fields_and_exceptions_become_attributes() -> None:
    """extra= keys and exception type/message/stacktrace are attributes."""
    with capture_telemetry(service_name="l") as cap:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("app").exception("failed", extra={"order_id": 7})
        (record,) = cap.logs()
        attrs = record.log_record.attributes or {}
        assert attrs["order_id"] == 7
        assert attrs["exception.type"] == "ValueError"
        assert attrs["exception.message"] == "boom"
        assert "Traceback" in str(attrs["exception.stacktrace"])
        assert attrs["code.function.name"] == "test_extra_fields_and_exceptions_become_attributes"


def test_sdk_and_transport_loggers_never_loop_back() -> None:
    """opentelemetry.*, urllib3, grpc records and the export thread's records are not bridged."""
    with capture_telemetry(service_name="l") as cap:
        for name in ("opentelemetry.sdk.trace", "urllib3.connectionpool", "grpc._channel"):
            logging.getLogger(name).error("internal")
        batcher = cap.telemetry._extras["log_processor"].batcher
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "from export", (), None)
        record.thread = batcher.thread_ident
        logging.getLogger("app").handle(record)
        logging.getLogger("app").error("kept")
        assert [r.log_record.body for r in cap.logs()] == ["kept"]


def test_level_setting_filters_and_lowers_root() -> None:
    """logs.level is the bridge's level; the root logger is lowered to it."""
    logging.getLogger().setLevel(logging.WARNING)
    with capture_telemetry(service_name="l", logs=LogsOptions(level="DEBUG")) as cap:
        assert logging.getLogger().level == logging.DEBUG
        logging.getLogger("app").debug("d")
        assert [r.log_record.body for r in cap.logs()] == ["d"]


def test_logs_from_many_threads_all_arrive() -> None:
    """Concurrent logging from 4 threads: every record arrives exactly once."""
    with capture_telemetry(service_name="l") as cap:

        def work(n: int) -> None:
            for i in range(200):
                logging.getLogger("app").info("t%d-%d", n, i)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        bodies = [r.log_record.body for r in cap.logs()]
        assert len(bodies) == 800
        assert len(set(bodies)) == 800


def test_json_console_is_one_object_per_line_with_ids() -> None:
    """The JSON console format writes one object per line including trace_id/span_id."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonConsoleFormatter())
    log = logging.getLogger("jsontest")
    log.addHandler(handler)
    log.propagate = False
    try:
        with capture_telemetry(service_name="l"):
            with trace.get_tracer("t").start_as_current_span("s") as span:
                log.warning("line\nwith newline")
            log.warning("outside")
        lines = stream.getvalue().splitlines()
        assert len(lines) == 2
        first, second = (json.loads(line) for line in lines)
        assert first["message"] == "line\nwith newline"
        assert first["trace_id"] == format(span.get_span_context().trace_id, "032x")
        assert first["span_id"] == format(span.get_span_context().span_id, "016x")
        assert first["level"] == "WARNING"
        assert second["trace_id"] is None
    finally:
        log.removeHandler(handler)
        log.propagate = True


def test_console_option_installs_a_stderr_handler_once() -> None:
    """logs.console=json adds exactly one console handler next to the bridge."""
    with capture_telemetry(service_name="l", logs=LogsOptions(console="json")) as cap:
        handlers = [
            h
            for h in logging.getLogger().handlers
            if isinstance(getattr(h, "formatter", None), JsonConsoleFormatter)
        ]
        assert len(handlers) == 1
        assert handlers[0] in cap.telemetry.log_handlers
