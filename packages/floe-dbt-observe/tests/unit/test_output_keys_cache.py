"""The per-step cache of Dagster's output asset keys, exercised in real Dagster executions (no dbt)."""

# no `from __future__ import annotations`: Dagster inspects the context annotation at runtime

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from floe_dbt_observe.output_keys_cache import cached_output_asset_keys, supported

SPECS = [
    dg.AssetSpec("a", skippable=True),
    dg.AssetSpec("b", deps=["a"], skippable=True),
    dg.AssetSpec("c", deps=["b"], skippable=True),
]


def _step(context: AssetExecutionContext) -> Any:
    return context.op_execution_context._step_execution_context


def test_dagster_has_the_internals_the_cache_relies_on() -> None:
    assert supported()


def test_cached_keys_equal_dagsters_and_are_removed_after_the_step() -> None:
    seen: dict[str, Any] = {}

    @dg.multi_asset(specs=SPECS, can_subset=True)
    def chain(context: AssetExecutionContext) -> Iterator[dg.Output[None]]:
        step = _step(context)
        seen["uncached"] = set(step.get_output_asset_keys())
        with cached_output_asset_keys(context) as installed:
            seen["installed"] = installed
            seen["cached"] = set(step.get_output_asset_keys())
            seen["same_object"] = step.get_output_asset_keys() is step.get_output_asset_keys()
            yield dg.Output(None, output_name="b")
            yield dg.Output(None, output_name="c")
        seen["left_behind"] = "get_output_asset_keys" in vars(step)

    result = dg.materialize([chain], selection=["b", "c"])
    assert result.success
    assert seen["installed"] is True
    assert seen["cached"] == seen["uncached"] == {dg.AssetKey("b"), dg.AssetKey("c")}
    assert seen["same_object"] is True
    assert seen["left_behind"] is False


def test_dagsters_topological_order_check_still_fires_with_the_cache() -> None:
    @dg.multi_asset(specs=SPECS, can_subset=True)
    def backwards(context: AssetExecutionContext) -> Iterator[dg.Output[None]]:
        with cached_output_asset_keys(context):
            yield dg.Output(None, output_name="c")
            yield dg.Output(None, output_name="b")

    result = dg.materialize([backwards], selection=["b", "c"], raise_on_error=False)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert "yielded before its dependency" in str(failure.step_failure_data.error)


def test_a_context_without_dagster_internals_is_left_alone() -> None:
    with cached_output_asset_keys(object()) as installed:
        assert installed is False
