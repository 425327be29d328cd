"""``job_level``: one span and one lineage run for the whole dbt invocation."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_harness import FIXTURE_ASSETS, DbtRun, make_warehouse, run_dbt

from floe_dbt_observe import ObservabilityOptions
from floe_dbt_observe.link_metadata import OPENLINEAGE_RUN_ID_KEY, SPAN_ID_KEY


@pytest.fixture(scope="session")
def job_level_run(
    parsed_project: Path, tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    warehouse = make_warehouse(tmp_path_factory.mktemp("job_level") / "job_level.duckdb")
    # The invocation's COMPLETE event is built on the emitter thread (facets of every node) when the step ends; on a
    # loaded machine that took longer than the default 2 s flush, and the event was reported pending and dropped.
    # The flush waits only as long as the (in-memory, healthy) backend needs, so a long cap costs nothing here.
    return run_dbt(
        parsed_project,
        warehouse,
        session_monkeypatch,
        observability=ObservabilityOptions(level="job_level", flush_timeout_seconds=120),
    )


def test_job_level_emits_one_span(job_level_run: DbtRun) -> None:
    assert job_level_run.result.success
    assert job_level_run.node_spans() == []
    assert len(job_level_run.step_spans()) == 1


def test_job_level_emits_one_lineage_run_with_all_outputs(job_level_run: DbtRun) -> None:
    undelivered = [line for line in job_level_run.logs() if "not delivered" in line]
    assert [e["eventType"] for e in job_level_run.events] == ["START", "COMPLETE"], undelivered
    assert len({e["run"]["runId"] for e in job_level_run.events}) == 1
    complete = job_level_run.events[1]
    outputs = {dataset["name"].split(".")[-1] for dataset in complete["outputs"]}
    assert outputs == FIXTURE_ASSETS
    inputs = {dataset["name"].split(".", 1)[-1] for dataset in complete["inputs"]}
    assert inputs == {"raw.orders", "raw.customers", "raw.payments"}


def test_job_level_materializations_point_at_the_invocation(job_level_run: DbtRun) -> None:
    (step,) = job_level_run.step_spans()
    run_id = job_level_run.events[0]["run"]["runId"]
    assert step.attributes["openlineage.run_id"] == run_id
    for materialization in job_level_run.result.get_asset_materialization_events():
        metadata = materialization.materialization.metadata
        assert metadata[OPENLINEAGE_RUN_ID_KEY].value == run_id
        assert metadata[SPAN_ID_KEY].value == f"{step.context.span_id:016x}"
