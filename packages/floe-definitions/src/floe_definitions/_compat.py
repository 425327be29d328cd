"""Every private Dagster and OpenLineage API floe-definitions uses, in one place.

Nothing else in the package imports ``dagster._…``. Dagster's executor interface (``Executor.execute``) is
public, but the types of its arguments are not exported; they are imported here for annotations only, under
``TYPE_CHECKING``, so a Dagster that lacks one of them (``StepDependencyConfig`` is newer than Dagster 1.10)
still loads floe's code location.

Remaining private uses at run time, each with what happens without it:

- ``step_assets``: ``ExecutionPlan.get_step_by_key(...).node_handle`` and
  ``JobDefinition.asset_layer.get_assets_def_for_node`` map a running step to its assets for the executor's
  spans and lineage. Probe: the lookup is guarded; when it fails the step is reported without assets (its span
  and lineage run still exist, named by the step key). No graph shape depends on it.
- ``lineage_client``: ``OpenLineageClient._alias_env_vars`` is overridden so the client does not write
  ``OPENLINEAGE__*`` aliases into ``os.environ``. Probe: :func:`openlineage_alias_hook_available`; without the
  hook the client is the standard one (it may alias the variables) and one WARNING says so
  (``FLOE_COMPAT_DISABLE=openlineage_alias_hook`` fails the probe on purpose).
- ``asset_links``: :func:`with_wrapped_compute` rebuilds a Python asset definition around a wrapper of its
  compute function (``OpDefinition.dagster_internal_init``, ``DecoratedOpFunction``; Dagster has no public API
  for that), so its materializations carry floe's trace and lineage ids. Probe: any failure keeps the asset
  unchanged and one WARNING says its materializations lack those ids (``FLOE_COMPAT_DISABLE=asset_compute_wrapper``
  fails it on purpose); keys, op names and step keys never change.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dagster import AssetsDefinition

logger = logging.getLogger("floe_definitions")

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph as AssetGraph
    from dagster._core.execution.context.system import PlanOrchestrationContext as PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan as ExecutionPlan
    from dagster._core.execution.retries import RetryMode as RetryMode
    from dagster._core.execution.step_dependency_config import StepDependencyConfig as StepDependencyConfig

OPENLINEAGE_ALIAS_HOOK = "_alias_env_vars"
DISABLE_ENV = "FLOE_COMPAT_DISABLE"
"""Comma-separated capability names whose probe fails on purpose (tests; a user working around an upgrade)."""


def disabled(capability: str) -> bool:
    """Return whether ``FLOE_COMPAT_DISABLE`` turns the capability's probe off."""
    return capability in {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",")}


@functools.cache
def warn_unavailable(capability: str, slower_path: str) -> None:
    """Log, once per process and capability, that floe takes the fallback path."""
    logger.warning("floe-definitions: %s is unavailable on this version; using %s", capability, slower_path)


def openlineage_alias_hook_available() -> bool:
    """Probe: does ``OpenLineageClient`` still alias ``OPENLINEAGE_*`` variables through the hook floe overrides?"""
    from openlineage.client import OpenLineageClient

    if not disabled("openlineage_alias_hook") and callable(getattr(OpenLineageClient, OPENLINEAGE_ALIAS_HOOK, None)):
        return True
    warn_unavailable(
        "openlineage_alias_hook", "the standard OpenLineageClient (it may write OPENLINEAGE__* into os.environ)"
    )
    return False


ComputeWrapper = Callable[[Callable[..., Any]], Callable[..., Any]]


def with_wrapped_compute(assets_def: AssetsDefinition, wrap: ComputeWrapper) -> AssetsDefinition | None:
    """Return ``assets_def`` with its op's compute function replaced by ``wrap(function)``, or None if unsupported.

    Args:
        assets_def: An asset definition built by ``@asset`` / ``@multi_asset`` (an op, not a graph).
        wrap: Returns a function with the same signature and kind (plain, generator, coroutine) as its argument.

    Returns:
        The rebuilt definition (same keys, op name, specs, checks, resources), or None when the definition is
        not op-based or this Dagster's internals differ (a warning is logged once).
    """
    try:
        if disabled("asset_compute_wrapper"):
            raise RuntimeError(f"{DISABLE_ENV} names asset_compute_wrapper")
        from dagster import OpDefinition
        from dagster._core.definitions.decorators.op_decorator import DecoratedOpFunction
        from dagster._core.definitions.input import In
        from dagster._core.definitions.output import Out

        op = assets_def.node_def
        if not isinstance(op, OpDefinition) or not isinstance(op.compute_fn, DecoratedOpFunction):
            return None
        new_op = OpDefinition.dagster_internal_init(
            name=op.name,
            ins={input_def.name: In.from_definition(input_def) for input_def in op.input_defs},
            outs={output_def.name: Out.from_definition(output_def) for output_def in op.output_defs},
            compute_fn=DecoratedOpFunction(wrap(op.compute_fn.decorated_fn)),
            config_schema=op.config_schema,
            description=op.description,
            tags=op.tags,
            required_resource_keys=op.required_resource_keys,
            code_version=op._version,
            retry_policy=op.retry_policy,
            version=None,
            pool=op.pool,
        )
        rebuilt: AssetsDefinition = AssetsDefinition.dagster_internal_init(
            **{**assets_def.get_attributes_dict(), "node_def": new_op}
        )
        return rebuilt
    except Exception as exc:  # a probe: any internal change falls back to the unchanged asset
        logger.debug("floe-definitions: cannot wrap %s's compute function: %r", assets_def.node_def.name, exc)
        warn_unavailable(
            "asset_compute_wrapper",
            "the unchanged asset (its materializations do not carry floe's trace and lineage ids)",
        )
        return None
