"""The Resource: service identity, unique instance id, host and process attributes."""

from __future__ import annotations

import os

from astra_otel._config.settings import load_settings
from astra_otel._internal.resource import build_resource, new_instance_id, renew_instance_id


def test_resource_carries_service_host_and_process_attributes() -> None:
    """service.*, deployment.environment.name, host.name and process.pid are set."""
    s = load_settings(
        {
            "service_name": "api",
            "service_version": "1.0",
            "service_namespace": "astraguard",
            "environment": "test",
        },
        {"OTEL_RESOURCE_ATTRIBUTES": "team=core,service.name=ignored"},
    )
    attrs = build_resource(s, "iid-1").attributes
    assert attrs["service.name"] == "api"
    assert attrs["service.version"] == "1.0"
    assert attrs["service.namespace"] == "astraguard"
    assert attrs["deployment.environment.name"] == "test"
    assert attrs["service.instance.id"] == "iid-1"
    assert attrs["team"] == "core"
    assert attrs["process.pid"] == os.getpid()
    assert attrs["host.name"]


def test_instance_ids_are_unique() -> None:
    """Each call gives a different service.instance.id."""
    assert len({new_instance_id() for _ in range(100)}) == 100


def test_renew_changes_the_id_in_place() -> None:
    """renew_instance_id updates the same Resource object (what a forked child needs)."""
    resource = build_resource(load_settings({}, {}), "old")
    new_id = renew_instance_id(resource)
    assert new_id != "old"
    assert resource.attributes["service.instance.id"] == new_id
