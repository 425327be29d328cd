"""Python assets put their step's span and lineage ids on their materializations, whatever their shape."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import dagster as dg
import pytest

from floe_dbt_observe.tracing import dagster_step_span_context
from floe_definitions import _compat
from floe_definitions.telemetry.asset_links import link_python_assets
from floe_definitions.telemetry.run_trace import step_lineage_run_id


@dg.asset
def returns_result() -> dg.MaterializeResult[None]:
    return dg.MaterializeResult(metadata={"own": 1})


@dg.asset
def yields_output(context) -> Iterator[dg.Output[int]]:  # type: ignore[no-untyped-def]  # a string hint breaks @asset
    context.log.info("generator asset")
    yield dg.Output(3, metadata={"own": 2})


@dg.asset(kinds={"dbt"})
def dbt_like() -> None:
    return None


def _materializations(assets: list[dg.AssetsDefinition]) -> tuple[str, dict[str, dict[str, object]]]:
    result = dg.materialize(assets)
    found = {
        event.asset_key.to_user_string(): {key: value.value for key, value in event.materialization.metadata.items()}
        for event in result.get_asset_materialization_events()
    }
    return result.run_id, found


@pytest.mark.parametrize("asset", [returns_result, yields_output], ids=["returns", "yields"])
def test_materialization_carries_the_ids_the_executor_derives(asset: dg.AssetsDefinition) -> None:
    (linked,) = link_python_assets([asset], traces=True, lineage_namespace="ns", pipeline="shop")
    run_id, found = _materializations([linked])
    metadata = found[asset.key.to_user_string()]
    step_key = asset.op.name
    span = dagster_step_span_context(run_id, step_key, 0)
    assert metadata["floe/trace_id"] == f"{span.trace_id:032x}"
    assert metadata["floe/span_id"] == f"{span.span_id:016x}"
    assert metadata["floe/openlineage_run_id"] == step_lineage_run_id(run_id, step_key, 0)
    assert metadata["floe/openlineage_job"] == f"ns/shop.{asset.key.to_user_string()}"
    assert "own" in metadata


def test_keys_and_op_names_do_not_change() -> None:
    (linked,) = link_python_assets([yields_output], traces=True, lineage_namespace=None, pipeline="shop")
    assert linked.keys == yields_output.keys
    assert linked.op.name == yields_output.op.name
    assert linked is not yields_output


def test_without_lineage_only_span_ids_are_added() -> None:
    (linked,) = link_python_assets([returns_result], traces=True, lineage_namespace=None, pipeline="shop")
    _, found = _materializations([linked])
    assert "floe/span_id" in found["returns_result"]
    assert "floe/openlineage_run_id" not in found["returns_result"]


def test_dbt_assets_and_telemetry_off_are_left_alone() -> None:
    assert link_python_assets([dbt_like], traces=True, lineage_namespace="ns", pipeline="shop") == [dbt_like]
    assert link_python_assets([returns_result], traces=False, lineage_namespace=None, pipeline="shop") == [
        returns_result
    ]


def test_unsupported_dagster_internals_fall_back_to_the_unchanged_asset_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(_compat.DISABLE_ENV, "asset_compute_wrapper")
    _compat.warn_unavailable.cache_clear()
    with caplog.at_level(logging.WARNING, logger="floe_definitions"):
        first = link_python_assets([returns_result], traces=True, lineage_namespace="ns", pipeline="shop")
        second = link_python_assets([yields_output], traces=True, lineage_namespace="ns", pipeline="shop")
    _compat.warn_unavailable.cache_clear()
    assert first == [returns_result]
    assert second == [yields_output]
    warnings = [r for r in caplog.records if "asset_compute_wrapper is unavailable" in r.getMessage()]
    assert len(warnings) == 1
