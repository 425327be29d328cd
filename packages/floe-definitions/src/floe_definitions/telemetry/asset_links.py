"""Put floe's trace, span and lineage ids on every Python asset materialization, as floe-dbt-observe does for dbt.

The executor wrapper opens each step's span and lineage run with ids derived from the run id, step key and
attempt (:mod:`floe_definitions.telemetry.run_trace`). The step's own process -- wherever the executor runs it --
derives the same ids and adds them to the metadata of the step's materializations (``floe/trace_id``, ``floe/span_id``,
``floe/openlineage_run_id``, ``floe/openlineage_job``), with no code in the asset: each Python asset's compute
function is wrapped once, when the definitions are built.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition

from floe_dbt_observe.integration import (
    OPENLINEAGE_JOB_KEY,
    OPENLINEAGE_RUN_ID_KEY,
    SPAN_ID_KEY,
    TRACE_ID_KEY,
    dagster_step_span_context,
    format_span_id,
    format_trace_id,
)
from floe_definitions._compat import with_wrapped_compute
from floe_definitions.execution.step_assets import is_dbt_assets
from floe_definitions.execution.step_lineage import lineage_job_name
from floe_definitions.telemetry.run_trace import step_lineage_run_id

logger = logging.getLogger(__name__)


def link_python_assets(
    assets: Sequence[Any], *, traces: bool, lineage_namespace: str | None, pipeline: str
) -> list[Any]:
    """Return ``assets`` with every Python asset definition adding floe's ids to its materializations.

    Args:
        assets: Asset definitions (anything else, and dbt assets, pass through unchanged).
        traces: Whether spans are recorded (adds ``floe/trace_id`` and ``floe/span_id``).
        lineage_namespace: The OpenLineage job namespace, or None when lineage is off.
        pipeline: floe.yaml ``name`` (the lineage job name's prefix).

    Returns:
        The assets, Python ones rebuilt around a wrapper of their compute function.
    """
    if not traces and lineage_namespace is None:
        return list(assets)
    linked: list[Any] = []
    for item in assets:
        if isinstance(item, AssetsDefinition) and item.is_executable and item.keys and not is_dbt_assets(item):
            wrap = functools.partial(_wrap, traces=traces, lineage_namespace=lineage_namespace, pipeline=pipeline)
            item = with_wrapped_compute(item, wrap) or item
        linked.append(item)
    return linked


def add_link_metadata(
    context: AssetExecutionContext, *, traces: bool, lineage_namespace: str | None, pipeline: str
) -> None:
    """Add the step's span and lineage ids to the metadata of every asset the step materializes."""
    run_id = context.run.run_id
    step_key = context.op_execution_context.get_step_execution_context().step.key
    attempt = context.retry_number
    metadata: dict[str, str] = {}
    if traces:
        span = dagster_step_span_context(run_id, step_key, attempt)
        metadata[TRACE_ID_KEY] = format_trace_id(span.trace_id)
        metadata[SPAN_ID_KEY] = format_span_id(span.span_id)
    keys = sorted(context.selected_asset_keys, key=lambda key: key.to_user_string())
    if lineage_namespace is not None:
        metadata[OPENLINEAGE_RUN_ID_KEY] = step_lineage_run_id(run_id, step_key, attempt)
        metadata[OPENLINEAGE_JOB_KEY] = f"{lineage_namespace}/{lineage_job_name(pipeline, step_key, keys)}"
    for key in keys:
        context.add_asset_metadata(metadata, asset_key=key)


def _link(traces: bool, lineage_namespace: str | None, pipeline: str) -> None:
    try:
        context = AssetExecutionContext.get()
        add_link_metadata(context, traces=traces, lineage_namespace=lineage_namespace, pipeline=pipeline)
    except Exception:  # telemetry never fails the asset
        logger.warning("floe: could not add trace and lineage ids to the materialization", exc_info=True)


def _wrap(fn: Callable[..., Any], *, traces: bool, lineage_namespace: str | None, pipeline: str) -> Callable[..., Any]:
    """Return a wrapper of ``fn`` of the same kind (plain, generator, coroutine) that links before running it."""
    link = functools.partial(_link, traces, lineage_namespace, pipeline)
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def async_generator(*args: Any, **kwargs: Any) -> Any:
            link()
            async for item in fn(*args, **kwargs):
                yield item

        return async_generator
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            link()
            return await fn(*args, **kwargs)

        return coroutine
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            link()
            return (yield from fn(*args, **kwargs))

        return generator

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        link()
        return fn(*args, **kwargs)

    return plain
