"""Every private Dagster API floe-loaders uses, each behind a probe.

Nothing else in the package imports ``dagster._…``. When a probe fails (an upgrade moved the internal, or
``FLOE_COMPAT_DISABLE`` names the capability), floe takes the fallback below and logs one WARNING per process
naming the capability and that path. No probe changes the asset graph, job names, op names or step keys.

Capabilities:

- ``unresolved_definitions``: recognise module-level ``define_asset_job(...)`` and
  ``build_schedule_from_partitioned_job(...)`` objects in asset modules (``discovery.py``). Dagster exports
  neither ``UnresolvedAssetJobDefinition`` nor ``UnresolvedPartitionedAssetScheduleDefinition``. Fallback: the
  classes are recognised by their name and module (duck-typed), which is what ``Definitions`` accepts anyway.
- ``asset_backfill``: launch an asset backfill with ``PartitionBackfill.from_asset_partitions`` and
  ``make_new_backfill_id`` (``backfills.py``); Dagster has no public API that creates one. Fallback: none;
  ``launch_backfill`` raises a ``BackfillError`` that says to use ``dagster job backfill``.

``BaseAssetGraph`` and the two unresolved classes are also re-exported for type annotations only (never imported
at run time through this path).
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph as BaseAssetGraph
    from dagster._core.definitions.partitions.partitioned_schedule import (
        UnresolvedPartitionedAssetScheduleDefinition as UnresolvedPartitionedAssetScheduleDefinition,
    )
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition as UnresolvedAssetJobDefinition,
    )


logger = logging.getLogger("floe_loaders")
PACKAGE = "floe-loaders"
"""The package a WARNING names."""
PROBED = "Dagster"
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


UNRESOLVED_DEFINITIONS = Capability(
    "unresolved_definitions",
    "asset jobs and partitioned schedules in asset modules recognised by class name",
)
ASSET_BACKFILL = Capability(
    "asset_backfill",
    "no launcher: `floe backfill` reports an error; launch the backfill with `dagster job backfill`",
)
CAPABILITIES = (UNRESOLVED_DEFINITIONS, ASSET_BACKFILL)


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
