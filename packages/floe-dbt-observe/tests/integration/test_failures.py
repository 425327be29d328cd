"""Failing tests and broken models: ERROR spans, FAIL lineage runs, skipped descendants, failed step."""

from __future__ import annotations

import json

from dbt_harness import DbtRun

STATUS_BY_NAME = dict[str, str]


def _statuses(run: DbtRun) -> dict[str, str]:
    return {span.attributes["dbt.node.name"]: span.attributes["dbt.node.status"] for span in run.node_spans()}


def _terminal(run: DbtRun, job: str) -> dict[str, object]:
    events = [e for e in run.events_for(job) if e["eventType"] != "START"]
    assert len(events) == 1, events
    return events[0]


def test_broken_model_fails_the_step_with_dbts_error(broken_model_run: DbtRun) -> None:
    assert not broken_model_run.result.success
    (failure,) = [e for e in broken_model_run.result.all_events if e.is_step_failure]
    assert "no_such_column" in str(failure.event_specific_data.error)


def test_broken_model_span_is_error_with_the_dbt_message(broken_model_run: DbtRun) -> None:
    (span,) = [s for s in broken_model_run.node_spans() if s.attributes["dbt.node.name"] == "stg_payments"]
    assert span.status.status_code.name == "ERROR"
    assert "no_such_column" in (span.status.description or "")
    assert span.end_time is not None


def test_broken_model_span_has_error_type_and_an_exception_event(broken_model_run: DbtRun) -> None:
    (span,) = [s for s in broken_model_run.node_spans() if s.attributes["dbt.node.name"] == "stg_payments"]
    assert span.attributes["error.type"] in ("RuntimeError", "DatabaseError", "CompilationError")
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.type"] == span.attributes["error.type"]
    assert "no_such_column" in event.attributes["exception.message"]


def test_failed_and_skipped_nodes_reach_dagster_as_observations_with_their_ids(broken_model_run: DbtRun) -> None:
    spans = {s.attributes["dbt.node.unique_id"]: s for s in broken_model_run.node_spans()}
    observations = [
        o.asset_observation_data.asset_observation for o in broken_model_run.result.all_events if o.is_asset_observation
    ]
    by_id = {o.metadata["floe/dbt_unique_id"].value: o for o in observations if "floe/dbt_unique_id" in o.metadata}
    failed = by_id["model.floe_fixture.stg_payments"]
    span = spans["model.floe_fixture.stg_payments"]
    assert failed.asset_key.to_user_string() == "stg_payments"
    assert failed.metadata["floe/dbt_status"].value == "error"
    assert failed.metadata["floe/trace_id"].value == f"{span.context.trace_id:032x}"
    assert failed.metadata["floe/span_id"].value == f"{span.context.span_id:016x}"
    assert failed.metadata["floe/openlineage_run_id"].value == span.attributes["openlineage.run_id"]
    assert "no_such_column" in failed.metadata["floe/dbt_message"].value
    assert by_id["model.floe_fixture.customer_orders"].metadata["floe/dbt_status"].value == "skipped"
    skipped_tests = [o for uid, o in by_id.items() if uid.startswith("test.") and uid in spans]
    assert skipped_tests
    for observation in skipped_tests:
        uid = observation.metadata["floe/dbt_unique_id"].value
        assert observation.metadata["floe/dbt_status"].value == "skipped"
        assert observation.metadata["floe/check_name"].value == spans[uid].attributes["dagster.check_name"]
        assert observation.asset_key.to_user_string() == spans[uid].attributes["dagster.asset_key"]
        assert observation.metadata["floe/span_id"].value == f"{spans[uid].context.span_id:016x}"


def test_broken_model_lineage_run_fails_with_the_message(broken_model_run: DbtRun) -> None:
    event = _terminal(broken_model_run, "stg_payments")
    assert event["eventType"] == "FAIL"
    assert "no_such_column" in event["run"]["facets"]["errorMessage"]["message"]  # type: ignore[index]
    assert event["outputs"][0]["name"].endswith("stg_payments")  # type: ignore[index]


def test_descendants_of_a_broken_model_are_skipped_and_aborted(broken_model_run: DbtRun) -> None:
    statuses = _statuses(broken_model_run)
    assert statuses["customer_orders"] == "skipped"
    assert statuses["country_revenue"] == "skipped"
    for job in ("customer_orders", "country_revenue"):
        events = broken_model_run.events_for(job)
        assert [e["eventType"] for e in events] == ["START", "ABORT"]
    skipped = [s for s in broken_model_run.node_spans() if s.attributes["dbt.node.status"] == "skipped"]
    assert all(s.status.status_code.name == "UNSET" for s in skipped)


def test_independent_models_still_complete(broken_model_run: DbtRun) -> None:
    statuses = _statuses(broken_model_run)
    assert statuses["stg_orders"] == statuses["stg_customers"] == statuses["stg_countries"] == "success"
    assert _terminal(broken_model_run, "stg_orders")["eventType"] == "COMPLETE"
    materialized = set(broken_model_run.materialized())
    assert {"stg_orders", "stg_customers", "stg_countries"} <= materialized
    assert "customer_orders" not in materialized


def test_every_lineage_run_is_closed_exactly_once(broken_model_run: DbtRun) -> None:
    by_run: dict[str, list[str]] = {}
    for event in broken_model_run.events:
        by_run.setdefault(event["run"]["runId"], []).append(event["eventType"])
    assert by_run
    assert all(types[0] == "START" and len(types) == 2 for types in by_run.values())


def test_failing_test_is_an_error_span_a_failed_check_and_a_failed_assertion(failing_test_run: DbtRun) -> None:
    assert not failing_test_run.result.success
    (span,) = [s for s in failing_test_run.node_spans() if s.attributes["dbt.node.name"].startswith("accepted_values")]
    assert span.attributes["dbt.node.status"] == "fail"
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "dbt.test.fail"
    assert [e.name for e in span.events] == ["exception"]
    failed_checks = [c for c in failing_test_run.result.get_asset_check_evaluations() if not c.passed]
    assert [c.check_name for c in failed_checks] == [span.attributes["dbt.node.name"]]
    (event,) = [
        e
        for e in failing_test_run.events
        if e["eventType"] == "FAIL" and e["job"]["name"].startswith("test.floe_fixture.accepted_values")
    ]
    (dataset,) = event["inputs"]
    assert dataset["name"].endswith("customer_orders")
    (assertion,) = dataset["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert assertion["success"] is False
    assert assertion["column"] == "order_count"


def test_failing_test_skips_downstream_models(failing_test_run: DbtRun) -> None:
    statuses = _statuses(failing_test_run)
    assert statuses["customer_orders"] == "success"
    assert statuses["country_revenue"] == "skipped"


def test_a_test_with_a_hashed_file_name_has_its_compiled_sql(failing_test_run: DbtRun) -> None:
    manifest = json.loads((failing_test_run.project_dir / "target" / "manifest.json").read_text())
    (node,) = [n for n in manifest["nodes"].values() if n["name"].startswith("accepted_values_customer_orders")]
    assert node["path"] != node["name"] + ".sql"  # dbt hashed the file name
    (event,) = [e for e in failing_test_run.events_for(node["name"]) if e["eventType"] == "FAIL"]
    query = event["job"]["facets"]["sql"]["query"]
    assert "customer_orders" in query
    assert "10000" in query


def test_every_node_that_ran_has_a_sql_facet_seeds_aside(failing_test_run: DbtRun, success_run: DbtRun) -> None:
    for run in (failing_test_run, success_run):
        terminal = [
            e
            for e in run.events
            if e["eventType"] in ("COMPLETE", "FAIL") and e["job"]["facets"]["jobType"]["jobType"] != "SEED"
        ]
        assert terminal
        missing = [e["job"]["name"] for e in terminal if "sql" not in e["job"]["facets"]]
        assert missing == []
