"""OpenLineage events for a Dagster run and its steps: START, then COMPLETE, FAIL or ABORT.

The Dagster run is a lineage run of its own (job = the Dagster job, ``jobType`` JOB), the parent and root of every
step and dbt node run. A step's run has datasets from its assets:

A dataset is the asset's table when the asset reports one (``dagster/table_name``, statically on its spec or on
its materialization), in the namespace the platform maps its ``dagster/storage_kind`` to (so a Python asset
writing ``warehouse.bronze.raw_orders`` meets the dbt source reading it); else the asset key itself, in the
pipeline's ``dagster://<pipeline>`` namespace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetKey
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    JobFacet,
    RunFacet,
    error_message_run,
    job_type_job,
    parent_run,
    processing_engine_run,
)

from floe_dbt_observe.integration import (
    ParentRun,
    dagster_tags,
    job_tags_facet,
    nominal_time_facet,
    ownership_facet,
    run_tags_facet,
)
from floe_definitions.warm.launcher import LAUNCHER_TAG_PREFIX

PRODUCER = "urn:floe:floe-definitions"
"""Producer URI on every event floe-definitions emits."""

TABLE_NAME_KEY = "dagster/table_name"
STORAGE_KIND_KEY = "dagster/storage_kind"


@dataclass(frozen=True)
class DatasetNaming:
    """How asset keys become OpenLineage datasets.

    Attributes:
        pipeline: floe.yaml ``name``; key-named datasets live in ``dagster://<pipeline>``.
        table_namespaces: ``dagster/storage_kind`` -> dataset namespace of tables in that storage
            (e.g. ``duckdb`` -> the dbt warehouse's namespace), or a callable returning it, called when a
            dataset of that storage is first named (the warehouse's comes from the dbt profile, which costs a
            second of dbt imports that only a run naming a warehouse table should pay).
    """

    pipeline: str
    table_namespaces: Mapping[str, str | Callable[[], str]] = field(default_factory=dict)

    def dataset(self, key: AssetKey, metadata: Mapping[str, Any], kinds: Iterable[str] = ()) -> tuple[str, str]:
        """Return ``(namespace, name)`` of the dataset an asset stands for.

        Args:
            key: The asset key.
            metadata: The asset's definition metadata, updated with its materialization's.
            kinds: The asset's kinds; one naming a known storage (``duckdb``) stands in for a missing
                ``dagster/storage_kind``.
        """
        table = _text(metadata.get(TABLE_NAME_KEY))
        if table:
            storage = _text(metadata.get(STORAGE_KIND_KEY)) or next(
                (kind for kind in sorted(kinds) if kind in self.table_namespaces), ""
            )
            known = self.table_namespaces.get(storage)
            namespace = known() if callable(known) else known
            return namespace or (f"{storage}://" if storage else self.key_namespace), table
        return self.key_namespace, key.to_user_string()

    @property
    def key_namespace(self) -> str:
        """Namespace of datasets named by asset key."""
        return f"dagster://{self.pipeline}"


def lineage_job_name(pipeline: str, step_key: str, outputs: Sequence[AssetKey]) -> str:
    """Return the OpenLineage job name of a step: ``<pipeline>.<asset key path>`` (or the step key)."""
    if len(outputs) == 1:
        return f"{pipeline}." + ".".join(outputs[0].path)
    return f"{pipeline}.{step_key}"


def step_event(
    state: RunState,
    *,
    run_id: str,
    job_name: str,
    parent: ParentRun,
    inputs: Sequence[tuple[str, str]],
    outputs: Sequence[tuple[str, str]],
    error: tuple[str, str | None] | None = None,
    dagster_version: str = "",
    nominal_time: tuple[str, str | None] | None = None,
    owners: Sequence[str] = (),
    tags: Mapping[str, str] | None = None,
    job_type: str = "ASSET",
    event_time: str | None = None,
) -> RunEvent:
    """Build one lineage event of a step's run.

    Args:
        state: START, COMPLETE, FAIL or ABORT.
        run_id: The step's OpenLineage run id (a UUIDv7).
        job_name: The step's OpenLineage job name.
        parent: The Dagster run.
        inputs: ``(namespace, name)`` of datasets read.
        outputs: ``(namespace, name)`` of datasets written.
        error: ``(message, stack trace)`` for FAIL.
        dagster_version: Dagster's version for the processing-engine facet.
        nominal_time: ``(start, end)`` of the run's partition time window, for ``nominalTime``.
        owners: The step's assets' owners, for ``ownership``.
        tags: The step's assets' tags, for the job's ``tags``.
        job_type: ``ASSET`` for an asset step, ``TASK`` for an op step of an ops job (``jobType`` facet).
        event_time: ISO 8601 time of the transition (the step event's), as floe-dbt-observe's builders take it;
            now when omitted.

    Returns:
        The event.
    """
    run_facets: dict[str, Any] = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent.run_id),
            job=parent_run.Job(namespace=parent.namespace, name=parent.job_name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=parent.run_id),
                job=parent_run.RootJob(namespace=parent.namespace, name=parent.job_name),
            ),
            producer=PRODUCER,
        ),
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=dagster_version, name="dagster", producer=PRODUCER
        ),
    }
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error[0], programmingLanguage="python", stackTrace=error[1], producer=PRODUCER
        )
    if nominal_time is not None:
        run_facets["nominalTime"] = nominal_time_facet(*nominal_time, producer=PRODUCER)
    job_facets: dict[str, Any] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="DAGSTER", jobType=job_type, producer=PRODUCER
        )
    }
    _add(job_facets, "ownership", ownership_facet(owners, producer=PRODUCER))
    _add(job_facets, "tags", job_tags_facet(dagster_tags(tags or {}), producer=PRODUCER))
    return RunEvent(
        eventType=state,
        eventTime=event_time or dt.datetime.now(dt.UTC).isoformat(),
        run=Run(runId=run_id, facets=run_facets),
        job=Job(namespace=parent.namespace, name=job_name, facets=job_facets),
        inputs=[InputDataset(namespace=ns, name=name) for ns, name in inputs],
        outputs=[OutputDataset(namespace=ns, name=name) for ns, name in outputs],
        producer=PRODUCER,
    )


def dagster_run_event(
    state: RunState,
    *,
    run: ParentRun,
    run_tags: Mapping[str, str],
    job_tags: Mapping[str, str],
    nominal_time: tuple[str, str | None] | None = None,
    error: str | None = None,
    dagster_version: str = "",
    owners: Sequence[str] = (),
) -> RunEvent:
    """Build one lineage event of the Dagster run itself (the parent and root of its steps' and nodes' runs).

    Args:
        state: START, COMPLETE, FAIL or ABORT.
        run: The Dagster run: its id is the lineage run id, its job the lineage job, in the platform's namespace.
        run_tags: The run's tags, for the run's ``tags`` facet.
        job_tags: The Dagster job's tags, for the job's ``tags`` facet.
        nominal_time: ``(start, end)`` of the run's partition time window, for ``nominalTime``.
        error: Why the run failed or was aborted, for ``errorMessage``.
        dagster_version: Dagster's version for the processing-engine facet.
        owners: The owners of the assets the job targets, for the job's ``ownership`` facet.

    Returns:
        The event.
    """
    run_facets: dict[str, RunFacet] = {
        "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
            version=dagster_version, name="dagster", producer=PRODUCER
        ),
    }
    if nominal_time is not None:
        run_facets["nominalTime"] = nominal_time_facet(*nominal_time, producer=PRODUCER)
    # the warm launcher's bookkeeping (its process, host, socket) says how the run was started, not what it is
    own_tags = {key: value for key, value in run_tags.items() if not key.startswith(LAUNCHER_TAG_PREFIX)}
    _add(run_facets, "tags", run_tags_facet(dagster_tags(own_tags), producer=PRODUCER))
    if error is not None:
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python", producer=PRODUCER
        )
    job_facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="DAGSTER", jobType="JOB", producer=PRODUCER
        )
    }
    _add(job_facets, "ownership", ownership_facet(owners, producer=PRODUCER))
    _add(job_facets, "tags", job_tags_facet(dagster_tags(job_tags), producer=PRODUCER))
    return RunEvent(
        eventType=state,
        eventTime=dt.datetime.now(dt.UTC).isoformat(),
        run=Run(runId=run.run_id, facets=run_facets),
        job=Job(namespace=run.namespace, name=run.job_name, facets=job_facets),
        producer=PRODUCER,
    )


def _add(facets: dict[str, Any], name: str, facet: Any) -> None:
    if facet is not None:
        facets[name] = facet


def _text(value: object) -> str | None:
    if value is None:
        return None
    inner = getattr(value, "value", value)
    return str(inner) if inner is not None else None
