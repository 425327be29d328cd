"""A successful build: one span and one START + terminal lineage event per executed node, all linked."""

from __future__ import annotations

import uuid
from collections import Counter
from importlib.metadata import version
from typing import Any

import dagster as dg
import pytest
from dbt_harness import FIXTURE_ASSETS, DbtRun

from floe_dbt_observe.facets import facet_schemas
from floe_dbt_observe.link_metadata import OPENLINEAGE_RUN_ID_KEY, SPAN_ID_KEY, TRACE_ID_KEY
from floe_dbt_observe.tracing import dagster_run_span_context
from floe_test_support.openlineage_conformance import validate_events

EXECUTED_NODES = 17  # 6 models, 1 seed, 1 snapshot, 9 tests


def test_run_succeeds_and_materializes_every_asset(success_run: DbtRun) -> None:
    assert success_run.result.success
    assert set(success_run.materialized()) == FIXTURE_ASSETS


def test_every_executed_node_has_exactly_one_span(success_run: DbtRun) -> None:
    counts = Counter(span.attributes["dbt.node.unique_id"] for span in success_run.node_spans())
    assert len(counts) == EXECUTED_NODES
    assert set(counts.values()) == {1}


def test_node_spans_are_children_of_the_step_span_in_one_trace(success_run: DbtRun) -> None:
    (step,) = success_run.step_spans()
    run_context = dagster_run_span_context(success_run.result.run_id)
    assert step.context.trace_id == uuid.UUID(success_run.result.run_id).int == run_context.trace_id
    assert step.parent is not None
    assert step.parent.span_id == run_context.span_id
    for span in success_run.node_spans():
        assert span.context.trace_id == step.context.trace_id
        assert span.parent is not None
        assert span.parent.span_id == step.context.span_id


def test_node_spans_use_dbt_timestamps_inside_the_step_span(success_run: DbtRun) -> None:
    (step,) = success_run.step_spans()
    for span in success_run.node_spans():
        assert step.start_time <= span.start_time <= span.end_time <= step.end_time


def test_node_span_attributes_and_status(success_run: DbtRun) -> None:
    spans = {span.attributes["dbt.node.unique_id"]: span for span in success_run.node_spans()}
    model = spans["model.floe_fixture.customer_orders"]
    assert model.name == "dbt.model customer_orders"
    assert model.status.status_code.name == "UNSET"  # OpenTelemetry: instrumentation leaves success UNSET
    assert model.attributes["dbt.node.status"] == "success"
    assert model.attributes["dbt.node.materialization"] == "table"
    assert model.attributes["dbt.node.relation"].endswith('"main"."customer_orders"')
    assert model.attributes["dagster.asset_key"] == "customer_orders"
    assert model.attributes["dagster.run_id"] == success_run.result.run_id
    assert model.attributes["dbt.node.thread"]
    assert model.attributes["dbt.node.adapter_response"] == "OK"
    assert model.attributes["dbt.engine.name"] == "dbt-core"
    assert model.attributes["dbt.engine.version"] == version("dbt-core")
    seed = spans["seed.floe_fixture.country_codes"]
    assert seed.attributes["dbt.node.rows_affected"] == 3
    test = next(s for uid, s in spans.items() if uid.startswith("test.floe_fixture.unique_stg_orders"))
    assert test.name.startswith("dbt.test ")
    assert test.attributes["dbt.node.status"] == "pass"
    assert test.status.status_code.name == "UNSET"


def test_node_spans_carry_db_semantic_convention_attributes(success_run: DbtRun) -> None:
    spans = {span.attributes["dbt.node.unique_id"]: span for span in success_run.node_spans()}
    model = spans["model.floe_fixture.customer_orders"]
    assert model.attributes["db.system.name"] == "duckdb"
    assert model.attributes["db.namespace"] == "success|main"
    assert model.attributes["db.collection.name"] == "customer_orders"
    assert spans["seed.floe_fixture.country_codes"].attributes["db.collection.name"] == "country_codes"


def test_test_spans_carry_the_asset_key_and_check_name(success_run: DbtRun) -> None:
    tests = [s for s in success_run.node_spans() if s.attributes["dbt.node.resource_type"] == "test"]
    checked = {(s.attributes.get("dagster.asset_key"), s.attributes.get("dagster.check_name")) for s in tests}
    evaluations = {
        (c.asset_key.to_user_string(), c.check_name) for c in success_run.result.get_asset_check_evaluations()
    }
    assert evaluations <= checked
    unique = next(s for s in tests if s.attributes["dbt.node.name"] == "unique_stg_orders_order_id")
    assert unique.attributes["dagster.asset_key"] == "stg_orders"
    assert unique.attributes["dagster.check_name"] == "unique_stg_orders_order_id"


def test_one_start_and_one_terminal_event_per_node(success_run: DbtRun) -> None:
    by_run: dict[str, list[str]] = {}
    for event in success_run.events:
        by_run.setdefault(event["run"]["runId"], []).append(event["eventType"])
    assert len(by_run) == EXECUTED_NODES
    assert all(types == ["START", "COMPLETE"] for types in by_run.values())
    for run_id in by_run:
        assert uuid.UUID(run_id).version == 7


@pytest.mark.parametrize("run", ["success_run", "broken_model_run", "failing_test_run"])
def test_every_event_validates_against_the_official_openlineage_schemas(
    run: str, request: pytest.FixtureRequest
) -> None:
    dbt_run: DbtRun = request.getfixturevalue(run)
    events, facets = validate_events(dbt_run.events)
    print(f"{run}: {events} events, {facets} facets valid")
    assert events == len(dbt_run.events)


def _complete(run: DbtRun, job: str) -> dict[str, Any]:
    (event,) = [e for e in run.events_for(job) if e["eventType"] == "COMPLETE"]
    return event


def test_model_events_carry_dbt_ol_facets(success_run: DbtRun) -> None:
    event = _complete(success_run, "customer_orders")
    assert event["job"]["namespace"] == "dbt"
    # dbt-ol's job name: <database>.<schema>.<project>.<model> (the warehouse file's stem is the database)
    assert event["job"]["name"] == f"{success_run.warehouse.stem}.main.floe_fixture.customer_orders"
    job_facets = event["job"]["facets"]
    assert job_facets["jobType"]["integration"] == "DBT"
    assert job_facets["jobType"]["jobType"] == "MODEL"
    assert job_facets["jobType"]["processingType"] == "BATCH"
    assert "stg_orders" in job_facets["sql"]["query"]
    assert "{{" not in job_facets["sql"]["query"]
    assert job_facets["documentation"]["description"] == "Orders per customer with revenue."
    assert job_facets["sourceCodeLocation"]["url"].endswith("models/marts/customer_orders.sql")
    run_facets = event["run"]["facets"]
    assert run_facets["parent"]["run"]["runId"] == success_run.result.run_id
    assert run_facets["processing_engine"]["name"] == "dbt"
    assert run_facets["dbt_version"]["version"] == run_facets["processing_engine"]["version"]
    assert run_facets["processing_engine"]["version"] == version("dbt-core")
    assert run_facets["dbt_run"]["dbt_runtime"] == "core"
    assert run_facets["floe_dbt_node"]["status"] == "success"
    inputs = {dataset["name"] for dataset in event["inputs"]}
    assert inputs == {"success.main.stg_orders", "success.main.stg_payments", "success.main.stg_customers"}
    (output,) = event["outputs"]
    assert output["name"] == "success.main.customer_orders"
    assert output["namespace"] == "duckdb://" + success_run.warehouse.as_posix()
    assert output["facets"]["dataSource"]["uri"] == output["namespace"]
    # the table's columns, typed, from the warehouse (schema.yml declares only three of them)
    assert [(f["name"], f["type"]) for f in output["facets"]["schema"]["fields"]] == [
        ("customer_id", "INTEGER"),
        ("customer_name", "VARCHAR"),
        ("country_code", "VARCHAR"),
        ("order_count", "BIGINT"),
        ("revenue", "DOUBLE"),
    ]


def test_dbt_meta_owner_and_tags_become_ownership_and_tags_job_facets(success_run: DbtRun) -> None:
    job_facets = _complete(success_run, "customer_orders")["job"]["facets"]
    assert job_facets["ownership"]["owners"] == [{"name": "user:finance-lead@example.com"}]
    assert job_facets["tags"]["tags"] == [{"key": "finance", "value": "true", "source": "DBT"}]
    untagged = _complete(success_run, "stg_orders")["job"]["facets"]
    assert "ownership" not in untagged
    assert "tags" not in untagged


def test_a_dbt_test_is_owned_by_the_owners_of_the_model_it_tests(success_run: DbtRun) -> None:
    names = ("not_null_customer_orders_customer_id", "unique_customer_orders_customer_id")
    tests = [e for name in names for e in success_run.events_for(name) if e["eventType"] == "COMPLETE"]
    assert len(tests) == 2
    for event in tests:
        assert event["job"]["facets"]["ownership"]["owners"] == [{"name": "user:finance-lead@example.com"}]
    validate_events(tests)
    (unowned,) = [e for e in success_run.events_for("not_null_stg_orders_order_id") if e["eventType"] == "COMPLETE"]
    assert "ownership" not in unowned["job"]["facets"]


def test_each_node_type_gets_exactly_a_start_and_a_terminal_event_per_node(success_run: DbtRun) -> None:
    counts = Counter(str(e["job"]["facets"]["jobType"]["jobType"]) for e in success_run.events)
    # 6 models, 1 seed, 1 snapshot, 9 tests; floe-dbt-observe alone emits no Dagster run (floe-definitions does)
    assert dict(counts) == {"MODEL": 12, "SEED": 2, "SNAPSHOT": 2, "TEST": 18}


def test_unpartitioned_runs_carry_no_nominal_time(success_run: DbtRun) -> None:
    assert not [event for event in success_run.events if "nominalTime" in event["run"]["facets"]]


def test_column_lineage_follows_cte_chains(success_run: DbtRun) -> None:
    fields = _complete(success_run, "customer_orders")["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert fields["revenue"]["inputFields"] == [
        {
            "namespace": "duckdb://" + success_run.warehouse.as_posix(),
            "name": "success.main.stg_payments",
            "field": "amount",
            "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION", "masking": False}],
        }
    ]
    assert {f["field"] for f in fields["customer_name"]["inputFields"]} == {"customer_name"}


def test_seed_reports_output_statistics(success_run: DbtRun) -> None:
    event = _complete(success_run, "country_codes")
    assert event["job"]["facets"]["jobType"]["jobType"] == "SEED"
    assert event["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 3


def test_test_runs_carry_data_quality_assertions_on_the_tested_dataset(success_run: DbtRun) -> None:
    (event,) = [
        e
        for e in success_run.events
        if e["eventType"] == "COMPLETE" and e["job"]["name"].startswith("test.floe_fixture.unique_stg_orders_order_id")
    ]
    assert event["job"]["facets"]["jobType"]["jobType"] == "TEST"
    (dataset,) = event["inputs"]
    assert dataset["name"] == "success.main.stg_orders"
    (assertion,) = dataset["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert assertion["assertion"] == "unique"
    assert assertion["success"] is True
    assert assertion["column"] == "order_id"


def test_span_lineage_run_and_materialization_point_at_each_other(success_run: DbtRun) -> None:
    spans = {span.attributes["dbt.node.unique_id"]: span for span in success_run.node_spans()}
    span = spans["model.floe_fixture.stg_orders"]
    event = _complete(success_run, "stg_orders")
    trace_facet = event["run"]["facets"]["floe_trace"]
    assert span.attributes["openlineage.run_id"] == event["run"]["runId"]
    assert trace_facet == {
        "_producer": trace_facet["_producer"],
        "_schemaURL": trace_facet["_schemaURL"],
        "traceId": f"{span.context.trace_id:032x}",
        "spanId": f"{span.context.span_id:016x}",
    }
    (materialization,) = [
        m for m in success_run.result.get_asset_materialization_events() if m.asset_key == dg.AssetKey("stg_orders")
    ]
    metadata = materialization.materialization.metadata
    assert metadata[TRACE_ID_KEY].value == trace_facet["traceId"]
    assert metadata[SPAN_ID_KEY].value == trace_facet["spanId"]
    assert metadata[OPENLINEAGE_RUN_ID_KEY].value == event["run"]["runId"]


def test_check_results_are_reported_and_linked(success_run: DbtRun) -> None:
    checks = success_run.result.get_asset_check_evaluations()
    assert len(checks) == 8  # the source test is not a check by default; it still runs and has a span
    assert all(check.passed for check in checks)
    assert all(TRACE_ID_KEY in check.metadata for check in checks)


@pytest.mark.parametrize("key", ["floe_trace", "floe_dbt_node"])
def test_custom_facets_point_at_a_versioned_https_schema(success_run: DbtRun, key: str) -> None:
    url = _complete(success_run, "stg_orders")["run"]["facets"][key]["_schemaURL"]
    assert url.startswith("https://floe.dev/spec/facets/1-0-0/")
    assert url.split("#")[0] in facet_schemas()


def test_dbt_ols_dbt_node_name_is_only_dbt_ols_job_facet(success_run: DbtRun) -> None:
    for event in success_run.events:
        assert "dbt_node" not in event["run"]["facets"]
        assert event["job"]["facets"]["dbt_node"]["_schemaURL"].endswith("/dbt-node-job-facet.json")


def test_each_node_run_carries_dbt_ols_dbt_run_facet(success_run: DbtRun) -> None:
    facets = [event["run"]["facets"]["dbt_run"] for event in success_run.events]
    assert len({facet["invocation_id"] for facet in facets}) == 1  # one dbt build
    assert {(f["project_name"], f["profile_name"], f["dbt_runtime"]) for f in facets} == {
        ("floe_fixture", "floe_fixture", "core")
    }
