"""Partition keys reach dbt as --vars; selecting one asset of a split project runs only that node."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest
from dbt_harness import DbtRun, run_dbt

from floe_dbt_observe import DefinitionOptions


@pytest.fixture(scope="session")
def subset_run(success_run: DbtRun, session_monkeypatch: pytest.MonkeyPatch) -> DbtRun:
    return run_dbt(
        success_run.project_dir,
        success_run.warehouse,
        session_monkeypatch,
        definitions=DefinitionOptions(split_by="group"),
        selection=[dg.AssetKey("customer_orders")],
    )


def test_partition_window_reaches_dbt_as_vars(partitioned_run: DbtRun) -> None:
    assert partitioned_run.result.success
    (step,) = partitioned_run.step_spans()
    command = str(step.attributes["dbt.command"])
    dbt_vars = json.loads(command.split("--vars ", 1)[1])
    assert dbt_vars == {
        "dagster_partition_key": "2024-01-02",
        "dagster_partition_start": "2024-01-02T00:00:00+00:00",
        "dagster_partition_end": "2024-01-03T00:00:00+00:00",
    }


def test_node_runs_of_a_partition_carry_its_time_window_as_nominal_time(partitioned_run: DbtRun) -> None:
    events = partitioned_run.events_for("stg_orders")
    assert [event["eventType"] for event in events] == ["START", "COMPLETE"]
    for event in events:
        nominal = event["run"]["facets"]["nominalTime"]
        assert nominal["nominalStartTime"] == "2024-01-02T00:00:00+00:00"
        assert nominal["nominalEndTime"] == "2024-01-03T00:00:00+00:00"


def test_incremental_filter_sees_only_the_partition(partitioned_run: DbtRun) -> None:
    con = duckdb.connect(str(partitioned_run.warehouse), read_only=True)
    try:
        (count,) = con.execute("select count(*) from main.stg_orders").fetchone() or (0,)
    finally:
        con.close()
    assert count == 2  # orders 2 and 3 were placed on 2024-01-02


def test_partitioned_run_materializes_only_the_selected_asset(partitioned_run: DbtRun) -> None:
    materialized = partitioned_run.materialized()
    assert materialized == ["stg_orders"]
    assert {
        s.attributes["dbt.node.name"]
        for s in partitioned_run.node_spans()
        if s.attributes["dbt.node.resource_type"] != "test"
    } == {"stg_orders"}


def test_selecting_one_asset_of_a_split_project_runs_one_dbt_invocation(subset_run: DbtRun) -> None:
    assert subset_run.result.success
    assert len(subset_run.step_spans()) == 1
    models = {
        s.attributes["dbt.node.name"]
        for s in subset_run.node_spans()
        if s.attributes["dbt.node.resource_type"] == "model"
    }
    assert models == {"customer_orders"}
    materialized = subset_run.materialized()
    assert materialized == ["customer_orders"]
    assert {c.check_name for c in subset_run.result.get_asset_check_evaluations()} == {
        "not_null_customer_orders_customer_id",
        "unique_customer_orders_customer_id",
    }
