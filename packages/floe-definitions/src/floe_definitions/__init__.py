"""floe-definitions: one floe.yaml becomes an observed Dagster code location.

``FloeDefinitions.from_floe_yaml()`` combines floe-config, floe-loaders and floe-dbt-observe with the platform's
telemetry (an OpenTelemetry SDK tracer provider, an OpenLineage client) and executor. ``FloeComponent`` does the
same as a component of a ``dg`` project (this module is registered for ``dg`` as a registry module).

``__all__`` is what a user calls: the facade (``FloeDefinitions.from_floe_yaml`` /
``FloeDefinitions.from_compiled_artifacts``), ``load_project`` and the project it returns, the dg component and the
error root. Everything else is importable from its module
(``floe_definitions.telemetry.run_trace``, ``floe_definitions.telemetry.tracing``, ``floe_definitions.errors``, ...).
"""

import importlib
from typing import TYPE_CHECKING, Any

from floe_definitions.errors import FloeDefinitionsError

if TYPE_CHECKING:
    from floe_definitions.component import FloeComponent
    from floe_definitions.facade import FloeDefinitions
    from floe_definitions.project import FloeProject, load_project

# Dagster and the rest load on first use: importing any floe_definitions module runs this file first, and the
# `floe` command finds a running `floe dev` (and launches a run through it) without importing Dagster.
_LAZY_MODULES: dict[str, str] = {
    "FloeComponent": "floe_definitions.component",
    "FloeDefinitions": "floe_definitions.facade",
    "FloeProject": "floe_definitions.project",
    "load_project": "floe_definitions.project",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'floe_definitions' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # dg finds FloeComponent through dir() of this registry module (its `dagster_dg_cli.registry_modules` entry)
    return sorted(set(globals()) | set(_LAZY_MODULES))


__all__ = [
    "FloeComponent",
    "FloeDefinitions",
    "FloeDefinitionsError",
    "FloeProject",
    "load_project",
]
