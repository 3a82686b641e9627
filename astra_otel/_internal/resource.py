"""The Resource: who is sending (service, instance, environment, host, process)."""

from __future__ import annotations

import os
import platform
import socket
import sys
import uuid

from opentelemetry.sdk.resources import Resource
from opentelemetry.util.types import AttributeValue

from astra_otel._config.settings import Settings
from astra_otel._internal import sdk_private
from astra_otel._internal.redaction import DEFAULT, Redactor

__all__ = ["CachedHashResource", "build_resource", "new_instance_id", "renew_instance_id"]

INSTANCE_ID = "service.instance.id"


def new_instance_id() -> str:
    """A fresh ``service.instance.id`` (random UUID, one per process)."""
    return str(uuid.uuid4())


def _process_attributes() -> dict[str, AttributeValue]:
    return {
        "host.name": socket.gethostname(),
        "host.arch": platform.machine(),
        "os.type": sys.platform,
        "process.pid": os.getpid(),
        "process.runtime.name": sys.implementation.name,
        "process.runtime.version": platform.python_version(),
        "process.executable.path": sys.executable,
    }


class CachedHashResource(Resource):
    """A Resource whose hash is computed once.

    The OTLP encoders group every span/log record by ``hash(resource)``, which for the
    SDK's Resource is a JSON dump of all attributes each time (~15 µs per item).
    """

    _astra_hash: int | None = None

    def __hash__(self) -> int:
        cached = self._astra_hash
        if cached is None:
            cached = self._astra_hash = super().__hash__()
        return cached


def build_resource(settings: Settings, instance_id: str, redactor: Redactor = DEFAULT) -> Resource:
    """Resource attributes: explicit settings win over ``OTEL_RESOURCE_ATTRIBUTES``; redacted
    once here, so every signal and exporter gets the redacted resource."""
    attrs: dict[str, AttributeValue] = dict(_process_attributes())
    attrs.update(dict(settings.resource_attributes))
    attrs["service.name"] = settings.service_name
    if settings.service_version:
        attrs["service.version"] = settings.service_version
    if settings.service_namespace:
        attrs["service.namespace"] = settings.service_namespace
    attrs["deployment.environment.name"] = settings.environment
    attrs[INSTANCE_ID] = instance_id
    attrs["telemetry.sdk.language"] = "python"
    attrs["telemetry.sdk.name"] = "opentelemetry"
    attrs["telemetry.distro.name"] = "astra-otel"
    return CachedHashResource(redactor.attributes(attrs) or attrs)


def _sdk_child_instance_id() -> str:
    # The SDK (>= 1.4x) also re-detects service.instance.id in a forked child and merges
    # it into each provider's resource; it caches one id per pid. Using the same id keeps
    # spans, metrics, logs and Telemetry.instance_id in agreement whatever the hook order.
    return sdk_private.detected_instance_id() or new_instance_id()


def renew_instance_id(resource: Resource) -> str:
    """In a forked child: give the shared Resource a new instance id and pid, in place.

    Providers, tracers, meters and loggers all hold this same object, so updating it in
    place reaches everything created before the fork.
    """
    instance_id = _sdk_child_instance_id()
    attrs = dict(resource.attributes)
    attrs[INSTANCE_ID] = instance_id
    attrs["process.pid"] = os.getpid()
    if not sdk_private.set_resource_attributes(resource, attrs):
        return str(resource.attributes.get(INSTANCE_ID, instance_id))
    if isinstance(resource, CachedHashResource):
        resource._astra_hash = None
    return instance_id
