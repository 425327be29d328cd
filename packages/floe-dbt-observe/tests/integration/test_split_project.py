"""A project split into several definitions (one per group) keeps its dependencies and subsetting.

Parts: ``seeds`` (country_codes), ``silver`` (the four staging models), ``gold`` (customer_orders),
``reporting`` (country_revenue, grouped by its dbt meta) and ``snapshots`` (orders_snapshot).
reporting reads gold and silver, gold reads silver, silver reads seeds; each part is one Dagster
step and one dbt invocation.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
from dbt_harness import DbtRun, make_warehouse, run_dbt
from opentelemetry.sdk.trace import ReadableSpan

from floe_dbt_observe import DefinitionOptions

SILVER = {"stg_orders", "stg_customers", "stg_payments", "stg_countries"}
ALL_ASSETS = SILVER | {"customer_orders", "country_revenue", "country_codes", "orders_snapshot"}


@pytest.fixture(scope="session")
def split_run(
    parsed_project: Path, tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    """A whole build of the project split by group."""
    warehouse = make_warehouse(tmp_path_factory.mktemp("split") / "split.duckdb")
    return run_dbt(parsed_project, warehouse, session_monkeypatch, definitions=DefinitionOptions(split_by="group"))


@pytest.fixture(scope="session")
def split_subset_run(split_run: DbtRun, session_monkeypatch: pytest.MonkeyPatch) -> DbtRun:
    """One silver model and one gold model of the split project, selected together."""
    return run_dbt(
        split_run.project_dir,
        split_run.warehouse,
        session_monkeypatch,
        definitions=DefinitionOptions(split_by="group"),
        selection=[dg.AssetKey("stg_orders"), dg.AssetKey("customer_orders")],
    )


def _steps_by_op(run: DbtRun) -> dict[str, ReadableSpan]:
    return {str(span.attributes["dagster.op"]): span for span in run.step_spans()}


def _models_by_op(run: DbtRun) -> dict[str, set[str]]:
    """dbt models (and seeds, snapshots) executed under each step span, i.e. in each dbt invocation."""
    op_by_span_id = {span.context.span_id: op for op, span in _steps_by_op(run).items()}
    executed: dict[str, set[str]] = {}
    for span in run.node_spans():
        if span.attributes["dbt.node.resource_type"] == "test":
            continue
        assert span.parent is not None
        executed.setdefault(op_by_span_id[span.parent.span_id], set()).add(str(span.attributes["dbt.node.name"]))
    return executed


def test_the_split_project_has_one_definition_per_group_and_cross_definition_deps(split_run: DbtRun) -> None:
    assert len(split_run.defs) == 5
    graph = dg.Definitions(assets=split_run.defs).resolve_asset_graph()
    parents = graph.get(dg.AssetKey("customer_orders")).parent_keys
    assert parents == {dg.AssetKey("stg_orders"), dg.AssetKey("stg_payments"), dg.AssetKey("stg_customers")}
    assert graph.get(dg.AssetKey("stg_countries")).parent_keys == {dg.AssetKey("country_codes")}


def test_a_whole_split_build_materializes_every_asset_once(split_run: DbtRun) -> None:
    assert split_run.result.success
    materialized = Counter(split_run.materialized())
    assert set(materialized) == ALL_ASSETS
    assert set(materialized.values()) == {1}
    checks = Counter(e.check_name for e in split_run.result.get_asset_check_evaluations())
    assert len(checks) == 8  # as unsplit: the source test is not an asset check
    assert set(checks.values()) == {1}


def test_each_part_runs_only_its_own_nodes_in_one_dbt_invocation(split_run: DbtRun) -> None:
    executed = _models_by_op(split_run)
    assert len(split_run.step_spans()) == 5
    assert executed == {
        "floe_fixture_dbt_seeds": {"country_codes"},
        "floe_fixture_dbt_silver": SILVER,
        "floe_fixture_dbt_gold": {"customer_orders"},
        "floe_fixture_dbt_reporting": {"country_revenue"},
        "floe_fixture_dbt_snapshots": {"orders_snapshot"},
    }


def test_parts_run_after_the_parts_they_depend_on(split_run: DbtRun) -> None:
    steps = _steps_by_op(split_run)
    order = ["floe_fixture_dbt_seeds", "floe_fixture_dbt_silver", "floe_fixture_dbt_gold", "floe_fixture_dbt_reporting"]
    for upstream, downstream in itertools.pairwise(order):
        upstream_end = steps[upstream].end_time
        assert upstream_end is not None
        assert upstream_end <= steps[downstream].start_time


def test_a_subset_across_parts_runs_only_the_selected_models_one_invocation_per_part(
    split_subset_run: DbtRun,
) -> None:
    assert split_subset_run.result.success
    assert _models_by_op(split_subset_run) == {
        "floe_fixture_dbt_silver": {"stg_orders"},
        "floe_fixture_dbt_gold": {"customer_orders"},
    }
    materialized = split_subset_run.materialized()
    assert sorted(materialized) == ["customer_orders", "stg_orders"]
    steps = _steps_by_op(split_subset_run)
    silver_end = steps["floe_fixture_dbt_silver"].end_time
    assert silver_end is not None
    assert silver_end <= steps["floe_fixture_dbt_gold"].start_time
