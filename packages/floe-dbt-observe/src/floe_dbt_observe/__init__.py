"""dbt models as Dagster assets, each with its own OpenTelemetry span and OpenLineage run.

``build_dbt_assets`` is the entry point; it depends on the OpenTelemetry API only (spans are
no-ops until an application installs an SDK) and emits lineage through a caller's
``OpenLineageClient`` without ever blocking or failing the dbt run.

``__all__`` is what a user calls: ``build_dbt_assets``, its options, its per-asset settings, its translator and the
error root. Everything else is importable from its module (``floe_dbt_observe.delivery_health.DeliveryHealth``,
``floe_dbt_observe.lineage_emitter.LineageEmitter``, ``floe_dbt_observe.tracing.dagster_run_span_context``, ...);
floe-definitions imports what it needs beyond ``__all__`` through one module, ``floe_dbt_observe.integration``, its
contract. Modules whose name starts with ``_`` are private.
"""

from typing import TYPE_CHECKING

from floe_dbt_observe.errors import DbtObserveError
from floe_dbt_observe.lazy_exports import lazy_exports
from floe_dbt_observe.options import DbtCliOptions, DefinitionOptions, ObservabilityOptions

if TYPE_CHECKING:
    from floe_dbt_observe.asset_settings import DbtAssetSettings
    from floe_dbt_observe.assets import build_dbt_assets
    from floe_dbt_observe.translator import FloeDbtTranslator

# Dagster, dagster-dbt and dbt load on first use: a code location (or a run worker) with no dbt project, which
# imports floe for its executor and lineage emitter only, should not pay ~2 s for them, and the ``floe-dbt``
# launcher imports this package before every dbt subprocess.
__getattr__ = lazy_exports(
    __name__,
    {
        "DbtAssetSettings": "floe_dbt_observe.asset_settings",
        "build_dbt_assets": "floe_dbt_observe.assets",
        "FloeDbtTranslator": "floe_dbt_observe.translator",
    },
)


__all__ = [
    "DbtAssetSettings",
    "DbtCliOptions",
    "DbtObserveError",
    "DefinitionOptions",
    "FloeDbtTranslator",
    "ObservabilityOptions",
    "build_dbt_assets",
]
