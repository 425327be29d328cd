"""Turn floe.yaml orchestration config into Dagster objects.

Module discovery, partitions, asset patterns (through Dagster's spec-mapping APIs), jobs, schedules, sensors
and backfills. Depends on floe-config and dagster only; dbt assets arrive as ordinary ``AssetsDefinition``s.

``__all__`` is what a user calls: ``build_orchestration``, ``load_asset_modules``, ``launch_backfill``, the result
type and the error root. Everything else is importable from its module (``floe_loaders.jobs.parse_selection``,
``floe_loaders.errors.SelectionError``, ...); floe-definitions imports what it needs beyond ``__all__`` through
one module, ``floe_loaders.integration``, its contract. Modules whose name starts with ``_`` are private.
"""

from floe_loaders.backfills import launch_backfill
from floe_loaders.discovery import load_asset_modules
from floe_loaders.errors import FloeLoaderError
from floe_loaders.orchestration import OrchestrationObjects, build_orchestration

__all__ = [
    "FloeLoaderError",
    "OrchestrationObjects",
    "build_orchestration",
    "launch_backfill",
    "load_asset_modules",
]
