"""compose.yaml: pinned images, health checks, one network, loopback-only UI ports, and the
same config files and ports as the local stack (astra_otel/stack/components.py).

Docker is not available where the tests run, so these check the file's structure.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from astra_otel.stack.components import (
    COLLECTOR,
    COLLECTOR_FLAGS,
    DEMO,
    JAEGER,
    PROMETHEUS,
    REDIS,
    ComponentSpec,
)

REPO = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]

# compose service -> the local stack's component it runs.
COMPONENT_OF: dict[str, ComponentSpec] = {
    "otel-collector": COLLECTOR,
    "jaeger": JAEGER,
    "prometheus": PROMETHEUS,
    "redis": REDIS,
    "demo": DEMO,
}
GRAFANA_PORT = 3000
ONE_SHOT = {"init"}
LONG_RUNNING = sorted(set(SERVICES) - ONE_SHOT)


def _image_tag(service: str) -> str:
    image: str = SERVICES[service]["image"]
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, image
    return tag


def _published(service: str) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) of each published port."""
    result = []
    for entry in SERVICES[service].get("ports", []):
        host_ip, host_port, container_port = str(entry).split(":")
        result.append((host_ip, int(host_port), int(container_port)))
    return result


def test_every_image_is_pinned() -> None:
    """Every image names an exact version: no `latest`, no bare major version."""
    for service in SERVICES:
        tag = _image_tag(service)
        assert tag != "latest", service
        assert re.fullmatch(r"v?\d+\.\d+\.\d+(-[a-z0-9]+)?", tag), f"{service}: {tag}"


def test_collector_image_is_the_release_of_our_build() -> None:
    """The contrib collector image is the release collector/builder-config.yaml builds."""
    manifest = yaml.safe_load((REPO / "collector" / "builder-config.yaml").read_text())
    assert SERVICES["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert _image_tag("otel-collector") == manifest["dist"]["version"]


def test_collector_gets_the_flags_the_stack_passes() -> None:
    """The compose collector runs with the same feature gates as `stack up`'s."""
    command = SERVICES["otel-collector"]["command"]
    assert all(flag in command for flag in COLLECTOR_FLAGS), command


def test_jaeger_image_matches_the_go_module_we_build() -> None:
    """The Jaeger v2 image is the release of the v1 Go module that collector/jaeger/ pins."""
    go_mod = (REPO / "collector" / "jaeger" / "go.mod").read_text()
    match = re.search(r"github\.com/jaegertracing/jaeger v1\.(\d+)\.(\d+)", go_mod)
    assert match is not None
    # Jaeger releases v1.N and v2.(N-63) together (v1.63.0 was v2.0.0).
    expected = f"2.{int(match.group(1)) - 63}.{match.group(2)}"
    assert SERVICES["jaeger"]["image"] == f"jaegertracing/jaeger:{expected}"


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_long_running_services_have_health_checks(service: str) -> None:
    """Every long-running service has a health check command."""
    check = SERVICES[service]["healthcheck"]
    assert check["test"][0] == "CMD"
    assert len(check["test"]) > 1


def test_dependencies_wait_for_health() -> None:
    """A service waits for the health of what it depends on, not just for its start."""
    for service, spec in SERVICES.items():
        for dependency, condition in spec.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert condition["condition"] == expected, f"{service} -> {dependency}"


def test_one_network_for_all_services() -> None:
    """The compose file defines one network and every service is on it alone."""
    assert list(COMPOSE["networks"]) == ["astra"]
    for service, spec in SERVICES.items():
        assert spec["networks"] == ["astra"], service


def test_ports_are_published_on_loopback_only() -> None:
    """Every published port is bound to the host's 127.0.0.1, at the same number."""
    for service in SERVICES:
        for host_ip, host_port, container_port in _published(service):
            assert host_ip == "127.0.0.1", service
            assert host_port == container_port, service


def test_only_ui_ports_are_published() -> None:
    """The published ports are exactly the components' UI ports plus Grafana's."""
    expected = {
        (name, spec.ports[port]) for name, spec in COMPONENT_OF.items() for port in spec.ui_ports
    }
    expected.add(("grafana", GRAFANA_PORT))
    published = {(service, port) for service in SERVICES for _, _, port in _published(service)}
    assert published == expected


@pytest.mark.parametrize("service", ["otel-collector", "jaeger", "prometheus"])
def test_mounts_the_local_stacks_config_file(service: str) -> None:
    """Collector, Jaeger and Prometheus mount the same config file the local stack runs."""
    config = COMPONENT_OF[service].config
    assert config is not None
    sources = [v.split(":")[0] for v in SERVICES[service]["volumes"]]
    assert f"./{config}" in sources


def test_mounted_repo_paths_exist() -> None:
    """Every bind mount from the repository points at a file or directory that exists."""
    for service, spec in SERVICES.items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{service}: {source}"
            else:
                assert source in COMPOSE["volumes"], f"{service}: {source}"


def _port_of(value: str) -> int:
    return int(value.rsplit(":", 1)[-1])


@pytest.mark.parametrize("service", ["otel-collector", "jaeger"])
def test_config_variables_are_known_and_carry_the_components_ports(service: str) -> None:
    """The ${env:...} variables set for a config exist in it and carry the stack's ports."""
    spec = COMPONENT_OF[service]
    assert spec.config is not None
    config_text = (REPO / spec.config).read_text()
    environment: dict[str, str] = SERVICES[service]["environment"]
    for variable, value in environment.items():
        assert variable in spec.config_env, variable
        assert f"${{env:{variable}" in config_text, variable
        meaning = spec.config_env[variable]
        words = meaning.split()
        if words[0] == "jaeger":
            assert value == f"jaeger:{JAEGER.ports[words[1]]}", variable
        elif meaning.endswith("(port only)"):
            assert int(value) == spec.ports[words[0]], variable
        elif meaning in spec.ports:
            assert _port_of(value) == spec.ports[meaning], variable


def test_prometheus_template_is_fully_rendered() -> None:
    """The Prometheus command fills every placeholder of the shared config template."""
    assert PROMETHEUS.config is not None
    template = (REPO / PROMETHEUS.config).read_text()
    placeholders = {
        m.group("named") or m.group("braced")
        for m in string.Template.pattern.finditer(template)
        if m.group("named") or m.group("braced")
    }
    assert placeholders
    script = SERVICES["prometheus"]["command"][0]
    for name in placeholders:
        assert f"[$$]{name}|" in script, name


def test_prometheus_scrapes_the_components_ports() -> None:
    """The rendered scrape targets use the collector's and Jaeger's metrics ports."""
    script = SERVICES["prometheus"]["command"][0]
    assert f"otel-collector:{COLLECTOR.ports['prometheus_exporter']}" in script
    assert f"otel-collector:{COLLECTOR.ports['self_metrics']}" in script
    assert f"jaeger:{JAEGER.ports['self_metrics']}" in script
    assert f"--web.listen-address=0.0.0.0:{PROMETHEUS.ports['http']}" in script
    assert "--enable-feature=exemplar-storage" in script
    assert "/etc/prometheus/rules/*.rules.yml" in script
    mounts = SERVICES["prometheus"]["volumes"]
    assert "./dashboards/prometheus:/etc/prometheus/rules:ro" in mounts


def test_demo_sends_to_the_collector_and_listens_on_its_port() -> None:
    """The demo exports OTLP to the collector's gRPC port and serves on the demo API port."""
    demo = SERVICES["demo"]
    grpc = COLLECTOR.ports["otlp_grpc"]
    assert demo["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{grpc}"
    # setup()'s default transport is http/protobuf; the gRPC port needs the gRPC protocol.
    assert demo["environment"]["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    command = demo["command"]
    assert command[command.index("--port") + 1] == str(DEMO.ports["api"])
    assert command[command.index("--downstream-port") + 1] == str(DEMO.ports["downstream"])
    assert f"redis://redis:{REDIS.ports['redis']}/0" in command


def test_grafana_has_no_default_admin_password() -> None:
    """Grafana's admin password comes from an environment variable that has no default."""
    env = SERVICES["grafana"]["environment"]
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", env["GF_SECURITY_ADMIN_PASSWORD"])
    assert env.get("GF_AUTH_ANONYMOUS_ORG_ROLE", "Viewer") == "Viewer"


def test_grafana_provisioning_is_mounted() -> None:
    """Grafana mounts the datasource and dashboard provisioning and the dashboards."""
    mounts = {v.split(":")[0]: v.split(":")[1] for v in SERVICES["grafana"]["volumes"]}
    provisioning = "dashboards/grafana/provisioning"
    provider = yaml.safe_load((REPO / provisioning / "dashboards" / "astra-otel.yaml").read_text())
    for kind in ("datasources", "dashboards"):
        assert mounts[f"./{provisioning}/{kind}"] == f"/etc/grafana/provisioning/{kind}"
    assert mounts["./dashboards/grafana/dashboards"] == provider["providers"][0]["options"]["path"]


def test_dockerfile_builds_the_demo_image_unprivileged() -> None:
    """The demo image installs the package with its demo extra and runs as a non-root user."""
    dockerfile = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert base is not None
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base.group(1))
    assert "'.[demo]'" in dockerfile
    assert re.search(r"^USER (?!0\b|root\b)\S+", dockerfile, re.MULTILINE)
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (REPO / path).exists(), path
    assert SERVICES["demo"]["build"] == {"context": ".", "dockerfile": "Dockerfile"}


def test_demo_command_is_accepted_by_the_demo_cli() -> None:
    """Every flag compose passes to the demo is one `python -m astra_otel.demo` accepts."""
    from astra_otel.demo.cli import build_parser  # noqa: PLC0415 - only this test needs it

    command = SERVICES["demo"]["command"]
    assert command[:3] == ["python", "-m", "astra_otel.demo"]
    build_parser().parse_args(command[3:])
