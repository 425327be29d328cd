"""floe-definitions: one floe.yaml becomes an observed Dagster code location.

``FloeDefinitions.from_floe_yaml()`` combines floe-config, floe-loaders and floe-dbt-observe with the platform's
telemetry (an OpenTelemetry SDK tracer provider, an OpenLineage client) and executor. ``FloeComponent`` does the
same as a component of a ``dg`` project (this module is registered for ``dg`` as a registry module).

``__all__`` is what a user calls: the facade (``FloeDefinitions.from_floe_yaml`` /
``FloeDefinitions.from_compiled_artifacts``), ``load_project`` and the project it returns, the dg component and the
error root. Everything else is importable from its module
(``floe_definitions.telemetry.run_trace``, ``floe_definitions.telemetry.tracing``, ``floe_definitions.errors``, ...).
"""

from floe_definitions.component import FloeComponent
from floe_definitions.errors import FloeDefinitionsError
from floe_definitions.facade import FloeDefinitions
from floe_definitions.project import FloeProject, load_project

__all__ = [
    "FloeComponent",
    "FloeDefinitions",
    "FloeDefinitionsError",
    "FloeProject",
    "load_project",
]
