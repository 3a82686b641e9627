"""The demo's command line: the contract the stack starts it with."""

from __future__ import annotations

import pytest

from astra_otel.cli import main as astra_otel_main
from astra_otel.demo.cli import parse_config
from astra_otel.demo.server import make_chaos


def test_stack_command_line_parses() -> None:
    """The exact arguments the stack's demo component passes are accepted."""
    config = parse_config(
        [
            "--port",
            "9100",
            "--downstream-port",
            "9101",
            "--redis-url",
            "redis://127.0.0.1:6390/0",
            "--database-url",
            "sqlite:////tmp/x/demo.db",
            "--traffic-rps",
            "5",
        ]
    )
    assert (config.port, config.downstream_port) == (9100, 9101)
    assert config.redis_url == "redis://127.0.0.1:6390/0"
    assert config.database_url == "sqlite:////tmp/x/demo.db"
    assert config.traffic_rps == 5.0
    assert config.traffic_duration > 0 and config.traffic_max_requests > 0
    assert config.service_name == "astraguard-api"
    assert config.host == "127.0.0.1", "loopback unless asked otherwise"


def test_no_chaos_turns_every_fault_off() -> None:
    """Chaos is on by default; --no-chaos makes a monkey that never injects, storm or not."""
    assert parse_config([]).chaos is True
    calm = make_chaos(parse_config(["--no-chaos"]))
    default = make_chaos(parse_config([]))
    assert (calm.base_rate, calm.storm_rate) == (0.0, 0.0)
    assert default.base_rate > 0 and default.storm_rate > 0
    assert not any(calm.should_inject(weight=10.0) for _ in range(5_000))


def test_host_can_be_set_for_containers() -> None:
    """--host sets the bind address (compose passes 0.0.0.0)."""
    assert parse_config(["--host", "0.0.0.0"]).host == "0.0.0.0"


@pytest.mark.parametrize("argv", [["--port", "0"], ["--port", "70000"], ["--traffic-rps", "-1"]])
def test_bad_values_exit_with_usage_error(argv: list[str]) -> None:
    """Out-of-range ports and negative rates are rejected by the parser (exit status 2)."""
    with pytest.raises(SystemExit) as info:
        parse_config(argv)
    assert info.value.code == 2


def test_astra_otel_demo_subcommand_uses_the_demo_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`astra-otel demo ...` hands its arguments to the demo's parser (usage names the command)."""
    with pytest.raises(SystemExit) as info:
        astra_otel_main(["demo", "--port", "0"])
    assert info.value.code == 2
    assert "usage: astra-otel demo" in capsys.readouterr().err
