"""The contract between floe-dbt-observe and floe's sibling packages (floe-definitions).

What floe-definitions uses beyond ``floe_dbt_observe.__all__`` to wire dbt assets into a code location and observe
the steps around them: the hooks it passes ``build_dbt_assets``, the trace-id rule and span contexts, the lineage
emitter and its parent run, the dbt node runs' derived ids and the events ending those a lost step left open, the
standard OpenLineage facets, the metadata keys that link a materialization to its
span and lineage run, the manifest (and its adapter type) and dbt resource helpers (the executable and its engine:
dbt-core or dbt Fusion). It is for floe's own packages,
not for users (who read ``floe_dbt_observe.__all__``); a workspace test (``tests/policy``) keeps every sibling
import on ``__all__`` or this module. The names are re-exported from the modules that define them;
``build_dbt_resource`` loads dagster-dbt, so it is imported on first use, as ``floe_dbt_observe`` itself does with
``build_dbt_assets``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_dbt_observe.dbt_engine import detect_dbt_engine
from floe_dbt_observe.dbt_executable import find_dbt_executable
from floe_dbt_observe.dbt_trace import dbt_core_version, dbt_has_spans
from floe_dbt_observe.delivery_health import SLOW_SEND_SECONDS, DeliveryHealth
from floe_dbt_observe.errors import DbtParseError
from floe_dbt_observe.lazy_exports import lazy_exports
from floe_dbt_observe.lineage_context import ParentRun
from floe_dbt_observe.lineage_emitter import LineageEmitter
from floe_dbt_observe.lineage_run_ids import StepAttempt, run_created
from floe_dbt_observe.link_metadata import OPENLINEAGE_JOB_KEY, OPENLINEAGE_RUN_ID_KEY, SPAN_ID_KEY, TRACE_ID_KEY
from floe_dbt_observe.lost_step_lineage import DbtStepLineage, LostStep, NodeRecord, lost_step_events
from floe_dbt_observe.manifest import load_or_parse_manifest, manifest_adapter_type, parse_command
from floe_dbt_observe.options import ApplicationHooks
from floe_dbt_observe.standard_facets import (
    dagster_tags,
    dbt_node_owners,
    job_tags_facet,
    nominal_time_facet,
    ownership_facet,
    run_tags_facet,
)
from floe_dbt_observe.tracing import (
    dagster_run_span_context,
    dagster_step_span_context,
    format_span_id,
    format_trace_id,
    ns_to_iso,
    run_span_id,
    run_trace_id,
    seconds_to_ns,
)
from floe_dbt_observe.warehouse_namespace import dataset_namespace

if TYPE_CHECKING:
    from floe_dbt_observe.dbt_resource import build_dbt_resource

__getattr__ = lazy_exports(
    __name__,
    {
        "build_dbt_resource": "floe_dbt_observe.dbt_resource",
    },
)


__all__ = [
    "OPENLINEAGE_JOB_KEY",
    "OPENLINEAGE_RUN_ID_KEY",
    "SLOW_SEND_SECONDS",
    "SPAN_ID_KEY",
    "TRACE_ID_KEY",
    "ApplicationHooks",
    "DbtParseError",
    "DbtStepLineage",
    "DeliveryHealth",
    "LineageEmitter",
    "LostStep",
    "NodeRecord",
    "ParentRun",
    "StepAttempt",
    "build_dbt_resource",
    "dagster_run_span_context",
    "dagster_step_span_context",
    "dagster_tags",
    "dataset_namespace",
    "dbt_core_version",
    "dbt_has_spans",
    "dbt_node_owners",
    "detect_dbt_engine",
    "find_dbt_executable",
    "format_span_id",
    "format_trace_id",
    "job_tags_facet",
    "load_or_parse_manifest",
    "lost_step_events",
    "manifest_adapter_type",
    "nominal_time_facet",
    "ns_to_iso",
    "ownership_facet",
    "parse_command",
    "run_created",
    "run_span_id",
    "run_tags_facet",
    "run_trace_id",
    "seconds_to_ns",
]
