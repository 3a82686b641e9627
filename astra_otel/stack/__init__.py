"""The local stack: the collector, Jaeger v2, Prometheus and Redis as supervised processes.

``Stack(load_stack_settings(environ_snapshot())).up()`` builds what is missing, starts
every component and waits until each is healthy; ``down()`` stops them. The components
are described as data in :mod:`astra_otel.stack.components`.
"""

from __future__ import annotations

from astra_otel.stack.components import (
    COMPONENT_NAMES,
    CORE_COMPONENTS,
    SPECS,
    Component,
    ComponentSpec,
    resolve_components,
)
from astra_otel.stack.errors import StackError
from astra_otel.stack.settings import StackSettings, load_stack_settings
from astra_otel.stack.supervisor import ComponentStatus, Stack, UpResult

__all__ = [
    "COMPONENT_NAMES",
    "CORE_COMPONENTS",
    "SPECS",
    "Component",
    "ComponentSpec",
    "ComponentStatus",
    "Stack",
    "StackError",
    "StackSettings",
    "UpResult",
    "load_stack_settings",
    "resolve_components",
]
