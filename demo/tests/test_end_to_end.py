"""End to end: the demo's definitions run in process on a temporary warehouse and a temporary ``.floe/``.

Each scenario works on its own copy of the demo (floe.yaml, definitions.py, the asset package, the dbt project,
the platform files), so the traces, lineage and Dagster instance of a test live in its temporary directory.
Runs use the in-process executor (the multiprocess one is exercised by ``nox -s demo``). ``demo_run`` sends its
spans and lineage to a local OTLP/HTTP + OpenLineage receiver through the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``
and ``OPENLINEAGE_URL`` variables; ``broken_run`` writes them to the default files: the demo's checks read each from
the sink it used.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterEventType,
    DagsterInstance,
    build_sensor_context,
    instance_for_test,
)
from demo.demo_copy import DemoCopy, copy_demo
from demo.run_demo import AssetRow, DemoRun, Emitted, collect, materialize, read_emitted, verify
from demo.telemetry_receiver import TelemetryReceiver

from floe_definitions import FloeProject, load_project
from floe_definitions.commands.checks import check_floe_yaml
from floe_loaders import launch_backfill
from floe_loaders.backfills import BACKFILL_NAME_TAG
from floe_test_support.reconstruct import reconstructable_job

GOLD = ("gold/customer_orders", "gold/revenue_by_product")


@dataclass(frozen=True)
class Outcome:
    copy: DemoCopy
    project: FloeProject
    runs: list[DemoRun]
    rows: dict[str, AssetRow]
    materialized: dict[str, set[str]]
    progress: str
    emitted: Emitted
    receiver: TelemetryReceiver | None


def _run(copy: DemoCopy, receiver: TelemetryReceiver | None = None) -> Outcome:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in copy.env.items():
            monkeypatch.setenv(key, value)
        for key in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OPENLINEAGE_CONFIG"):
            monkeypatch.delenv(key, raising=False)
        if receiver is None:
            monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
            monkeypatch.delenv("OPENLINEAGE_URL", raising=False)
        else:
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
            monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
        project = load_project(copy.floe_yaml)
        home = copy.root / ".floe" / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        with instance_for_test(temp_dir=str(home), set_dagster_home=False) as instance:
            progress = io.StringIO()
            runs = materialize(
                project,
                instance,
                lambda job: reconstructable_job(copy.root / "definitions.py", job),
                log_dir=copy.root / ".floe" / "logs",
                progress=progress,
            )
            emitted = read_emitted(project, os.environ, receiver)
            rows = collect(project, instance, runs, emitted)
            materialized = {run.run_id: _materialized_keys(instance, run.run_id) for run in runs}
    return Outcome(
        copy=copy,
        project=project,
        runs=runs,
        rows=rows,
        materialized=materialized,
        progress=progress.getvalue(),
        emitted=emitted,
        receiver=receiver,
    )


def _materialized_keys(instance: DagsterInstance, run_id: str) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return {record.asset_key.to_user_string() for record in records if record.asset_key is not None}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """The demo, sending to a local OTLP/HTTP and OpenLineage receiver through the standard variables."""
    with TelemetryReceiver().running() as receiver:
        yield _run(copy_demo(tmp_path_factory.mktemp("demo_ok"), "shop_assets"), receiver)


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    return _run(copy_demo(tmp_path_factory.mktemp("demo_broken"), "broken_assets", break_model="stg_orders"))


def test_demo_runs_and_passes_every_verification(demo_run: Outcome) -> None:
    assert [run.success for run in demo_run.runs] == [True, True]
    assert verify(demo_run.project, demo_run.runs, demo_run.rows, demo_run.emitted) == []


def test_against_standard_endpoints_the_receivers_get_the_spans_and_events_and_the_checks_read_them(
    demo_run: Outcome,
) -> None:
    receiver = demo_run.receiver
    assert receiver is not None
    assert demo_run.emitted.spans_from == f"the local OTLP receiver {receiver.url}"
    assert demo_run.emitted.lineage_from == f"the local OpenLineage receiver {receiver.url}"
    run_ids = {run.run_id for run in demo_run.runs}
    assert receiver.received.trace_requests > 0
    assert {span["attributes"].get("dagster.run_id") for span in receiver.spans} >= run_ids
    assert {span["resource"]["attributes"]["service.name"] for span in receiver.spans} == {"shop"}
    parents = {event["run"]["facets"].get("parent", {}).get("run", {}).get("runId") for event in receiver.events}
    assert run_ids <= parents | {event["run"]["runId"] for event in receiver.events}
    assert {"START", "COMPLETE"} <= {event["eventType"] for event in receiver.events}
    # Every asset's span and lineage run was counted from the receiver, and nothing went to the default files.
    assert all(len(row.span_ids) == 1 and row.lineage_run_ids for row in demo_run.rows.values())
    assert not (demo_run.copy.root / ".floe" / "traces").exists()
    assert not (demo_run.copy.root / ".floe" / "lineage").exists()


def test_the_broken_run_checks_the_default_files_it_wrote(broken_run: Outcome) -> None:
    traces = broken_run.copy.root / ".floe" / "traces" / "shop.jsonl"
    assert broken_run.emitted.spans_from == os.fspath(traces)
    assert broken_run.emitted.spans
    assert json.loads(traces.read_text().splitlines()[0])["resourceSpans"]  # OTLP/JSON, one request per line


def test_the_progress_view_shows_each_step_and_no_warning(demo_run: Outcome) -> None:
    lines = demo_run.progress.splitlines()
    assert lines[0].startswith("Running job 'seed_bronze'")
    assert any(line.split()[:1] == ["ok"] and "raw_orders" in line for line in lines)
    assert sum("SUCCESS" in line for line in lines) == 2
    assert "Warning" not in demo_run.progress
    assert "DEBUG" not in demo_run.progress


def test_dagster_events_go_to_the_log_files_without_beta_preview_or_supersession_warnings(demo_run: Outcome) -> None:
    logs = {path.name: path.read_text() for path in (demo_run.copy.root / ".floe" / "logs").glob("*.log")}
    assert set(logs) == {"seed_bronze.log", "transform.log"}
    assert all(" - DEBUG - " in text and "STEP_START" in text for text in logs.values())
    for text in logs.values():
        for category in ("BetaWarning", "PreviewWarning", "SupersessionWarning"):
            assert category not in text
    assert "OK created" in logs["transform.log"]  # dbt's own lines, without colour codes
    assert "\x1b[" not in logs["transform.log"]


def test_every_dbt_model_is_materialized_as_its_own_asset(demo_run: Outcome) -> None:
    models = {key.to_user_string() for key in demo_run.project.dbt_asset_keys}
    assert models == {
        "silver/stg_customers",
        "silver/stg_orders",
        "silver/stg_products",
        "silver/stg_order_items",
        *GOLD,
    }
    assert models <= demo_run.materialized[demo_run.runs[1].run_id]


def test_each_asset_execution_has_one_span_and_one_start_and_complete(demo_run: Outcome) -> None:
    for key, row in demo_run.rows.items():
        assert len(row.span_ids) == 1, key
        assert sorted(row.lineage_states) == ["COMPLETE", "START"], key


@pytest.mark.parametrize("outcome", ["demo_run", "broken_run"])
def test_every_lineage_event_validates_against_the_official_openlineage_schemas(
    outcome: str, request: pytest.FixtureRequest, openlineage_conformance: ModuleType
) -> None:
    ran: Outcome = request.getfixturevalue(outcome)
    events = ran.emitted.events or []
    counted, facets = openlineage_conformance.validate_events(events)
    print(f"demo {outcome}: {counted} events, {facets} facets valid")
    assert counted == len(events) > 0


def _events(ran: Outcome) -> list[dict[str, Any]]:
    """The lineage events of the run, read back from the sink it used (the local receiver, or the files)."""
    assert ran.emitted.events is not None, ran.emitted.lineage_from
    return ran.emitted.events


@pytest.mark.parametrize("outcome", ["demo_run", "broken_run"])
def test_each_dagster_run_is_a_lineage_run_that_every_node_run_points_at(
    outcome: str, request: pytest.FixtureRequest, openlineage_conformance: ModuleType
) -> None:
    ran: Outcome = request.getfixturevalue(outcome)
    events = _events(ran)
    assert openlineage_conformance.unended_parent_runs(events) == {}
    for run in ran.runs:
        states = [e["eventType"] for e in events if e["run"]["runId"] == run.run_id]
        assert states == ["START", "COMPLETE" if run.success else "FAIL"], run.job
    run_ids = {run.run_id for run in ran.runs}
    for event in events:
        if event["run"]["runId"] not in run_ids:
            parent = event["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == parent["root"]["run"]["runId"]
            assert parent["run"]["runId"] in run_ids


def test_the_bronze_partition_is_the_nominal_time_of_its_runs(demo_run: Outcome) -> None:
    bronze = demo_run.runs[0]
    events = _events(demo_run)
    dated = [e for e in events if e["run"]["runId"] == bronze.run_id or e["job"]["name"].startswith("shop.bronze.")]
    assert len(dated) >= 4  # the Dagster run and each bronze asset, START and COMPLETE
    starts = {e["run"]["facets"]["nominalTime"]["nominalStartTime"] for e in dated}
    ends = {e["run"]["facets"]["nominalTime"]["nominalEndTime"] for e in dated}
    assert len(starts) == len(ends) == 1
    start, end = starts.pop(), ends.pop()
    assert start.endswith("T00:00:00+00:00")
    assert end > start


def test_gold_owners_and_tags_from_floe_yaml_reach_the_gold_models_lineage(demo_run: Outcome) -> None:
    events = _events(demo_run)
    for model in ("customer_orders", "revenue_by_product"):
        (complete,) = [
            e for e in events if e["job"]["name"] == f"warehouse.gold.shop.{model}" and e["eventType"] == "COMPLETE"
        ]
        facets = complete["job"]["facets"]
        assert facets["ownership"]["owners"] == [{"name": "team:analytics"}]
        assert {"key": "layer", "value": "gold", "source": "DAGSTER"} in facets["tags"]["tags"]


def test_broken_staging_model_fails_the_run_but_keeps_bronze(broken_run: Outcome) -> None:
    bronze, transform = broken_run.runs
    assert bronze.success
    assert not transform.success
    assert {"bronze/raw_orders", "bronze/raw_order_items"} <= broken_run.materialized[bronze.run_id]
    assert "silver/stg_orders" not in broken_run.materialized[transform.run_id]


def test_broken_model_span_is_error_and_its_lineage_run_fails(broken_run: Outcome) -> None:
    row = broken_run.rows["silver/stg_orders"]
    assert row.status == "failed"
    assert row.lineage_states == ["START", "FAIL"]


def test_gold_models_downstream_of_the_failure_are_skipped(broken_run: Outcome) -> None:
    transform = broken_run.runs[1]
    for key in GOLD:
        assert key not in broken_run.materialized[transform.run_id]
        assert "COMPLETE" not in broken_run.rows.get(key, AssetRow(key, "gold")).lineage_states


def test_floe_check_still_passes_for_the_broken_copy(broken_run: Outcome) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in broken_run.copy.env.items():
            monkeypatch.setenv(key, value)
        report = check_floe_yaml(broken_run.copy.floe_yaml)
    assert report.ok, [str(issue) for issue in report.errors]


def _shape(project: FloeProject) -> dict[str, Any]:
    defs = project.definitions
    graph = defs.resolve_asset_graph()
    return {
        "assets": {
            key.to_user_string(): (graph.get(key).group_name, str(graph.get(key).partitions_def))
            for key in graph.get_all_asset_keys()
        },
        "jobs": sorted(job.name for job in defs.jobs),
        "schedules": sorted(schedule.name for schedule in defs.schedules),
        "sensors": sorted(sensor.name for sensor in defs.sensors),
    }


def test_local_and_prod_platforms_change_only_infrastructure(demo_run: Outcome) -> None:
    copy = demo_run.copy
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in copy.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("MARQUEZ_API_KEY", "test-key")
        local = load_project(copy.floe_yaml, platform=copy.root / "platform" / "local.yaml")
        prod = load_project(copy.floe_yaml, platform=copy.root / "platform" / "prod.yaml")
    assert _shape(local) == _shape(prod)
    assert local.spec == prod.spec
    assert (local.platform.environment, prod.platform.environment) == ("local", "prod")
    local_job = local.definitions.resolve_job_def("transform")
    prod_job = prod.definitions.resolve_job_def("transform")
    assert (local_job.executor_def.name, prod_job.executor_def.name) == ("floe_multiprocess", "floe_k8s")
    assert local.platform.instance.storage == "sqlite"
    assert prod.platform.instance.storage == "postgres"
    assert prod.platform.tracing is not None
    assert prod.platform.tracing.type == "otlp"


def test_dagster_loads_the_code_location_and_lists_every_asset(demo_run: Outcome) -> None:
    copy = demo_run.copy
    env = {**os.environ, **copy.env, "DAGSTER_HOME": str(copy.root / ".floe" / "dagster")}
    dagster = str(Path(sys.executable).with_name("dagster"))
    validate = subprocess.run(
        [dagster, "definitions", "validate", "-f", "definitions.py"],
        cwd=copy.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout[-3000:] + validate.stderr[-3000:]
    listed = subprocess.run(
        [dagster, "asset", "list", "-f", "definitions.py"],
        cwd=copy.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr[-3000:]
    expected = {key.to_user_string() for key in demo_run.project.dbt_asset_keys} | {"bronze/raw_orders"}
    assert expected <= {line.strip() for line in listed.stdout.splitlines()}


def test_jobs_schedules_and_sensors_carry_the_descriptions_of_floe_yaml(demo_run: Outcome) -> None:
    defs = demo_run.project.definitions
    orchestration = demo_run.project.spec.orchestration
    described = {
        **{
            f"job {name}": (c.description, defs.resolve_job_def(name).description)
            for name, c in orchestration.jobs.items()
        },
        **{
            f"schedule {name}": (c.description, defs.resolve_schedule_def(name).description)
            for name, c in orchestration.schedules.items()
        },
        **{
            f"sensor {name}": (c.description, defs.resolve_sensor_def(name).description)
            for name, c in orchestration.sensors.items()
        },
    }
    assert len(described) == 4 + 1 + 3
    for what, (configured, shown) in described.items():
        assert configured, f"{what} has no description in demo/floe.yaml"
        assert shown == configured, what


def test_the_january_backfill_is_stored_with_its_name_as_title(demo_run: Outcome, tmp_path: Path) -> None:
    orchestration = demo_run.project.spec.orchestration
    with instance_for_test(temp_dir=str(tmp_path), set_dagster_home=False) as instance:
        backfill_id = launch_backfill(demo_run.project.definitions, instance, "january_2024", orchestration)
        backfill = instance.get_backfill(backfill_id)
    assert backfill is not None
    assert backfill.title == "january_2024"
    assert backfill.description == orchestration.backfills["january_2024"].description
    assert backfill.tags[BACKFILL_NAME_TAG] == "january_2024"


def test_on_bronze_reacts_to_the_newest_partition_not_to_history_or_the_january_backfill(
    demo_run: Outcome, tmp_path: Path
) -> None:
    defs = demo_run.project.definitions
    sensor = defs.resolve_sensor_def("on_bronze")
    orders = AssetKey(["bronze", "raw_orders"])
    partitions = defs.resolve_job_def("seed_bronze").partitions_def
    assert partitions is not None
    newest = partitions.get_last_partition_key()
    assert newest is not None
    with instance_for_test(temp_dir=str(tmp_path), set_dagster_home=False) as instance:

        def tick(cursor: str | None) -> Any:
            return sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor, definitions=defs))

        def materialized(*keys: str) -> None:
            for key in keys:
                instance.report_runless_asset_event(AssetMaterialization(orders, partition=key))

        materialized(newest)  # the demo ran before `floe dev` started: no transform at start
        started = tick(None)
        cursor = started.cursor
        # january_2024 in batches of 10 days, as its backfill runs them
        for first in (1, 11, 21):
            materialized(*(f"2024-01-{day:02d}" for day in range(first, first + 10)))
            batch = tick(cursor)
            assert batch.run_requests == [], f"a transform for the batch starting 2024-01-{first:02d}"
            cursor = batch.cursor
        materialized(newest)
        fired = tick(cursor)
    assert started.run_requests == []
    assert len(fired.run_requests) == 1


def _model_completes(ran: Outcome) -> dict[str, dict[str, Any]]:
    completes: dict[str, dict[str, Any]] = {}
    for event in _events(ran):
        job = event["job"]
        is_model = job.get("facets", {}).get("jobType", {}).get("jobType") == "MODEL"
        if event["eventType"] == "COMPLETE" and is_model:
            completes[job["name"].rsplit(".", 1)[-1]] = event
    return completes


def test_every_dbt_model_gets_column_lineage_and_a_typed_schema(demo_run: Outcome) -> None:
    completes = _model_completes(demo_run)
    assert {"customer_orders", "revenue_by_product"} <= set(completes)
    for model, event in completes.items():
        (output,) = event["outputs"]
        assert output["facets"]["columnLineage"]["fields"], model
        assert all(field.get("type") for field in output["facets"]["schema"]["fields"]), model


def test_gold_column_lineage_maps_revenue_back_to_order_item_amounts(demo_run: Outcome) -> None:
    completes = _model_completes(demo_run)

    def sources(model: str, column: str) -> set[tuple[str, str, str]]:
        fields = completes[model]["outputs"][0]["facets"]["columnLineage"]["fields"]
        return {
            (i["name"].rsplit(".", 1)[-1], i["field"], i["transformations"][0]["subtype"])
            for i in fields[column]["inputFields"]
        }

    assert sources("revenue_by_product", "revenue") == {("stg_order_items", "amount", "AGGREGATION")}
    assert sources("revenue_by_product", "product_name") == {("stg_products", "product_name", "IDENTITY")}
    assert sources("customer_orders", "lifetime_value") == {
        ("stg_order_items", "amount", "AGGREGATION"),
        ("stg_orders", "is_revenue", "CONDITIONAL"),
    }
