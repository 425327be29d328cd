"""Build the OpenLineage run events of dbt nodes (and of a whole invocation) from a ``LineageContext``.

A node's run has a START event at its start and a COMPLETE / FAIL / ABORT event at its finish; its inputs are its
refs and sources, its output its relation. The facets come from ``lineage_facets``. Building runs on the emitter
thread, never on the dbt step.
"""

from __future__ import annotations

from collections.abc import Sequence

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import InputDatasetFacet, OutputDatasetFacet, job_type_job

from floe_dbt_observe.facets import FLOE_PRODUCER, OtelTraceRunFacet
from floe_dbt_observe.lineage_context import LineageContext, NodeOutcome
from floe_dbt_observe.lineage_facets import (
    column_lineage_facet,
    data_quality_facet,
    dataset_facets,
    error_message_facet,
    job_facets,
    output_statistics_facet,
    run_facets,
)


def node_start_event(
    ctx: LineageContext, unique_id: str, run_id: str, event_time: str, invocation_id: str | None = None
) -> RunEvent:
    """Return the START event of a node's lineage run (``invocation_id``: dbt's, for the ``dbt_run`` facet)."""
    return _event(ctx, unique_id, run_id, RunState.START, event_time, outcome=None, invocation_id=invocation_id)


def node_terminal_event(ctx: LineageContext, unique_id: str, run_id: str, outcome: NodeOutcome) -> RunEvent:
    """Return the COMPLETE / FAIL / ABORT event of a node's lineage run."""
    return _event(ctx, unique_id, run_id, outcome.state, outcome.event_time, outcome=outcome)


def _event(
    ctx: LineageContext,
    unique_id: str,
    run_id: str,
    state: RunState,
    event_time: str,
    outcome: NodeOutcome | None,
    invocation_id: str | None = None,
) -> RunEvent:
    finished = outcome is not None and state == RunState.COMPLETE
    if finished and ctx.holds(unique_id):
        ctx.warehouse_columns()  # one query for every held node, before any of their facets is built
    if ctx.node(unique_id).get("resource_type") == "test":
        inputs, outputs = _test_inputs(ctx, unique_id, outcome), []
    else:
        inputs, outputs = inputs_for(ctx, unique_id), [_output(ctx, unique_id, outcome if finished else None)]
    return RunEvent(
        eventType=state,
        eventTime=event_time,
        run=Run(runId=run_id, facets=run_facets(ctx, unique_id, outcome, invocation_id)),
        job=Job(
            namespace=ctx.job_namespace,
            name=ctx.job_name(unique_id),
            facets=job_facets(ctx, unique_id, with_sql=outcome is not None),
        ),
        inputs=inputs,
        outputs=outputs,
        producer=FLOE_PRODUCER,
    )


def _output(ctx: LineageContext, unique_id: str, completed: NodeOutcome | None) -> OutputDataset:
    """Return a node's relation as an output; a completed node's with its column lineage and output statistics."""
    facets = dataset_facets(ctx, unique_id)
    output_facets: dict[str, OutputDatasetFacet] = {}
    if completed is not None:
        lineage_facet = column_lineage_facet(ctx, unique_id)
        if lineage_facet is not None:
            facets["columnLineage"] = lineage_facet
        statistics = output_statistics_facet(completed)
        if statistics is not None:
            output_facets["outputStatistics"] = statistics
    return OutputDataset(
        namespace=ctx.dataset_namespace,
        name=ctx.dataset_name(ctx.node(unique_id)),
        facets=facets,
        outputFacets=output_facets,
    )


def inputs_for(ctx: LineageContext, unique_id: str) -> list[InputDataset]:
    """Return the input datasets of a node: its refs and sources."""
    return [
        InputDataset(
            namespace=ctx.dataset_namespace,
            name=ctx.dataset_name(ctx.node(parent)),
            facets=dataset_facets(ctx, parent),
        )
        for parent in ctx.relation_parents(unique_id)
        if ctx.node(parent).get("config", {}).get("materialized") != "ephemeral"
    ]


def _test_inputs(ctx: LineageContext, unique_id: str, outcome: NodeOutcome | None) -> list[InputDataset]:
    target = ctx.tested_node(unique_id)
    if target is None:
        return []
    input_facets: dict[str, InputDatasetFacet] = {}
    assertions = data_quality_facet(ctx, unique_id, outcome)
    if assertions is not None:
        input_facets["dataQualityAssertions"] = assertions
    return [
        InputDataset(
            namespace=ctx.dataset_namespace,
            name=ctx.dataset_name(ctx.node(target)),
            facets=dataset_facets(ctx, target),
            inputFacets=input_facets,
        )
    ]


def invocation_event(
    ctx: LineageContext,
    *,
    run_id: str,
    job_name: str,
    state: RunState,
    event_time: str,
    node_ids: Sequence[str],
    trace_id: str | None,
    span_id: str | None,
    message: str | None = None,
) -> RunEvent:
    """Return an event of the single lineage run of a whole invocation (``job_level``)."""
    produced = set(node_ids)
    input_ids: list[str] = []
    for unique_id in node_ids:
        for parent in ctx.relation_parents(unique_id):
            if parent not in produced and parent not in input_ids:
                input_ids.append(parent)
    facets = run_facets(ctx, "", None)
    if trace_id and span_id:
        facets["floe_trace"] = OtelTraceRunFacet(traceId=trace_id, spanId=span_id, producer=FLOE_PRODUCER)
    error = error_message_facet(state, message)
    if error is not None:
        facets["errorMessage"] = error
    return RunEvent(
        eventType=state,
        eventTime=event_time,
        run=Run(runId=run_id, facets=facets),
        job=Job(
            namespace=ctx.job_namespace,
            name=job_name,
            facets={
                "jobType": job_type_job.JobTypeJobFacet(
                    processingType="BATCH", integration="DBT", jobType="JOB", producer=FLOE_PRODUCER
                )
            },
        ),
        inputs=[
            InputDataset(
                namespace=ctx.dataset_namespace, name=ctx.dataset_name(ctx.node(i)), facets=dataset_facets(ctx, i)
            )
            for i in input_ids
        ],
        outputs=[
            OutputDataset(
                namespace=ctx.dataset_namespace, name=ctx.dataset_name(ctx.node(o)), facets=dataset_facets(ctx, o)
            )
            for o in node_ids
            if ctx.node(o).get("resource_type") in ("model", "seed", "snapshot")
        ],
        producer=FLOE_PRODUCER,
    )
