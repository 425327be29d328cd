"""dbt models as Dagster assets, each with its own OpenTelemetry span and OpenLineage run.

``build_dbt_assets`` is the entry point; it depends on the OpenTelemetry API only (spans are
no-ops until an application installs an SDK) and emits lineage through a caller's
``OpenLineageClient`` without ever blocking or failing the dbt run.
"""

import importlib
from typing import TYPE_CHECKING, Any

from floe_dbt_observe.asset_settings import AssetSettingsSource, DbtAssetSettings
from floe_dbt_observe.dbt_executable import find_dbt_executable
from floe_dbt_observe.delivery_health import SLOW_SEND_SECONDS, DeliveryHealth, delivery_health
from floe_dbt_observe.errors import (
    DbtExecutableNotFoundError,
    DbtObserveError,
    DbtParseError,
    DbtProjectNotFoundError,
    EmptySelectionError,
    InvalidAssetSettingsError,
    InvalidManifestError,
    ManifestNotFoundError,
)
from floe_dbt_observe.lineage_emitter import EmissionReport, LineageEmitter
from floe_dbt_observe.link_metadata import (
    OPENLINEAGE_JOB_KEY,
    OPENLINEAGE_RUN_ID_KEY,
    SPAN_ID_KEY,
    TRACE_ID_KEY,
    NodeLink,
)
from floe_dbt_observe.partition_vars import partition_vars
from floe_dbt_observe.span_delivery import (
    SpanDelivery,
    SpanFlushReport,
    flush_spans,
    shutdown_spans,
    span_delivery,
)
from floe_dbt_observe.tracing import dagster_run_span_context

if TYPE_CHECKING:
    from floe_dbt_observe.assets import build_dbt_assets
    from floe_dbt_observe.span_export import track_span_delivery
    from floe_dbt_observe.translator import FloeDbtTranslator

# dagster-dbt and dbt load on first use: a code location (or a run worker) with no dbt project, which imports
# floe for its executor and lineage emitter only, should not pay ~2 s for them.
_LAZY_MODULES: dict[str, str] = {
    "build_dbt_assets": "floe_dbt_observe.assets",
    "FloeDbtTranslator": "floe_dbt_observe.translator",
    "track_span_delivery": "floe_dbt_observe.span_export",  # imports the OpenTelemetry SDK
}


def __getattr__(name: str) -> Any:
    module = _LAZY_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'floe_dbt_observe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "OPENLINEAGE_JOB_KEY",
    "OPENLINEAGE_RUN_ID_KEY",
    "SLOW_SEND_SECONDS",
    "SPAN_ID_KEY",
    "TRACE_ID_KEY",
    "AssetSettingsSource",
    "DbtAssetSettings",
    "DbtExecutableNotFoundError",
    "DbtObserveError",
    "DbtParseError",
    "DbtProjectNotFoundError",
    "DeliveryHealth",
    "EmissionReport",
    "EmptySelectionError",
    "FloeDbtTranslator",
    "InvalidAssetSettingsError",
    "InvalidManifestError",
    "LineageEmitter",
    "ManifestNotFoundError",
    "NodeLink",
    "SpanDelivery",
    "SpanFlushReport",
    "build_dbt_assets",
    "dagster_run_span_context",
    "delivery_health",
    "find_dbt_executable",
    "flush_spans",
    "partition_vars",
    "shutdown_spans",
    "span_delivery",
    "track_span_delivery",
]
