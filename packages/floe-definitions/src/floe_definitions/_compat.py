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
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING

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
