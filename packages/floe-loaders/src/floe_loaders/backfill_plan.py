"""What a configured backfill would do, without touching the project's instance: its runs, assets and partitions.

``floe backfill --dry-run`` prints this plan. It is the plan of Dagster's own asset backfill daemon
(``_compat.daemon_backfill_runs``: the daemon's planning, iterated on a throwaway instance as if every run
succeeded): unpartitioned assets in runs of their own, dependencies in the daemon's order, partitions split by the
assets' backfill policies, every run of Dagster's ``__ASSET_JOB``. Without that capability, floe's own split: a
single-run policy gives one run for the whole range, a multi-run policy runs of at most ``max_partitions_per_run``
consecutive partitions, no policy one run per partition; with several policies the most restrictive one decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dagster as dg

from floe_config.integration import OrchestrationConfig
from floe_loaders import _compat
from floe_loaders.backfills import resolve_backfill
from floe_loaders.locations import Locate, default_locate


@dataclass(frozen=True)
class PlannedRun:
    """One run of a backfill.

    Attributes:
        assets: Keys of the run's assets, as ``a/b``.
        partition_keys: The run's partitions, in order; empty for a run of unpartitioned assets.
    """

    assets: tuple[str, ...]
    partition_keys: tuple[str, ...]


@dataclass(frozen=True)
class BackfillPlan:
    """The runs a backfill would create.

    Attributes:
        name: The backfill's name in floe.yaml.
        job: The floe job whose assets it backfills.
        run_job: The Dagster job its runs are runs of (the daemon's ``__ASSET_JOB``; ``job`` in the fallback plan).
        assets: Keys of the job's assets, as ``a/b``.
        partition_keys: Every partition of the range, in order.
        runs: Each run's assets and partitions, in the order the daemon requests them.
        policy: How the runs were planned, in words.
    """

    name: str
    job: str
    run_job: str
    assets: tuple[str, ...]
    partition_keys: tuple[str, ...]
    runs: tuple[PlannedRun, ...]
    policy: str


def plan_backfill(
    defs: dg.Definitions,
    name: str,
    orchestration: OrchestrationConfig,
    *,
    locate: Locate = default_locate,
) -> BackfillPlan:
    """Compute the runs ``launch_backfill`` would have Dagster's daemon create, on no instance of the project's.

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
    selected = sorted(job.asset_layer.selected_asset_keys)
    assets = tuple(key.to_user_string() for key in selected)
    daemon_runs = _compat.daemon_backfill_runs(defs, list(keys), selected)
    if daemon_runs is not None:
        position = {key: index for index, key in enumerate(keys)}
        runs = tuple(
            PlannedRun(
                assets=tuple(sorted(key.to_user_string() for key in run.asset_keys)),
                partition_keys=tuple(keys[position[run.partition_range[0]] : position[run.partition_range[1]] + 1])
                if run.partition_range is not None
                else (),
            )
            for run in daemon_runs
        )
        return BackfillPlan(
            name=name,
            job=config.job,
            run_job=_compat.IMPLICIT_ASSET_JOB,
            assets=assets,
            partition_keys=tuple(keys),
            runs=runs,
            policy="as Dagster's asset backfill daemon plans them",
        )
    asset_graph = defs.resolve_asset_graph()
    size, policy = _run_size(asset_graph.get(key).backfill_policy for key in selected)
    chunks = [tuple(keys[start : start + size]) for start in range(0, len(keys), size)] if keys else []
    return BackfillPlan(
        name=name,
        job=config.job,
        run_job=config.job,
        assets=assets,
        partition_keys=tuple(keys),
        runs=tuple(PlannedRun(assets=assets, partition_keys=chunk) for chunk in chunks),
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
