"""A real run of the fixture project: Python asset -> dbt staging -> dbt mart, observed as one trace."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from types import ModuleType
from typing import Any

import pytest

from floe_definitions.telemetry.run_trace import run_span_id, run_trace_id


def _by_name(spans: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        found.setdefault(span["name"], []).append(span)
    return found


def _dbt_model_span(spans: list[dict[str, Any]], model: str) -> dict[str, Any]:
    matches = [s for s in spans if s["attributes"].get("dbt.node.unique_id", "").endswith(f".{model}")]
    if not matches:
        matches = [s for s in spans if model in s["name"] and s["attributes"].get("dagster.step_key") is None]
    assert len(matches) == 1, [s["name"] for s in spans]
    return matches[0]


def test_run_succeeds_and_every_span_shares_the_run_trace(successful_run: Any) -> None:
    assert successful_run.success
    spans = successful_run.copy.spans()
    assert spans
    assert {span["context"]["trace_id"] for span in spans} == {f"0x{run_trace_id(successful_run.run_id):032x}"}


def test_dbt_model_spans_are_children_of_the_run_span(successful_run: Any) -> None:
    spans = successful_run.copy.spans()
    run_span = f"0x{run_span_id(successful_run.run_id):016x}"
    for model in ("stg_numbers", "total"):
        span = _dbt_model_span(spans, model)
        assert span["parent_id"] is not None
        assert span["status"]["status_code"] != "ERROR"
    assert _by_name(spans)["raw/numbers"][0]["parent_id"] == run_span


def test_every_asset_has_one_start_and_one_complete(successful_run: Any) -> None:
    events = successful_run.copy.lineage()
    by_job: dict[str, list[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job["tiny.raw.numbers"] == ["START", "COMPLETE"]
    assert by_job["warehouse.main.tiny.stg_numbers"] == ["START", "COMPLETE"]
    assert by_job["warehouse.main.tiny.total"] == ["START", "COMPLETE"]


def test_lineage_connects_python_asset_to_dbt_models(successful_run: Any) -> None:
    complete = {e["job"]["name"]: e for e in successful_run.copy.lineage() if e["eventType"] == "COMPLETE"}

    def datasets(job: str, side: str) -> set[tuple[str, str]]:
        return {(d["namespace"], d["name"]) for d in complete[job][side]}

    # dbt models' jobs are named as dbt-ol names them; the Python asset's step job is floe's <pipeline>.<key>
    assert datasets("tiny.raw.numbers", "outputs") <= datasets("warehouse.main.tiny.stg_numbers", "inputs")
    assert datasets("warehouse.main.tiny.stg_numbers", "outputs") <= datasets("warehouse.main.tiny.total", "inputs")


def test_failed_model_fails_its_span_and_lineage_and_skips_downstream(failed_run: Any) -> None:
    assert not failed_run.success
    spans = failed_run.copy.spans()
    assert _dbt_model_span(spans, "stg_numbers")["status"]["status_code"] == "ERROR"
    events = failed_run.copy.lineage()
    by_job: dict[str, list[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job["tiny.raw.numbers"] == ["START", "COMPLETE"]
    assert by_job["warehouse.main.tiny.stg_numbers"] == ["START", "FAIL"]
    assert "COMPLETE" not in by_job.get("warehouse.main.tiny.total", [])


def test_a_dbt_step_has_one_step_span_and_its_node_spans_are_children(successful_run: Any) -> None:
    spans = successful_run.copy.spans()
    assert not [s["name"] for s in spans if s["name"].startswith("dbt.build")]
    step_spans = {s["context"]["span_id"]: s for s in spans if "dagster.step_key" in s["attributes"]}
    for model in ("stg_numbers", "total"):
        parent = step_spans[_dbt_model_span(spans, model)["parent_id"]]
        assert parent["attributes"]["floe.step_kind"] == "dbt"
    tests = [s for s in spans if s["attributes"].get("dbt.node.resource_type") == "test"]
    assert tests
    assert all(s["parent_id"] in step_spans for s in tests)


def test_in_process_every_dbt_node_span_lies_within_its_step_span(successful_run: Any) -> None:
    """The in-process executor times a step span as its events arrive: the node spans are inside it."""
    spans = successful_run.copy.spans()
    step_spans = {s["context"]["span_id"]: s for s in spans if s["attributes"].get("floe.step_kind") == "dbt"}
    nodes = [s for s in spans if s["parent_id"] in step_spans]
    assert nodes
    for node in nodes:
        step = step_spans[node["parent_id"]]
        start, end = (datetime.fromisoformat(node[key]) for key in ("start_time", "end_time"))
        assert datetime.fromisoformat(step["start_time"]) <= start <= end <= datetime.fromisoformat(step["end_time"])


def test_dbt_node_spans_follow_the_semantic_conventions(successful_run: Any) -> None:
    model = _dbt_model_span(successful_run.copy.spans(), "total")
    assert model["status"]["status_code"] == "UNSET"
    assert model["attributes"]["db.system.name"] == "duckdb"
    assert model["attributes"]["db.collection.name"] == "total"
    assert model["resource"]["attributes"]["deployment.environment.name"] == "test"
    assert "deployment.environment" not in model["resource"]["attributes"]


@pytest.mark.parametrize("outcome", ["successful_run", "failed_run"])
def test_every_event_validates_against_the_official_openlineage_schemas(
    outcome: str, request: pytest.FixtureRequest, openlineage_conformance: ModuleType
) -> None:
    events = request.getfixturevalue(outcome).copy.lineage()
    counted, facets = openlineage_conformance.validate_events(events)
    print(f"{outcome}: {counted} events, {facets} facets valid")
    assert counted == len(events) > 0


@pytest.mark.parametrize("outcome", ["successful_run", "failed_run"])
def test_every_parent_and_root_run_is_emitted_with_a_terminal_event(
    outcome: str, request: pytest.FixtureRequest, openlineage_conformance: ModuleType
) -> None:
    ran = request.getfixturevalue(outcome)
    events = ran.copy.lineage()
    assert openlineage_conformance.unended_parent_runs(events) == {}
    dagster_run = [e["eventType"] for e in events if e["run"]["runId"] == ran.run_id]
    assert dagster_run == ["START", "COMPLETE" if ran.success else "FAIL"]
    dbt_nodes = [e for e in events if e["job"]["facets"]["jobType"]["integration"] == "DBT"]
    assert dbt_nodes
    for event in dbt_nodes:
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == parent["root"]["run"]["runId"] == ran.run_id


def test_floe_yaml_owners_and_tags_reach_the_dbt_models_job_facets(successful_run: Any) -> None:
    (complete,) = [
        e
        for e in successful_run.copy.lineage()
        if e["job"]["name"] == "warehouse.main.tiny.total" and e["eventType"] == "COMPLETE"
    ]
    facets = complete["job"]["facets"]
    assert facets["ownership"]["owners"] == [{"name": "team:marts"}]
    assert {"key": "layer", "value": "gold", "source": "DAGSTER"} in facets["tags"]["tags"]


def test_the_dagster_runs_job_is_owned_by_its_assets_owners_from_floe_yaml_and_dbt_meta(
    successful_run: Any, openlineage_conformance: ModuleType
) -> None:
    events = [e for e in successful_run.copy.lineage() if e["run"]["runId"] == successful_run.run_id]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        owners = [owner["name"] for owner in event["job"]["facets"]["ownership"]["owners"]]
        # assets in key order: raw/numbers (none), stg_numbers (dbt meta.owner), total (floe.yaml owners)
        assert owners == ["user:numbers-lead@example.com", "team:marts"]
    openlineage_conformance.validate_events(events)


def test_a_dbt_test_is_owned_by_the_owners_of_the_model_it_tests(successful_run: Any) -> None:
    (complete,) = [
        e
        for e in successful_run.copy.lineage()
        if e["job"]["name"].startswith("test.tiny.not_null_stg_numbers_n.") and e["eventType"] == "COMPLETE"
    ]
    assert complete["job"]["facets"]["ownership"]["owners"] == [{"name": "user:numbers-lead@example.com"}]


def test_each_node_type_gets_exactly_its_events(successful_run: Any) -> None:
    """One run of Python asset -> dbt view (with a test) -> dbt table: the event count of each kind of run."""
    counts = Counter(
        (e["job"]["facets"]["jobType"]["integration"], e["job"]["facets"]["jobType"]["jobType"])
        for e in successful_run.copy.lineage()
    )
    assert dict(counts) == {
        ("DAGSTER", "JOB"): 2,  # the Dagster run: START, COMPLETE
        ("DAGSTER", "ASSET"): 2,  # the Python asset's step
        ("DBT", "MODEL"): 4,  # stg_numbers, total
        ("DBT", "TEST"): 2,  # not_null_stg_numbers_n
    }


def test_python_asset_materialization_carries_its_span_and_lineage_ids(successful_run: Any) -> None:
    metadata = successful_run.materializations["raw/numbers"]
    (span,) = [s for s in successful_run.copy.spans() if s["name"] == "raw/numbers"]
    assert metadata["floe/trace_id"] == span["context"]["trace_id"].removeprefix("0x")
    assert metadata["floe/span_id"] == span["context"]["span_id"].removeprefix("0x")
    assert metadata["floe/openlineage_run_id"] == span["attributes"]["openlineage.run_id"]
    events = [e for e in successful_run.copy.lineage() if e["job"]["name"] == "tiny.raw.numbers"]
    assert {e["run"]["runId"] for e in events} == {metadata["floe/openlineage_run_id"]}
    assert metadata["floe/openlineage_job"] == f"{events[0]['job']['namespace']}/tiny.raw.numbers"
    assert metadata["dagster/row_count"] == 10  # the asset's own metadata is kept


def test_dbt_and_python_materializations_carry_the_same_id_keys(successful_run: Any) -> None:
    keys = {"floe/trace_id", "floe/span_id", "floe/openlineage_run_id"}
    assert keys <= set(successful_run.materializations["raw/numbers"])
    assert keys <= set(successful_run.materializations["stg_numbers"])
