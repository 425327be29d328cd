"""``floe run``'s executor rule: one step runs in process unless a flag or the platform's explicit choice says no."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from floe_config.platform_spec import (
    CeleryExecutor,
    ExecutorConfig,
    InProcessExecutor,
    MultiprocessExecutor,
)
from floe_definitions.execution.executor_choice import choose_executor, step_count

DEFAULT = MultiprocessExecutor(type="multiprocess")


@dg.asset
def alone() -> int:
    return 1


@dg.asset
def downstream(alone: int) -> int:
    return alone + 1


@dg.op
def first() -> int:
    return 1


@dg.op
def second(value: int) -> int:
    return value + 1


@dg.graph_asset
def two_ops() -> int:
    return second(first())


@dg.op(out=dg.DynamicOut())
def fan_out() -> Iterator[dg.DynamicOutput[int]]:
    for index in range(3):
        yield dg.DynamicOutput(index, mapping_key=str(index))


@dg.job
def dynamic_job() -> None:
    fan_out().map(second)


def _asset_job(*assets: dg.AssetsDefinition, selection: str = "*") -> dg.JobDefinition:
    defs = dg.Definitions(assets=list(assets), jobs=[dg.define_asset_job("job", selection=selection)])
    return defs.resolve_job_def("job")


@pytest.fixture(scope="module")
def single() -> dg.JobDefinition:
    return _asset_job(alone, downstream, selection="alone")


@pytest.fixture(scope="module")
def double() -> dg.JobDefinition:
    return _asset_job(alone, downstream)


def test_a_selection_of_one_asset_is_one_step_and_runs_in_process(single: dg.JobDefinition) -> None:
    assert step_count(single) == 1
    choice = choose_executor(single, DEFAULT)
    assert choice.in_process
    assert choice.automatic


def test_two_assets_are_two_steps_and_keep_the_platforms_executor(double: dg.JobDefinition) -> None:
    assert step_count(double) == 2
    assert choose_executor(double, DEFAULT).choice == "platform"


def test_a_graph_backed_asset_counts_its_ops() -> None:
    job = _asset_job(two_ops)
    assert step_count(job) == 2
    assert choose_executor(job, DEFAULT).choice == "platform"


def test_a_job_that_fans_out_at_run_time_has_no_known_step_count() -> None:
    assert step_count(dynamic_job) is None
    assert choose_executor(dynamic_job, DEFAULT).choice == "platform"


@pytest.mark.parametrize(
    "config",
    [
        MultiprocessExecutor(type="multiprocess", max_concurrent=2),
        MultiprocessExecutor(type="multiprocess", start_method="forkserver"),
        MultiprocessExecutor(type="multiprocess", start_method="spawn"),
        CeleryExecutor(type="celery"),
        InProcessExecutor(type="in_process"),
    ],
    ids=["max_concurrent", "forkserver", "spawn", "celery", "in_process"],
)
def test_an_explicit_platform_executor_wins_over_the_single_step_rule(
    single: dg.JobDefinition, config: ExecutorConfig
) -> None:
    choice = choose_executor(single, config)
    assert choice.choice == "platform"
    assert not choice.automatic


def test_platform_executor_flag_wins_over_the_single_step_rule(single: dg.JobDefinition) -> None:
    choice = choose_executor(single, DEFAULT, platform_executor=True)
    assert choice.choice == "platform"


def test_in_process_flag_runs_several_steps_in_process(double: dg.JobDefinition) -> None:
    choice = choose_executor(double, MultiprocessExecutor(type="multiprocess", max_concurrent=2), in_process=True)
    assert choice.in_process
    assert not choice.automatic
