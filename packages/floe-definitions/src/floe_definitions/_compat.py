"""Every private Dagster and OpenLineage API floe-definitions uses, in one place.

Nothing else in the package imports ``dagster._…``. Dagster's executor interface (``Executor.execute``) is
public, but the types of its arguments are not exported; they are imported here for annotations only, under
``TYPE_CHECKING``, so a Dagster that lacks one of them (``StepDependencyConfig`` is newer than Dagster 1.10)
still loads floe's code location.

Remaining private uses at run time, each with what happens without it:

- ``step_assets``: :func:`step_assets_def` maps a running step to its assets definition for the executor's spans
  and lineage through ``ExecutionPlan.get_step_by_key(...).node_handle`` and
  ``JobDefinition.asset_layer.get_assets_def_for_node`` (Dagster has no public step-to-asset lookup). Probe:
  :func:`step_lookup_available`; without it one WARNING says so and the step is matched by its top-level op name
  against the job's assets definitions (``FLOE_COMPAT_DISABLE=step_assets`` fails the probe on purpose). A step
  that matches nothing is reported without assets (its span and lineage run still exist, named by the step key).
  No graph shape depends on it.
- ``lineage_client``: ``OpenLineageClient._alias_env_vars`` is overridden so the client does not write
  ``OPENLINEAGE__*`` aliases into ``os.environ``. Probe: :func:`openlineage_alias_hook_available`; without the
  hook the client is the standard one (it may alias the variables) and one WARNING says so
  (``FLOE_COMPAT_DISABLE=openlineage_alias_hook`` fails the probe on purpose).
- ``asset_links``: :func:`with_wrapped_compute` rebuilds a Python asset definition around a wrapper of its
  compute function (``OpDefinition.dagster_internal_init``, ``DecoratedOpFunction``; Dagster has no public API
  for that), so its materializations carry floe's trace and lineage ids. Probe: any failure keeps the asset
  unchanged and one WARNING says its materializations lack those ids (``FLOE_COMPAT_DISABLE=asset_compute_wrapper``
  fails it on purpose); keys, op names and step keys never change.
- ``warm_steps`` (Python's, not Dagster's): :func:`stop_forkserver` stops the multiprocessing fork server through
  ``multiprocessing.forkserver._forkserver._stop()`` when a later run in the same process needs another project or
  environment in its step server. Probe: the method exists; without it one WARNING says so and the running server
  stays (``FLOE_COMPAT_DISABLE=forkserver_restart``).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagster import AssetsDefinition, JobDefinition

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph as AssetGraph
    from dagster._core.execution.context.system import PlanOrchestrationContext as PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan as ExecutionPlan
    from dagster._core.execution.retries import RetryMode as RetryMode
    from dagster._core.execution.step_dependency_config import StepDependencyConfig as StepDependencyConfig

logger = logging.getLogger("floe_definitions")
PACKAGE = "floe-definitions"
"""The package a WARNING names."""
PROBED = "Dagster/OpenLineage"
"""What the probes look at, for the WARNING."""

DISABLE_ENV = "FLOE_COMPAT_DISABLE"
"""Comma-separated capability names whose probe fails on purpose (tests; a user working around an upgrade)."""


@dataclass(frozen=True)
class Capability:
    """One use of a private API: its name and what floe does without it."""

    name: str
    slower_path: str


def disabled(capability: Capability) -> bool:
    """Return whether ``FLOE_COMPAT_DISABLE`` turns the capability's probe off."""
    return capability.name in {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",")}


@functools.cache
def warn_unavailable(capability: Capability) -> None:
    """Log, once per process and capability, that floe takes the slower public path."""
    logger.warning(
        "%s: %s is unavailable on this %s (or disabled by %s); using %s",
        PACKAGE,
        capability.name,
        PROBED,
        DISABLE_ENV,
        capability.slower_path,
    )


OPENLINEAGE_ALIAS_HOOK_CAPABILITY = Capability(
    "openlineage_alias_hook", "the standard OpenLineageClient (it may write OPENLINEAGE__* into os.environ)"
)
STEP_ASSETS = Capability(
    "step_assets", "assets matched by the step's op name (assets inside nested graphs go unreported)"
)
ASSET_COMPUTE_WRAPPER = Capability(
    "asset_compute_wrapper", "the unchanged asset (its materializations do not carry floe's trace and lineage ids)"
)
FORKSERVER_RESTART = Capability(
    "forkserver_restart",
    "the running step server (later runs' steps get the environment and project it started with, and load theirs)",
)
CAPABILITIES = (OPENLINEAGE_ALIAS_HOOK_CAPABILITY, STEP_ASSETS, ASSET_COMPUTE_WRAPPER, FORKSERVER_RESTART)

OPENLINEAGE_ALIAS_HOOK = "_alias_env_vars"


def openlineage_alias_hook_available() -> bool:
    """Probe: does ``OpenLineageClient`` still alias ``OPENLINEAGE_*`` variables through the hook floe overrides?"""
    from openlineage.client import OpenLineageClient

    if not disabled(OPENLINEAGE_ALIAS_HOOK_CAPABILITY) and callable(
        getattr(OpenLineageClient, OPENLINEAGE_ALIAS_HOOK, None)
    ):
        return True
    warn_unavailable(OPENLINEAGE_ALIAS_HOOK_CAPABILITY)
    return False


def step_lookup_available() -> bool:
    """Probe: can a step key be mapped to its node and the node to its assets definition?"""
    from dagster import JobDefinition

    layer = getattr(JobDefinition, "asset_layer", None)
    plan_type = _execution_plan_type()
    if (
        not disabled(STEP_ASSETS)
        and plan_type is not None
        and callable(getattr(plan_type, "get_step_by_key", None))
        and isinstance(layer, property)
        and callable(getattr(_asset_layer_type(), "get_assets_def_for_node", None))
    ):
        return True
    warn_unavailable(STEP_ASSETS)
    return False


def step_assets_def(job_def: JobDefinition, execution_plan: ExecutionPlan, step_key: str) -> AssetsDefinition | None:
    """Return the assets definition a step executes, or None for an op step or a step floe cannot map.

    Args:
        job_def: The run's job.
        execution_plan: The plan being executed.
        step_key: The step key as given (a dynamic-mapped ``op[key]`` or its unresolved form).

    Returns:
        The step's assets definition, or None.
    """
    if not step_lookup_available():
        return _assets_def_by_op_name(job_def, step_key)
    try:
        step = execution_plan.get_step_by_key(step_key)
    except Exception:  # unknown or unresolved mapped step: no asset to report
        return None
    found: AssetsDefinition | None = job_def.asset_layer.get_assets_def_for_node(step.node_handle)
    return found


def _assets_def_by_op_name(job_def: JobDefinition, step_key: str) -> AssetsDefinition | None:
    """The fallback: the assets definition whose top-level node is named like the step's first segment."""
    node_name = step_key.split(".", 1)[0]
    try:
        assets_defs = list(job_def.asset_layer.asset_graph.assets_defs)
    except Exception:  # this Dagster's asset layer differs too: report the step without assets
        return None
    return next((assets_def for assets_def in assets_defs if assets_def.node_def.name == node_name), None)


def _execution_plan_type() -> type | None:
    try:
        from dagster._core.execution.plan.plan import ExecutionPlan
    except ImportError:
        return None
    return ExecutionPlan


def _asset_layer_type() -> type | None:
    try:
        from dagster._core.definitions.assets.job.asset_layer import AssetLayer
    except ImportError:
        return None
    return AssetLayer


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
        if disabled(ASSET_COMPUTE_WRAPPER):
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
        warn_unavailable(ASSET_COMPUTE_WRAPPER)
        return None


def stop_forkserver() -> bool:
    """Stop this process's multiprocessing fork server, if one runs, so that the next step starts a fresh one.

    Python has no public way to do it: ``multiprocessing.forkserver._forkserver._stop()`` (Python 3.8+, used by
    CPython's own tests). Steps already forked keep running. Probe: the method exists.

    Returns:
        Whether the server was stopped (or none ran); False when the probe failed (one WARNING).
    """
    import multiprocessing.forkserver

    stop = getattr(getattr(multiprocessing.forkserver, "_forkserver", None), "_stop", None)
    if disabled(FORKSERVER_RESTART) or not callable(stop):
        warn_unavailable(FORKSERVER_RESTART)
        return False
    stop()
    return True
