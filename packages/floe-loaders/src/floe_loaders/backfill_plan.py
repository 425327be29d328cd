"""What a configured backfill would do, without touching an instance: its job, partitions and runs.

``floe backfill --dry-run`` prints this plan. The runs follow the selected assets' backfill policies the way
Dagster's backfill daemon splits partitions: a single-run policy gives one run for the whole range, a multi-run
policy runs of at most ``max_partitions_per_run`` consecutive partitions, no policy one run per partition; with
several policies the most restrictive one decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from floe_config.integration import OrchestrationConfig
from floe_loaders.backfills import resolve_backfill
from floe_loaders.locations import Locate, default_locate


@dataclass(frozen=True)
class BackfillPlan:
    """The runs a backfill would create.

    Attributes:
        name: The backfill's name in floe.yaml.
        job: The job it backfills.
        assets: Keys of the job's assets, as ``a/b``.
        partition_keys: Every partition of the range, in order.
        runs: Each run's partition keys, in order.
        policy: The backfill policy that decides the runs, in words.
    """

    name: str
    job: str
    assets: tuple[str, ...]
    partition_keys: tuple[str, ...]
    runs: tuple[tuple[str, ...], ...]
    policy: str


def plan_backfill(
    defs: dg.Definitions,
    name: str,
    orchestration: OrchestrationConfig,
    *,
    locate: Locate = default_locate,
) -> BackfillPlan:
    """Compute the runs ``launch_backfill`` would have Dagster create, without an instance.

    Args:
        defs: The code location's definitions.
        name: Name of an ``orchestration.backfills`` entry.
        orchestration: floe.yaml's orchestration section.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The plan.

    Raises:
        UnknownReferenceError: No backfill or job of that name.
        BackfillError: The job is not partitioned, or the range is outside its partitions.
    """
    resolved = resolve_backfill(defs, name, orchestration, locate=locate)
    config, job, keys = resolved.config, resolved.job, resolved.partition_keys
    asset_graph = defs.resolve_asset_graph()
    selected = sorted(job.asset_layer.selected_asset_keys)
    size, policy = _run_size(asset_graph.get(key).backfill_policy for key in selected)
    runs = tuple(tuple(keys[start : start + size]) for start in range(0, len(keys), size)) if keys else ()
    return BackfillPlan(
        name=name,
        job=config.job,
        assets=tuple(key.to_user_string() for key in selected),
        partition_keys=tuple(keys),
        runs=runs,
        policy=policy,
    )


def _run_size(policies: Iterable[dg.BackfillPolicy | None]) -> tuple[int, str]:
    """Return the partitions per run and the policy deciding it, in words."""
    size: int | None = None
    described = "single run"
    for policy in policies:
        if policy is None:
            return 1, "no backfill policy: one run per partition"
        limit = policy.max_partitions_per_run
        if limit is not None and (size is None or limit < size):
            size, described = limit, f"multi_run, at most {limit} per run"
    if size is None:
        return 2**31, "single_run: one run for the whole range"
    return size, described
