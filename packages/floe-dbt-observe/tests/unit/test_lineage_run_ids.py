"""dbt node lineage run ids are derived from the step attempt, so the run worker can end a lost step's node runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from openlineage.client.event_v2 import RunState

from floe_dbt_observe.lineage_context import ParentRun
from floe_dbt_observe.lineage_run_ids import UNKNOWN_CREATION, StepAttempt, run_created
from floe_dbt_observe.lost_step_lineage import DbtStepLineage, LostStep, NodeRecord, lost_step_events, step_node_ids

CREATED = datetime(2026, 12, 7, 19, 30, 1, 123456, tzinfo=UTC)
RUN_ID = "6b0f7f6e-3c1e-4c55-9d2a-0d8d1f7b2c11"
MANIFEST: dict[str, Any] = {
    "metadata": {"project_name": "shop", "adapter_type": "duckdb"},
    "nodes": {
        "model.shop.stg": {"name": "stg", "resource_type": "model", "database": "dev", "schema": "main"},
        "model.shop.mart": {
            "name": "mart",
            "resource_type": "model",
            "database": "dev",
            "schema": "main",
            "depends_on": {"nodes": ["model.shop.stg"]},
        },
        "model.shop.other": {"name": "other", "resource_type": "model", "database": "dev", "schema": "main"},
        "test.shop.not_null_stg_id.1": {
            "name": "not_null_stg_id",
            "resource_type": "test",
            "attached_node": "model.shop.stg",
            "depends_on": {"nodes": ["model.shop.stg"]},
        },
        "test.shop.unique_mart_id.2": {
            "name": "unique_mart_id",
            "resource_type": "test",
            "attached_node": "model.shop.mart",
            "depends_on": {"nodes": ["model.shop.mart"]},
        },
        "test.shop.singular_mart.3": {
            "name": "singular_mart",
            "resource_type": "test",
            "depends_on": {"nodes": ["model.shop.mart"]},
        },
        "test.shop.singular_both.5": {
            "name": "singular_both",
            "resource_type": "test",
            "depends_on": {"nodes": ["model.shop.stg", "model.shop.mart"]},
        },
        "test.shop.not_null_other_id.4": {
            "name": "not_null_other_id",
            "resource_type": "test",
            "attached_node": "model.shop.other",
            "depends_on": {"nodes": ["model.shop.other"]},
        },
    },
}
STEP_KEYS = {"model.shop.stg": "stg", "model.shop.mart": "mart"}
CHECKS = {("stg", "not_null_stg_id"), ("mart", "unique_mart_id"), ("mart", "singular_mart")}


def _attempt(**changes: Any) -> StepAttempt:
    values: dict[str, Any] = {"dagster_run_id": RUN_ID, "step_key": "shop_dbt", "attempt": 0, "run_created": CREATED}
    return StepAttempt(**{**values, **changes})


def test_the_same_step_attempt_and_node_give_the_same_run_id_in_any_process() -> None:
    assert _attempt().node_run_id("model.shop.stg") == _attempt().node_run_id("model.shop.stg")
    # a naive time is UTC (as Dagster stores it); another zone's same instant, or sub-millisecond noise, is the same
    naive = CREATED.replace(tzinfo=None)
    paris = CREATED.astimezone(timezone(timedelta(hours=1)))
    same = {_attempt(run_created=t).node_run_id("model.shop.stg") for t in (naive, paris, CREATED)}
    assert same == {_attempt(run_created=CREATED.replace(microsecond=123999)).node_run_id("model.shop.stg")}


def test_run_ids_are_uuidv7_at_the_runs_creation() -> None:
    found = uuid.UUID(_attempt().node_run_id("model.shop.stg"))
    assert found.version == 7
    assert found.int >> 80 == int(CREATED.timestamp() * 1000)


@pytest.mark.parametrize(
    "changes",
    [
        {"attempt": 1},
        {"step_key": "shop_dbt_2"},
        {"dagster_run_id": "0c6f1c36-54a4-4df3-a7f3-63c5f6f1e7b9"},
        {"run_created": CREATED + timedelta(seconds=1)},
    ],
)
def test_another_attempt_step_or_run_gives_other_run_ids(changes: dict[str, Any]) -> None:
    assert _attempt(**changes).node_run_id("model.shop.stg") != _attempt().node_run_id("model.shop.stg")


def test_each_node_and_the_invocation_get_their_own_run_id() -> None:
    ids = {_attempt().node_run_id(unique_id) for unique_id in MANIFEST["nodes"]}
    assert len(ids) == len(MANIFEST["nodes"])
    assert _attempt().invocation_run_id() not in ids


def test_an_unreadable_run_record_gives_the_fixed_instant() -> None:
    class Broken:
        def get_run_record_by_id(self, run_id: str) -> None:
            raise RuntimeError("storage down")

    assert run_created(Broken(), RUN_ID) == UNKNOWN_CREATION


def test_a_step_runs_its_models_their_selected_checks_and_singular_tests_on_them() -> None:
    found = step_node_ids(MANIFEST, STEP_KEYS, CHECKS)
    assert sorted(found) == [
        "model.shop.mart",
        "model.shop.stg",
        "test.shop.not_null_stg_id.1",
        "test.shop.singular_both.5",  # no check (two models, no attached node): dbt runs it with them
        "test.shop.singular_mart.3",  # a singular test of one model is a check on it, as dagster-dbt makes it
        "test.shop.unique_mart_id.2",
    ]
    # a check not selected in the step is not run by it (dagster-dbt turns indirect selection off)
    assert "test.shop.unique_mart_id.2" not in step_node_ids(MANIFEST, STEP_KEYS, {("stg", "not_null_stg_id")})


def _lost(records: list[NodeRecord], level: Any = "per_model") -> list[Any]:
    lineage = DbtStepLineage(
        manifest=MANIFEST, job_namespace="dbt", dataset_namespace="duckdb://dev.duckdb", level=level
    )
    step = LostStep(
        attempt=_attempt(),
        parent=ParentRun(run_id=RUN_ID, job_name="nightly", namespace="dbt"),
        asset_keys=STEP_KEYS,
        check_names=CHECKS,
        records=records,
        message="the Celery worker w1@host took step 'shop_dbt' and has not answered for 6 s",
        event_time="2026-12-07T19:31:00+00:00",
    )
    return lost_step_events(lineage, step)


def test_a_lost_step_completes_held_models_leaves_ended_tests_and_aborts_the_rest() -> None:
    attempt = _attempt()
    records = [
        NodeRecord(attempt.node_run_id("model.shop.stg"), materialized=True, event_time="2026-12-07T19:30:05+00:00"),
        NodeRecord(attempt.node_run_id("test.shop.not_null_stg_id.1"), False, "2026-12-07T19:30:06+00:00"),
    ]
    events = {event.job.name: event for event in _lost(records)}
    assert {name: event.eventType for name, event in events.items()} == {
        "dev.main.shop.stg": RunState.COMPLETE,  # materialized: its COMPLETE was held until dbt exited, never sent
        "dev.main.shop.mart": RunState.ABORT,
        "test.shop.unique_mart_id.2": RunState.ABORT,
        "test.shop.singular_mart.3": RunState.ABORT,
        "test.shop.singular_both.5": RunState.ABORT,
    }  # the test that ran sent its own terminal event: nothing more
    assert events["dev.main.shop.stg"].eventTime == "2026-12-07T19:30:05+00:00"
    mart = events["dev.main.shop.mart"]
    assert mart.run.runId == attempt.node_run_id("model.shop.mart")
    assert mart.job.namespace == "dbt"
    assert mart.run.facets["parent"].run.runId == RUN_ID
    assert "w1@host" in mart.run.facets["errorMessage"].message
    assert mart.run.facets["floe_dbt_node"].status == "cancelled"


def test_a_lost_step_fails_a_failed_test_whose_fail_waited_for_dbts_summary() -> None:
    attempt = _attempt()
    test_run = attempt.node_run_id("test.shop.not_null_stg_id.1")
    records = [
        NodeRecord(attempt.node_run_id("model.shop.stg"), True, "2026-12-07T19:30:05+00:00"),
        NodeRecord(test_run, False, "2026-12-07T19:30:06+00:00", failed_check=True),
    ]
    (failed,) = [event for event in _lost(records) if event.run.runId == test_run]
    assert failed.eventType == RunState.FAIL
    assert failed.run.facets["floe_dbt_node"].status == "fail"
    assert "w1@host" in failed.run.facets["errorMessage"].message


def test_a_lost_job_level_step_aborts_its_one_run() -> None:
    (event,) = _lost([], level="job_level")
    assert (event.run.runId, event.eventType, event.job.name) == (
        _attempt().invocation_run_id(),
        RunState.ABORT,
        "shop.shop_dbt",
    )
