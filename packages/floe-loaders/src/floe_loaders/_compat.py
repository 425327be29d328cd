"""Every private Dagster API floe-loaders uses, each behind a probe.

Nothing else in the package imports ``dagster._…``. When a probe fails (an upgrade moved the internal, or
``FLOE_COMPAT_DISABLE`` names the capability), floe takes the fallback below and logs one WARNING per process
naming the capability and that path. No probe changes the asset graph, job names, op names or step keys.

Capabilities:

- ``unresolved_definitions``: recognise module-level ``define_asset_job(...)`` and
  ``build_schedule_from_partitioned_job(...)`` objects in asset modules (``discovery.py``). Dagster exports
  neither ``UnresolvedAssetJobDefinition`` nor ``UnresolvedPartitionedAssetScheduleDefinition``. Fallback: the
  classes are recognised by their name and module (duck-typed), which is what ``Definitions`` accepts anyway.
- ``backfill_daemon_plan``: ``floe backfill --dry-run`` runs the asset backfill daemon's own planning
  (``execute_asset_backfill_iteration_inner``, side-effect free) on a throwaway instance and an in-process
  workspace of the definitions, iteration after iteration as if every requested run succeeded, so the plan shown is
  the daemon's: its runs, their assets and partition ranges. Fallback: floe's split of the range by the job's
  backfill policies, which ignores unpartitioned assets and the order of dependencies.
- ``asset_backfill``: launch an asset backfill with ``PartitionBackfill.from_asset_partitions`` and
  ``make_new_backfill_id`` (``backfills.py``); Dagster has no public API that creates one. Fallback: none;
  ``launch_backfill`` raises a ``BackfillError`` that says to use ``dagster job backfill``.

``BaseAssetGraph`` and the two unresolved classes are also re-exported for type annotations only (never imported
at run time through this path).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg

from floe_config.integration import DISABLE_ENV as DISABLE_ENV  # tests switch probes off by it
from floe_config.integration import Capability, Probes

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph as BaseAssetGraph
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition as UnresolvedPartitionedAssetScheduleDefinition,
    )
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition as UnresolvedAssetJobDefinition,
    )


logger = logging.getLogger("floe_loaders")
_PROBES = Probes("floe-loaders", "Dagster", logger)
disabled = _PROBES.disabled
warn_unavailable = _PROBES.warn_unavailable


UNRESOLVED_DEFINITIONS = Capability(
    "unresolved_definitions",
    "asset jobs and partitioned schedules in asset modules recognised by class name",
)
ASSET_BACKFILL = Capability(
    "asset_backfill",
    "no launcher: `floe backfill` reports an error; launch the backfill with `dagster job backfill`",
)
BACKFILL_DAEMON_PLAN = Capability(
    "backfill_daemon_plan",
    "floe's own split of the range by the job's backfill policies (one job, partitioned assets only)",
)
CAPABILITIES = (UNRESOLVED_DEFINITIONS, ASSET_BACKFILL, BACKFILL_DAEMON_PLAN)


# --- unresolved_definitions --------------------------------------------------------------------------------------

_UNRESOLVED_NAMES = {
    "job": ("UnresolvedAssetJobDefinition", "dagster._core.definitions.unresolved_asset_job_definition"),
    "schedule": (
        "UnresolvedPartitionedAssetScheduleDefinition",
        "dagster._core.definitions.partitions.partitioned_schedule",
    ),
}


def unresolved_classes() -> dict[str, type] | None:
    """Probe: Dagster's unresolved job and schedule classes by kind, or None (and a warning) when unavailable."""
    if disabled(UNRESOLVED_DEFINITIONS):
        warn_unavailable(UNRESOLVED_DEFINITIONS)
        return None
    try:
        from dagster._core.definitions.partitions.partitioned_schedule import (
            UnresolvedPartitionedAssetScheduleDefinition,
        )
        from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
    except ImportError:
        warn_unavailable(UNRESOLVED_DEFINITIONS)
        return None
    return {"job": UnresolvedAssetJobDefinition, "schedule": UnresolvedPartitionedAssetScheduleDefinition}


def is_unresolved(obj: object, kind: str) -> bool:
    """Return whether ``obj`` is Dagster's unresolved asset job (``kind="job"``) or partitioned schedule."""
    classes = unresolved_classes()
    if classes is not None:
        return isinstance(obj, classes[kind])
    name, _module = _UNRESOLVED_NAMES[kind]
    return any(cls.__name__ == name and cls.__module__.startswith("dagster.") for cls in type(obj).__mro__)


# --- asset_backfill ----------------------------------------------------------------------------------------------


def asset_backfill_available() -> bool:
    """Probe: can floe create Dagster's asset backfill object?"""
    if disabled(ASSET_BACKFILL):
        warn_unavailable(ASSET_BACKFILL)
        return False
    try:
        from dagster._core.execution.backfill import PartitionBackfill
        from dagster._core.utils import make_new_backfill_id  # noqa: F401
    except ImportError:
        warn_unavailable(ASSET_BACKFILL)
        return False
    if not callable(getattr(PartitionBackfill, "from_asset_partitions", None)):
        warn_unavailable(ASSET_BACKFILL)
        return False
    return True


def new_asset_backfill(**kwargs: Any) -> Any:
    """Return ``PartitionBackfill.from_asset_partitions(backfill_id=<new id>, **kwargs)`` (probe first)."""
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    return PartitionBackfill.from_asset_partitions(backfill_id=make_new_backfill_id(), **kwargs)


# --- backfill_daemon_plan ----------------------------------------------------------------------------------------

PLAN_MODULE = "_floe_backfill_plan_definitions"
"""Name under which the definitions are briefly importable, for Dagster's in-process workspace to load them."""
MAX_PLAN_ITERATIONS = 1000


@dataclass(frozen=True)
class DaemonRun:
    """One run the asset backfill daemon would request: its assets and partitions (none when unpartitioned).

    Attributes:
        asset_keys: The run's assets.
        partition_range: ``(first, last)`` partition of the run, or ``None`` for an unpartitioned run.
    """

    asset_keys: frozenset[dg.AssetKey]
    partition_range: tuple[str, str] | None


IMPLICIT_ASSET_JOB = "__ASSET_JOB"
"""The job Dagster's asset backfill daemon runs every asset backfill's runs as."""


def daemon_backfill_runs(
    defs: dg.Definitions, partition_names: list[str], asset_selection: list[dg.AssetKey]
) -> list[DaemonRun] | None:
    """Probe and plan: the runs the asset backfill daemon would request, or None (and a warning) when unavailable.

    The definitions become a code location of an in-process workspace on a temporary instance (the daemon plans on
    the workspace's asset graph); each iteration is the daemon's own, fed the requested partitions as
    materialized, until it requests nothing more. Nothing is written outside the temporary directory.
    """
    if disabled(BACKFILL_DAEMON_PLAN):
        warn_unavailable(BACKFILL_DAEMON_PLAN)
        return None
    try:
        from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView
        from dagster._core.definitions.temporal_context import TemporalContext
        from dagster._core.execution.asset_backfill import (
            _get_requested_asset_graph_subset_from_run_requests,
            execute_asset_backfill_iteration_inner,
        )
        from dagster._core.remote_origin import InProcessCodeLocationOrigin
        from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
        from dagster._core.workspace.context import WorkspaceProcessContext
        from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
        from dagster._time import get_current_datetime
    except ImportError:
        warn_unavailable(BACKFILL_DAEMON_PLAN)
        return None
    import sys
    import tempfile
    import time
    import types

    module = types.ModuleType(PLAN_MODULE)
    module.defs = defs  # type: ignore[attr-defined]
    sys.modules[PLAN_MODULE] = module
    try:
        with tempfile.TemporaryDirectory() as home, dg.DagsterInstance.local_temp(tempdir=home) as instance:
            origin = LoadableTargetOrigin(module_name=PLAN_MODULE, attribute="defs")
            target = InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name="floe_plan"))
            with WorkspaceProcessContext(instance, target) as process_context:
                asset_graph = process_context.create_request_context().asset_graph
                started = time.time()
                backfill = new_asset_backfill(
                    asset_graph=asset_graph,
                    partition_names=partition_names,
                    asset_selection=asset_selection,
                    backfill_timestamp=started,
                    tags={},
                    dynamic_partitions_store=instance,
                    all_partitions=False,
                    title=None,
                    description=None,
                    run_config=None,
                )
                data = backfill.asset_backfill_data
                quiet = logging.Logger("floe_loaders.backfill_plan", level=logging.CRITICAL)  # the daemon's notes
                runs: list[DaemonRun] = []
                for _ in range(MAX_PLAN_ITERATIONS):
                    view = AssetGraphView(
                        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
                        instance=instance,
                        asset_graph=asset_graph,
                    )
                    result = execute_asset_backfill_iteration_inner(
                        backfill.backfill_id, data, view, started, quiet, None
                    )
                    if not result.run_requests:
                        return runs
                    for request in result.run_requests:
                        start = request.tags.get("dagster/asset_partition_range_start")
                        end = request.tags.get("dagster/asset_partition_range_end")
                        span = (start, end) if start and end else None
                        if span is None and request.partition_key is not None:
                            span = (request.partition_key, request.partition_key)
                        runs.append(DaemonRun(frozenset(request.asset_selection or ()), span))
                    requested = _get_requested_asset_graph_subset_from_run_requests(result.run_requests, view)
                    updated = result.backfill_data
                    # as the daemon sees it once every requested run has succeeded
                    data = updated._replace(
                        requested_subset=data.requested_subset | requested,
                        materialized_subset=updated.materialized_subset | requested,
                        latest_storage_id=None,
                    )
                return runs
    except Exception as exc:  # an internal moved or changed shape: the fallback plan, said once
        logger.debug("backfill_daemon_plan failed: %s", exc)
        warn_unavailable(BACKFILL_DAEMON_PLAN)
        return None
    finally:
        sys.modules.pop(PLAN_MODULE, None)


@contextmanager
def silenced_selection_beta_warning() -> Iterator[None]:
    """Silence the BetaWarning Dagster's own selection parser raises against itself, and nothing else.

    ``AssetSelection.from_string`` is public and stable, but its visitor passes the beta ``include_sources``
    parameter to ``AssetSelection.groups``/``tag``/``kind``/``all`` when it parses and when it resolves, so each
    ``group:x`` prints a BetaWarning that floe's user can neither act on nor avoid. floe never passes
    ``include_sources`` itself.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Parameter `include_sources`", category=dg.BetaWarning)
        yield
