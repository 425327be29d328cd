import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import AssetKey, ExecuteInProcessResult, OpExecutionContext, Permissive, job, op
from demo.assets import ops

from floe_config import load_floe_spec
from floe_config.jobs import OpsJob

DEMO_FLOE_YAML = Path(__file__).resolve().parents[1] / "floe.yaml"

MaterializeBronze = Callable[..., ExecuteInProcessResult]


# floe wraps each ops function in a one-op job and passes the job's args as keyword arguments; these jobs do
# the same so the functions run with a real Dagster context.
@op(config_schema={"retention_days": int})
def vacuum_op(context: OpExecutionContext) -> dict[str, Any]:
    return ops.vacuum(context, **context.op_config)


@op(config_schema=Permissive())
def vacuum_with_args_op(context: OpExecutionContext) -> dict[str, Any]:
    return ops.vacuum(context, **context.op_config)


@job
def maintenance_with_args() -> None:
    vacuum_with_args_op()


@op
def notify_failure_op(context: OpExecutionContext) -> dict[str, Any]:
    return ops.notify_failure(context)


@job
def maintenance() -> None:
    vacuum_op()


@job
def alert() -> None:
    notify_failure_op()


def _run_vacuum(retention_days: int) -> dict[str, Any]:
    result = maintenance.execute_in_process(
        run_config={"ops": {"vacuum_op": {"config": {"retention_days": retention_days}}}}
    )
    assert result.success
    summary: dict[str, Any] = result.output_for_node("vacuum_op")
    return summary


def _days(warehouse: Path, table: str) -> list[date]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [day for (day,) in con.execute(f"SELECT DISTINCT order_date FROM bronze.{table} ORDER BY 1").fetchall()]


def _count(warehouse: Path, table: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        row = con.execute(f"SELECT count(*) FROM bronze.{table}").fetchone()
    assert row is not None
    return int(row[0])


def test_vacuum_deletes_partitions_older_than_retention_days(
    warehouse: Path, materialize_bronze: MaterializeBronze
) -> None:
    for partition_key in ("2024-01-01", "2024-01-05", "2024-01-10"):
        materialize_bronze(partition_key)
    orders_before = _count(warehouse, "raw_orders")
    items_before = _count(warehouse, "raw_order_items")

    summary = _run_vacuum(retention_days=5)

    kept = [date(2024, 1, 5), date(2024, 1, 10)]
    assert _days(warehouse, "raw_orders") == kept
    assert _days(warehouse, "raw_order_items") == kept
    assert summary["latest_partition"] == "2024-01-10"
    assert summary["cutoff"] == "2024-01-05"
    assert summary["retention_days"] == 5
    assert summary["deleted_orders"] == orders_before - _count(warehouse, "raw_orders") > 0
    assert summary["deleted_order_items"] == items_before - _count(warehouse, "raw_order_items") > 0
    assert _count(warehouse, "raw_customers") == 200


def test_vacuum_with_zero_retention_keeps_only_the_latest_partition(
    warehouse: Path, materialize_bronze: MaterializeBronze
) -> None:
    materialize_bronze("2024-01-01")
    materialize_bronze("2024-01-02")

    _run_vacuum(retention_days=0)

    assert _days(warehouse, "raw_orders") == [date(2024, 1, 2)]
    assert _days(warehouse, "raw_order_items") == [date(2024, 1, 2)]


def test_vacuum_on_an_empty_warehouse_deletes_nothing(warehouse: Path) -> None:
    summary = _run_vacuum(retention_days=30)

    assert summary["deleted_orders"] == summary["deleted_order_items"] == 0
    assert summary["latest_partition"] is None
    assert summary["warehouse"] == str(warehouse)


def test_vacuum_refuses_a_negative_retention(warehouse: Path) -> None:
    result = maintenance.execute_in_process(
        run_config={"ops": {"vacuum_op": {"config": {"retention_days": -1}}}}, raise_on_error=False
    )

    assert not result.success
    failure = result.failure_data_for_node("vacuum_op")
    assert failure is not None
    assert "retention_days must be 0 or more" in str(failure.error)


def test_notify_failure_appends_the_failed_run_to_the_alerts_log(warehouse: Path) -> None:
    tags = {"floe/failed_run_id": "abc123", "floe/failed_job": "transform", "floe/failure_message": "stg_orders failed"}

    first = alert.execute_in_process(tags=tags)
    second = alert.execute_in_process(tags={"floe/failed_run_id": "def456"})

    assert first.success
    assert second.success
    log_path = warehouse.parent / "alerts.log"
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [line["failed_run_id"] for line in lines] == ["abc123", "def456"]
    assert lines[0]["failed_job"] == "transform"
    assert lines[0]["message"] == "stg_orders failed"
    assert lines[0]["alert_run_id"] == first.run_id
    assert lines[1]["failed_job"] == "unknown"
    assert first.output_for_node("notify_failure_op")["alerts_log"] == str(log_path)


def test_notify_failure_writes_to_the_configured_alerts_log(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_path = tmp_path / "alerts" / "custom.log"
    monkeypatch.setenv(ops.ALERTS_LOG_ENV, str(log_path))

    assert alert.execute_in_process(tags={"floe/failed_run_id": "xyz"}).success

    assert json.loads(log_path.read_text())["failed_run_id"] == "xyz"


def test_retention_keeps_the_january_backfill_of_the_demo_config_and_reports_what_it_removed(
    warehouse: Path, materialize_bronze: MaterializeBronze
) -> None:
    spec = load_floe_spec(DEMO_FLOE_YAML)
    maintenance_job = spec.orchestration.jobs["maintenance"]
    assert isinstance(maintenance_job, OpsJob)
    backfill = spec.orchestration.backfills["january_2024"]
    # floe.yaml hands the backfill's own partition_range to retention (a YAML anchor): one source of truth.
    assert maintenance_job.args["keep_partitions"] == [{"start": "2024-01-01", "end": "2024-01-31"}]
    assert (backfill.partition_range.start, backfill.partition_range.end) == ("2024-01-01", "2024-01-31")
    for partition_key in ("2024-01-02", "2024-01-31", "2024-02-10", "2024-03-20"):
        materialize_bronze(partition_key)

    args = {**maintenance_job.args, "retention_days": 30}  # the default of ${RETENTION_DAYS:30}
    result = maintenance_with_args.execute_in_process(run_config={"ops": {"vacuum_with_args_op": {"config": args}}})

    assert result.success
    summary = result.output_for_node("vacuum_with_args_op")
    assert summary["cutoff"] == "2024-02-19"
    assert summary["kept_ranges"] == ["2024-01-01...2024-01-31"]
    assert summary["removed_partitions"] == ["2024-02-10"]
    kept = [date(2024, 1, 2), date(2024, 1, 31), date(2024, 3, 20)]
    assert _days(warehouse, "raw_orders") == kept
    assert _days(warehouse, "raw_order_items") == kept
    # What retention removed is an asset event on that partition, which Dagster's UI shows.
    observations = [event.asset_observation_data.asset_observation for event in result.get_asset_observation_events()]
    assert {(o.asset_key, o.partition) for o in observations} == {
        (AssetKey(["bronze", "raw_orders"]), "2024-02-10"),
        (AssetKey(["bronze", "raw_order_items"]), "2024-02-10"),
    }
    orders = next(o for o in observations if o.asset_key == AssetKey(["bronze", "raw_orders"]))
    assert orders.metadata["floe/removed_by"].value == "retention"
    assert orders.metadata["rows_removed"].value == summary["deleted_orders"] > 0
