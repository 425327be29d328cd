"""End the lineage runs of the dbt nodes a lost step left open, from the process that saw the step lost.

A dbt step whose process dies (a Celery worker killed mid-step) sends no terminal event for the nodes it had started,
nor the COMPLETE events it holds until dbt exits (the warehouse's columns are read then). The run worker that judges
the step lost knows the step (its nodes, from the manifest and the step's selection), the step attempt (so each
node's run id, :mod:`floe_dbt_observe.lineage_run_ids`) and what the step recorded in Dagster before it was lost.
One rule: a node whose terminal event the step was still holding gets it from its record -- COMPLETE for a
materialization (held until dbt exits; without the warehouse's columns), FAIL for a failed test (held for dbt's
error summary); any other node with a Dagster record already had its terminal event sent and gets nothing; every
node without a record gets ABORT naming the loss -- the run worker cannot tell a node that was running from one
that had not started, and ABORT is what a node cut off by an interrupted dbt gets.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_dbt_observe.dbt_engine import DbtEngine, detect_dbt_engine, installed_dbt_core
from floe_dbt_observe.errors import DbtEngineVersionError
from floe_dbt_observe.lineage_run_ids import StepAttempt
from floe_dbt_observe.options import JobNames, Observability

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent

    from floe_dbt_observe.lineage_context import ParentRun

LINEAGE_NODE_TYPES = frozenset({"model", "seed", "snapshot", "test"})
HELD_NODE_TYPES = frozenset({"model", "seed", "snapshot"})


@dataclass(frozen=True)
class DbtStepLineage:
    """How the dbt steps of a code location name and shape their lineage runs (what ``build_dbt_assets`` was given).

    Attributes:
        manifest: The manifest the dbt assets were built from.
        job_namespace: OpenLineage namespace of dbt node jobs (``ObservabilityOptions.lineage_namespace``).
        dataset_namespace: The warehouse's namespace, or a callable computing it on first use.
        job_names: ``dbt_ol`` or ``floe`` (``ObservabilityOptions.lineage_job_names``).
        level: ``per_model`` or ``job_level`` (``off``: no lineage run to end).
        warehouse_columns: Whether steps hold their models' COMPLETE events until dbt exits
            (``ObservabilityOptions.warehouse_columns``).
        project_dir: The dbt project directory.
        dbt_executable: The ``dbt`` the steps run (its engine names the ``processing_engine`` facet); None for the
            installed dbt-core (in-process steps).
    """

    manifest: Mapping[str, Any]
    job_namespace: str
    dataset_namespace: str | Callable[[], str]
    job_names: JobNames = "dbt_ol"
    level: Observability = "per_model"
    warehouse_columns: bool = True
    project_dir: Path | None = None
    dbt_executable: str | None = None

    def engine(self) -> DbtEngine:
        """Return the engine the steps run, as they name it."""
        if self.dbt_executable is None:
            return installed_dbt_core()
        try:
            return detect_dbt_engine(self.dbt_executable)
        except DbtEngineVersionError:  # the step itself ran with the same label
            return DbtEngine("dbt", "unknown")


@dataclass(frozen=True)
class NodeRecord:
    """A Dagster record the step stored for one node run (its ``floe/openlineage_run_id`` metadata).

    Attributes:
        run_id: The node's lineage run id.
        materialized: Whether it is a materialization (a model, seed or snapshot that succeeded).
        event_time: ISO time the step stored it.
        failed_check: Whether it is the evaluation of a test that failed (severity error): the step's FAIL event
            waits for dbt's error summary, at the end of dbt's run.
    """

    run_id: str
    materialized: bool
    event_time: str
    failed_check: bool = False


@dataclass(frozen=True)
class LostStep:
    """A dbt step attempt judged lost, and what it recorded before.

    Attributes:
        attempt: The step attempt (names its node runs).
        parent: The Dagster run (the ``parent`` facet).
        asset_keys: dbt unique id -> asset key string of the step's selected models, seeds and snapshots.
        check_names: ``(asset key string, check name)`` of the step's selected asset checks.
        records: What the step recorded for its node runs.
        message: Why the step was lost (the ``errorMessage`` of ABORT events).
        event_time: ISO time the step was judged lost.
        nominal_time: ``(start, end)`` of the step's partition window, or None.
    """

    attempt: StepAttempt
    parent: ParentRun
    asset_keys: Mapping[str, str]
    check_names: Collection[tuple[str, str]]
    records: Sequence[NodeRecord]
    message: str
    event_time: str
    nominal_time: tuple[str, str | None] | None = None


def step_node_ids(
    manifest: Mapping[str, Any], asset_keys: Mapping[str, str], check_names: Collection[tuple[str, str]]
) -> list[str]:
    """Return the nodes a dbt step runs that get a lineage run: its models, seeds and snapshots, and their tests.

    A test counts when it is a selected asset check of one of those nodes (dagster-dbt's rule: a check on the test's
    attached node, or on the one node a singular test reads), or when it is no check and reads one of those nodes (a
    singular test of several models, which dbt's indirect selection runs with them).
    """
    nodes: Mapping[str, Mapping[str, Any]] = manifest.get("nodes") or {}
    found = [unique_id for unique_id in asset_keys if unique_id.split(".", 1)[0] in HELD_NODE_TYPES]
    for unique_id, node in nodes.items():
        if node.get("resource_type") != "test":
            continue
        upstream = list((node.get("depends_on") or {}).get("nodes", []))
        if not any(parent in asset_keys for parent in upstream):
            continue
        target = node.get("attached_node") or (upstream[0] if len(upstream) == 1 else None)
        name = str(node.get("name") or unique_id.split(".")[-1])
        if target is None or (target in asset_keys and (asset_keys[target], name) in check_names):
            found.append(unique_id)
    return found


def lost_step_events(lineage: DbtStepLineage, step: LostStep) -> list[RunEvent]:
    """Return the terminal events of the node runs a lost dbt step left open (see the module docstring).

    Built with the same builders, job names and parent as the step's own events; no warehouse is read (the run
    worker may not reach it), so a held COMPLETE carries the manifest's declared columns and no column lineage.
    """
    from openlineage.client.event_v2 import RunState

    from floe_dbt_observe.lineage_context import LineageContext, NodeOutcome
    from floe_dbt_observe.lineage_events import invocation_event, node_terminal_event

    if lineage.level not in ("per_model", "job_level"):
        return []
    engine = lineage.engine()
    ctx = LineageContext(
        manifest=lineage.manifest,
        job_namespace=lineage.job_namespace,
        dataset_namespace_source=lineage.dataset_namespace,
        parent=step.parent,
        dbt_version=engine.version,
        engine_name=engine.lineage_name,
        dbt_runtime=engine.runtime,
        openlineage_version=version("openlineage-python"),
        target_path=None,
        project_dir=lineage.project_dir,
        column_lineage=False,
        asset_keys=step.asset_keys,
        dagster_run_id=step.attempt.dagster_run_id,
        nominal_time=step.nominal_time,
        job_names=lineage.job_names,
    )
    node_ids = step_node_ids(lineage.manifest, step.asset_keys, step.check_names)
    records = {record.run_id: record for record in step.records}
    if lineage.level == "job_level":
        # the step's one lineage run ends with the step: whatever the step recorded, it was open
        run_id = step.attempt.invocation_run_id()
        op_name = step.attempt.step_key.split("[", 1)[0]
        return [
            invocation_event(
                ctx,
                run_id=run_id,
                job_name=f"{ctx.project_name}.{op_name}",
                state=RunState.ABORT,
                event_time=step.event_time,
                node_ids=node_ids,
                trace_id=None,
                span_id=None,
                message=step.message,
            )
        ]
    events: list[RunEvent] = []
    for unique_id in node_ids:
        run_id = step.attempt.node_run_id(unique_id)
        record = records.get(run_id)
        if record is None:
            outcome = NodeOutcome(RunState.ABORT, "cancelled", step.event_time, message=step.message)
        elif record.materialized and lineage.warehouse_columns and unique_id.split(".", 1)[0] in HELD_NODE_TYPES:
            outcome = NodeOutcome(state=RunState.COMPLETE, status="success", event_time=record.event_time)
        elif record.failed_check:
            message = f"the test failed (its Dagster check evaluation); dbt's own message was lost: {step.message}"
            outcome = NodeOutcome(RunState.FAIL, "fail", record.event_time, message=message)
        else:
            continue
        events.append(node_terminal_event(ctx, unique_id, run_id, outcome))
    return events
