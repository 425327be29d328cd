from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest
from dagster import instance_for_test

from floe_config.backfills import BackfillConfig
from floe_loaders import build_orchestration, launch_backfill
from floe_loaders.backfills import BACKFILL_NAME_TAG
from floe_loaders.errors import BackfillError, UnknownReferenceError
from floe_test_support.dagster_internals import (
    BulkActionStatus,
    InProcessCodeLocationOrigin,
    InProcessWorkspaceLoadTarget,
    LoadableTargetOrigin,
    create_test_daemon_workspace_context,
    execute_backfill_iteration,
)

DEFS_FILE = Path(__file__).parents[1] / "fixtures" / "sample_project" / "backfill_defs.py"
RAW_DEFS_FILE = DEFS_FILE.with_name("raw_backfill_defs.py")
ORDERS = dg.AssetKey(["bronze", "orders_history"])


@pytest.fixture
def fast_tmp(tmp_path: Path) -> Iterator[Path]:
    """A temp dir in RAM when there is one: the backfill's SQLite storage commits a lot."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=shm) as directory:
        yield Path(directory)


def _load_defs_module(path: Path = DEFS_FILE) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"floe_loaders_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_batch_size_becomes_the_assets_backfill_policy() -> None:
    module = _load_defs_module()
    raw_orders = module.defs.resolve_assets_def(ORDERS)
    assert raw_orders.backfill_policy == dg.BackfillPolicy.multi_run(10)


def test_range_outside_the_partitions_is_an_error_before_launch(tmp_path: Path) -> None:
    module = _load_defs_module()
    # floe.yaml edited after the code location was built: the launch re-checks the range
    edited = module.SPEC.orchestration.model_copy(
        update={
            "backfills": {
                "too_far": BackfillConfig(
                    job="seed_orders", partition_range={"start": "2024-12-01", "end": "2025-01-31"}
                )
            }
        }
    )
    with instance_for_test(temp_dir=str(tmp_path), set_dagster_home=False) as instance:
        with pytest.raises(BackfillError, match="'2025-01-31' is not a partition") as info:
            launch_backfill(module.defs, instance, "too_far", edited)
        assert info.value.path == "orchestration.backfills.too_far.partition_range.end"
        assert instance.get_backfills() == []


def test_unknown_backfill_name(tmp_path: Path) -> None:
    module = _load_defs_module()
    with instance_for_test(temp_dir=str(tmp_path), set_dagster_home=False) as instance:
        with pytest.raises(UnknownReferenceError, match="unknown backfill 'nope'"):
            launch_backfill(module.defs, instance, "nope", module.SPEC.orchestration)


def test_backfill_range_is_checked_when_building(make_spec, sample_dir: Path) -> None:
    spec = make_spec(
        partitions={"daily": {"type": "daily", "start": "2024-01-01", "end": "2024-12-31"}},
        assets={"bronze/*": {"partitions": "daily"}},
        jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}},
        backfills={"b": {"job": "seed", "partition_range": {"start": "2023-12-01", "end": "2024-01-10"}}},
    )
    with pytest.raises(BackfillError, match="start '2023-12-01' is not a partition"):
        build_orchestration(spec, sample_dir)


def test_120_daily_partitions_in_batches_of_10_all_materialize(fast_tmp: Path) -> None:
    module = _load_defs_module()
    with instance_for_test(
        temp_dir=str(fast_tmp), set_dagster_home=False, synchronous_run_launcher=True, synchronous_run_coordinator=True
    ) as instance:
        backfill_id = launch_backfill(module.defs, instance, "history", module.SPEC.orchestration)
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None
        assert backfill.tags[BACKFILL_NAME_TAG] == "history"
        assert backfill.title == "history"  # the backfill page's title reads the floe.yaml name, not the id
        origin = LoadableTargetOrigin(
            executable_path=sys.executable,
            python_file=str(DEFS_FILE),
            attribute="defs",
            working_directory=str(DEFS_FILE.parent),
        )
        target = InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name="shop"))
        logger = logging.getLogger("floe_loaders.test_backfill")
        with create_test_daemon_workspace_context(target, instance) as workspace:
            for _ in range(10):  # the daemon's loop, one iteration at a time
                list(execute_backfill_iteration(workspace, logger))
                backfill = instance.get_backfill(backfill_id)
                assert backfill is not None
                if backfill.status != BulkActionStatus.REQUESTED:
                    break
        assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS
        materialized = instance.get_materialized_partitions(ORDERS)
        assert len(materialized) == 120
        assert min(materialized) == "2024-01-01"
        assert max(materialized) == "2024-04-29"
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        assert len(runs) == 12
        assert all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs)
        ranges = sorted(
            (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"])
            for run in runs
        )
        assert ranges[0] == ("2024-01-01", "2024-01-10")
        assert ranges[-1] == ("2024-04-20", "2024-04-29")


def test_plan_splits_the_range_by_the_assets_backfill_policy_without_an_instance() -> None:
    from floe_loaders.backfill_plan import plan_backfill

    module = _load_defs_module()
    name = next(iter(module.SPEC.orchestration.backfills))
    config = module.SPEC.orchestration.backfills[name]
    plan = plan_backfill(module.defs, name, module.SPEC.orchestration)
    assert plan.job == config.job
    assert plan.partition_keys[0] == config.partition_range.start
    assert plan.partition_keys[-1] == config.partition_range.end
    assert all(len(run.partition_keys) <= 10 for run in plan.runs)
    assert [key for run in plan.runs for key in run.partition_keys] == list(plan.partition_keys)
    assert plan.run_job == "__ASSET_JOB"
    assert plan.policy == "as Dagster's asset backfill daemon plans them"


def test_the_fallback_plan_splits_the_range_by_the_backfill_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    from floe_loaders.backfill_plan import plan_backfill

    monkeypatch.setenv("FLOE_COMPAT_DISABLE", "backfill_daemon_plan")
    module = _load_defs_module()
    plan = plan_backfill(module.defs, "history", module.SPEC.orchestration)
    assert plan.run_job == "seed_orders"
    assert [len(run.partition_keys) for run in plan.runs] == [10] * 12
    assert plan.policy == "multi_run, at most 10 per run"


def test_the_dry_run_plan_is_the_run_list_the_daemon_executes(fast_tmp: Path) -> None:
    from floe_loaders.backfill_plan import plan_backfill

    module = _load_defs_module(RAW_DEFS_FILE)
    plan = plan_backfill(module.defs, "january", module.SPEC.orchestration)
    with instance_for_test(
        temp_dir=str(fast_tmp), set_dagster_home=False, synchronous_run_launcher=True, synchronous_run_coordinator=True
    ) as instance:
        backfill_id = launch_backfill(module.defs, instance, "january", module.SPEC.orchestration)
        origin = LoadableTargetOrigin(
            executable_path=sys.executable,
            python_file=str(RAW_DEFS_FILE),
            attribute="defs",
            working_directory=str(RAW_DEFS_FILE.parent),
        )
        target = InProcessWorkspaceLoadTarget(InProcessCodeLocationOrigin(origin, location_name="shop"))
        with create_test_daemon_workspace_context(target, instance) as workspace:
            for _ in range(10):
                list(execute_backfill_iteration(workspace, logging.getLogger("floe_loaders.test_backfill")))
                backfill = instance.get_backfill(backfill_id)
                assert backfill is not None
                if backfill.status != BulkActionStatus.REQUESTED:
                    break
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))

    executed = sorted(
        (
            tuple(sorted(key.to_user_string() for key in run.asset_selection or ())),
            run.tags.get("dagster/asset_partition_range_start", run.tags.get("dagster/partition", "")),
            run.tags.get("dagster/asset_partition_range_end", run.tags.get("dagster/partition", "")),
        )
        for run in runs
    )
    planned = sorted(
        (
            run.assets,
            run.partition_keys[0] if run.partition_keys else "",
            run.partition_keys[-1] if run.partition_keys else "",
        )
        for run in plan.runs
    )
    assert {run.job_name for run in runs} == {plan.run_job}
    assert planned == executed
    assert planned[0] == (("raw/customers", "raw/products"), "", "")
    assert len(planned) == 5
