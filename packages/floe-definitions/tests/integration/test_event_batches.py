"""floe's event log storages write a run's planned events in one transaction, and store what Dagster's own store.

The same jobs run on two fresh instances: one with the storages platform.yaml's ``instance:`` section renders
(floe's event log storage, which turns on Dagster's batched writes for its instance), one with Dagster's own
storage as floe rendered it before (``storage: {sqlite|postgres: ...}``, ``DAGSTER_EVENT_BATCH_SIZE`` unset).
What the UI, asset history, sensors and backfills read is compared: every event log record of each run (storage
id, type, step, asset, partition and the event's own data), the asset records (last materialization, last planned
run), the latest materialization, planned materializations, and asset check executions. Only run ids, timestamps
and durations may differ. The jobs: the fixture project (a Python asset, a dbt view with a test, a dbt table)
through floe's executor, and a partitioned asset over four partitions in one run (its materializations reach the
storage as one batch).
"""

# no `from __future__ import annotations`: Dagster inspects the context annotation at runtime

import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster import AssetExecutionContext, DagsterInstance, execute_job

from floe_config.platform_loading import parse_platform_spec
from floe_definitions.instance.dagster_yaml import render_instance
from floe_test_support.postgres import PostgresServer
from floe_test_support.reconstruct import reconstructable_job
from floe_test_support.sql_connections import ConnectionCounter

BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
STORAGE_KEYS = ("run_storage", "event_log_storage", "schedule_storage")
DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily(context: AssetExecutionContext) -> dg.MaterializeResult[None]:
    """Materialize every partition of the run's range at once."""
    return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})


@dg.asset_check(asset=daily)
def daily_positive() -> dg.AssetCheckResult:
    """A check planned and evaluated in the partitioned run."""
    return dg.AssetCheckResult(passed=True)


def _instance_config(storage: str, home: Path, postgres_url: str | None, *, floe: bool) -> dict[str, Any]:
    """floe's rendered storage keys (``floe``) or Dagster's one-key storage, as floe rendered it before."""
    text = f"instance: {{storage: {storage}{', postgres_url: ' + repr(postgres_url) if postgres_url else ''}}}\n"
    rendered = dict(render_instance(parse_platform_spec(text, environ={}), home).config)
    config: dict[str, Any] = {"telemetry": {"enabled": False}}
    if floe:
        config.update({key: rendered[key] for key in STORAGE_KEYS})
    elif postgres_url:
        config["storage"] = {"postgres": {"postgres_url": postgres_url}}
    else:
        config["storage"] = {"sqlite": {"base_dir": os.fspath(home)}}
    return config


def _open(home: Path, config: dict[str, Any]) -> DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return DagsterInstance.from_config(os.fspath(home))


def _event_data(entry: Any) -> Any:
    """The parts of an event the UI and asset history read, without run ids, timestamps or durations."""
    event = entry.dagster_event
    if event is None:
        return None
    data = event.event_specific_data
    if event.is_step_materialization:
        materialization = data.materialization
        # tag values derived from the run id (an unversioned asset's code version) are left out; the pointers to the
        # input's materialization (storage ids) are compared
        tags = {
            key: value if key.startswith("dagster/input_event_pointer") else "..."
            for key, value in (materialization.tags or {}).items()
        }
        return ("materialization", materialization.partition, sorted(materialization.metadata), tags)
    if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
        return ("planned", data.asset_key, data.partition, data.partitions_subset)
    if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
        return ("check planned", data.asset_key, data.check_name, data.partitions_subset)
    if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
        target = data.target_materialization_data
        return (
            "check",
            data.asset_key,
            data.check_name,
            data.passed,
            data.severity,
            sorted(data.metadata),
            target.storage_id if target else None,
        )
    return None


def _run_records(instance: DagsterInstance, run_id: str) -> list[Any]:
    return [
        (
            record.storage_id,
            record.event_log_entry.dagster_event_type,
            record.event_log_entry.step_key,
            record.asset_key,
            record.partition_key,
            record.event_log_entry.level,
            _event_data(record.event_log_entry),
        )
        for record in instance.get_records_for_run(run_id, limit=100_000).records
    ]


def _asset_state(instance: DagsterInstance, run_ids: dict[str, str], records: list[Any]) -> dict[str, Any]:
    """What asset history, sensors and backfills read, each run id replaced by its run's name."""
    name = {run_id: job for job, run_id in run_ids.items()}
    keys = sorted(instance.get_asset_keys(), key=lambda key: key.to_user_string())
    state: dict[str, Any] = {}
    for record in instance.get_asset_records(keys):
        entry = record.asset_entry
        last = entry.last_materialization_record
        latest = instance.get_latest_materialization_event(entry.asset_key)
        planned = instance.fetch_planned_materializations(entry.asset_key, limit=100).records
        state[entry.asset_key.to_user_string()] = {
            "last_materialization": (last.storage_id, name[last.run_id], _event_data(last.event_log_entry))
            if last
            else None,
            "last_run": name.get(entry.last_run_id or ""),
            "last_planned": (
                entry.last_planned_materialization_storage_id,
                name.get(entry.last_planned_materialization_run_id or ""),
            ),
            "latest_materialization": (name[latest.run_id], _event_data(latest)) if latest else None,
            "planned": [(r.storage_id, name[r.run_id], _event_data(r.event_log_entry)) for r in planned],
            "partitions": sorted(instance.get_materialized_partitions(entry.asset_key)),
        }
    check_keys = {
        dg.AssetCheckKey(data[1], data[2]) for run in records for *_, data in run if data and data[0] == "check planned"
    }
    for check_key in sorted(check_keys, key=lambda key: key.to_user_string()):
        history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=100)
        state[check_key.to_user_string()] = [
            (name[execution.run_id], execution.status, execution.partition, _event_data(execution.event))
            for execution in history
        ]
    return state


def _run_jobs(instance: DagsterInstance, project: Path, env: dict[str, str]) -> tuple[dict[str, str], int]:
    """Create a run of the project's job (counting connections), run the job, then the partitioned run."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        recon = reconstructable_job(project / "definitions.py", "everything")
        with ConnectionCounter() as counter:
            created = instance.create_run_for_job(job_def=recon.get_definition())
        result = execute_job(recon, instance=instance, raise_on_error=True)
    assert result.success
    partitioned = dg.materialize(
        [daily, daily_positive],
        instance=instance,
        tags={"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-01-04"},
    )
    assert partitioned.success
    run_ids = {"created": created.run_id, "everything": result.run_id, "daily": partitioned.run_id}
    return run_ids, counter.connections


@pytest.fixture
def unset_batch_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with ``DAGSTER_EVENT_BATCH_SIZE`` unset (when set, it decides for floe's storage too)."""
    monkeypatch.delenv(BATCH_ENV, raising=False)


def _compare(tmp_path: Path, copy_project: Any, storage: str, urls: dict[bool, str | None]) -> None:
    outcomes: dict[bool, tuple[list[Any], dict[str, Any], int, str | None]] = {}
    for floe in (False, True):
        copy = copy_project(
            tmp_path / ("floe" if floe else "dagster"),
            package=f"events_{storage}_{'floe' if floe else 'dagster'}_assets",
        )
        home = copy.root / ".floe" / "dagster"
        with _open(home, _instance_config(storage, home, urls[floe], floe=floe)) as instance:
            run_ids, connections = _run_jobs(instance, copy.root, copy.env)
            batch_size = os.environ.get(BATCH_ENV)
            records = [_run_records(instance, run_id) for run_id in run_ids.values()]
            outcomes[floe] = (records, _asset_state(instance, run_ids, records), connections, batch_size)
    dagster_records, dagster_state, dagster_connections, dagster_batch = outcomes[False]
    floe_records, floe_state, floe_connections, floe_batch = outcomes[True]
    assert dagster_batch is None
    assert floe_batch is None  # floe's storage writes no process-wide variable
    for floe_run, dagster_run in zip(floe_records, dagster_records, strict=True):
        differing = [(ours, theirs) for ours, theirs in zip(floe_run, dagster_run, strict=False) if ours != theirs]
        assert not differing, differing[:3]
        assert len(floe_run) == len(dagster_run)
    assert floe_state == dagster_state
    planned = sum(1 for record in dagster_records[0] if "PLANNED" in str(record[1]))
    assert planned >= 4  # two dbt models, the Python asset, the dbt test
    # Dagster's storage opens two connections or more per planned event; floe's one per database for the batch
    assert dagster_connections - floe_connections >= planned, (dagster_connections, floe_connections)


def test_sqlite_event_batches_store_what_dagster_stores(
    tmp_path: Path, copy_project: Any, unset_batch_size: None
) -> None:
    _compare(tmp_path, copy_project, "sqlite", {False: None, True: None})


def test_postgres_event_batches_store_what_dagster_stores(
    tmp_path: Path, copy_project: Any, unset_batch_size: None, postgres_server: PostgresServer
) -> None:
    pytest.importorskip("dagster_postgres")
    with (
        postgres_server.fresh_database("events_dagster") as dagster_db,
        postgres_server.fresh_database("events_floe") as floe_db,
    ):
        _compare(tmp_path, copy_project, "postgres", {False: dagster_db.sqlalchemy_url, True: floe_db.sqlalchemy_url})


# with DAGSTER_EVENT_BATCH_SIZE=0, the pool (test_event_log_connections.py) off too, to count the events' writes
@pytest.mark.parametrize(("disable", "size"), [("", None), ("event_batch", None), ("event_log_pool", "0")])
def test_planned_events_are_one_transaction_unless_disabled_or_the_variable_says_no(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    disable: str,
    size: str | None,
) -> None:
    """``FLOE_COMPAT_DISABLE=event_batch`` (the probe's fallback) and ``DAGSTER_EVENT_BATCH_SIZE=0`` write each
    planned event on its own, as Dagster does; the fallback says so once."""
    monkeypatch.setenv("FLOE_COMPAT_DISABLE", disable)
    if size is None:
        monkeypatch.delenv(BATCH_ENV, raising=False)
    else:
        monkeypatch.setenv(BATCH_ENV, size)

    @dg.asset
    def first() -> None: ...

    @dg.asset(deps=[first])
    def second() -> None: ...

    @dg.asset_check(asset=second)
    def second_ok() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    job = dg.Definitions(assets=[first, second], asset_checks=[second_ok]).resolve_implicit_global_asset_job_def()
    connections = {}
    for floe in (False, True):
        home = tmp_path / str(floe)
        with _open(home, _instance_config("sqlite", home, None, floe=floe)) as instance:
            instance.get_runs_count()  # the storages exist before counting
            with ConnectionCounter() as counter:
                instance.create_run_for_job(job_def=job)
            connections[floe] = counter.connections
    warned = "event_batch is unavailable" in caplog.text
    if disable or size == "0":
        assert connections[True] == connections[False]
        assert warned == (disable == "event_batch")
    else:
        assert connections[False] - connections[True] >= 3  # three planned events: two or more connections each
        assert not warned
