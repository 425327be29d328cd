from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from floe_loaders import build_orchestration
from floe_loaders.errors import TargetFunctionError, UnknownReferenceError
from floe_loaders.file_watcher import FILE_PATH_TAG, build_file_watcher_sensor


def _defs(make_spec, sample_dir: Path, **orchestration) -> dg.Definitions:
    return dg.Definitions(**build_orchestration(make_spec(**orchestration), sample_dir).definitions_args())


def _tick(defs: dg.Definitions, name: str, instance, cursor: str | None = None):
    sensor = defs.resolve_sensor_def(name)
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))


SEED = {"seed": {"type": "batch", "selection": ["group:bronze"]}}


def _watcher(make_spec, sample_dir, incoming: Path, **extra) -> dg.Definitions:
    sensor = {"type": "file_watcher", "job": "seed", "path": str(incoming), "pattern": "*.csv", **extra}
    return _defs(make_spec, sample_dir, jobs=SEED, sensors={"new_files": sensor})


def test_file_watcher_one_request_per_new_file_with_path_in_tags(make_spec, sample_dir, tmp_path, instance) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "a.csv").write_text("1\n")
    (incoming / "b.csv").write_text("22\n")
    (incoming / "ignored.tmp").write_text("x")
    defs = _watcher(make_spec, sample_dir, incoming, poll_interval_seconds=45)
    assert defs.resolve_sensor_def("new_files").minimum_interval_seconds == 45
    first = _tick(defs, "new_files", instance)
    paths = sorted(r.tags[FILE_PATH_TAG] for r in first.run_requests)
    assert paths == [str(incoming / "a.csv"), str(incoming / "b.csv")]
    stat = (incoming / "a.csv").stat()
    assert f"a.csv:{stat.st_size}:{stat.st_mtime_ns}" in {r.run_key for r in first.run_requests}
    # the requested run executes with the file's tags
    request = first.run_requests[0]
    result = defs.resolve_job_def("seed").execute_in_process(instance=instance, tags=request.tags)
    assert instance.get_run_by_id(result.run_id).tags[FILE_PATH_TAG] == request.tags[FILE_PATH_TAG]


def test_file_watcher_cursor_survives_a_restart(make_spec, sample_dir, tmp_path, instance) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "a.csv").write_text("1\n")
    first = _tick(_watcher(make_spec, sample_dir, incoming), "new_files", instance)
    assert len(first.run_requests) == 1
    # a fresh build of everything (a restarted code location) resumes from the stored cursor
    restarted = _watcher(make_spec, sample_dir, incoming)
    second = _tick(restarted, "new_files", instance, cursor=first.cursor)
    assert second.run_requests == []
    assert "no new or changed file" in (second.skip_message or "")
    (incoming / "b.csv").write_text("2\n")
    third = _tick(restarted, "new_files", instance, cursor=second.cursor)
    assert [r.tags["floe/file_name"] for r in third.run_requests] == ["b.csv"]


def test_file_watcher_changed_file_yields_exactly_one_new_request(make_spec, sample_dir, tmp_path, instance) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    target = incoming / "a.csv"
    target.write_text("1\n")
    defs = _watcher(make_spec, sample_dir, incoming)
    first = _tick(defs, "new_files", instance)
    with target.open("a") as handle:
        handle.write("2\n")
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # make the change visible in mtime
    second = _tick(defs, "new_files", instance, cursor=first.cursor)
    assert len(second.run_requests) == 1
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert second.run_requests[0].run_key.startswith("a.csv:4:")
    third = _tick(defs, "new_files", instance, cursor=second.cursor)
    assert third.run_requests == []


def test_file_watcher_thousand_files_between_ticks(make_spec, sample_dir, tmp_path, instance) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    defs = _watcher(make_spec, sample_dir, incoming)
    empty = _tick(defs, "new_files", instance)
    assert empty.run_requests == []
    for i in range(1000):
        (incoming / f"f{i:04d}.csv").write_text(str(i))
    second = _tick(defs, "new_files", instance, cursor=empty.cursor)
    assert len(second.run_requests) == 1000
    assert len({r.run_key for r in second.run_requests}) == 1000
    assert len(second.cursor or "") < 60_000
    third = _tick(defs, "new_files", instance, cursor=second.cursor)
    assert third.run_requests == []


def test_file_watcher_recursive(make_spec, sample_dir, tmp_path, instance) -> None:
    incoming = tmp_path / "incoming"
    (incoming / "2024" / "05").mkdir(parents=True)
    (incoming / "2024" / "05" / "deep.csv").write_text("1")
    (incoming / "top.csv").write_text("1")
    flat = _tick(_watcher(make_spec, sample_dir, incoming), "new_files", instance)
    assert [r.tags["floe/file_name"] for r in flat.run_requests] == ["top.csv"]
    deep = _tick(_watcher(make_spec, sample_dir, incoming, recursive=True), "new_files", instance)
    assert sorted(r.tags["floe/file_name"] for r in deep.run_requests) == ["2024/05/deep.csv", "top.csv"]


def test_file_watcher_missing_or_unreadable_directory_skips(make_spec, sample_dir, tmp_path, instance) -> None:
    missing = _tick(_watcher(make_spec, sample_dir, tmp_path / "nope"), "new_files", instance)
    assert missing.run_requests == []
    assert "does not exist" in (missing.skip_message or "")
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    unreadable = _tick(_watcher(make_spec, sample_dir, not_a_dir), "new_files", instance)
    assert "cannot read watched directory" in (unreadable.skip_message or "")


def test_file_watcher_relative_path_resolves_against_floe_yaml_dir(tmp_path, instance) -> None:
    (tmp_path / "incoming").mkdir()
    (tmp_path / "incoming" / "a.csv").write_text("1")
    sensor = build_file_watcher_sensor("w", "./incoming", job_name="seed", base_dir=tmp_path)
    result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert [r.tags[FILE_PATH_TAG] for r in result.run_requests] == [str(tmp_path / "incoming" / "a.csv")]


def test_file_watcher_passes_the_path_as_run_config_to_ops_jobs(make_spec, sample_dir, tmp_path, instance) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "a.csv").write_text("1")
    defs = _defs(
        make_spec,
        sample_dir,
        jobs={"ingest": {"type": "ops", "target_function": ".shop_assets.ops:ingest_file"}},
        sensors={"files": {"type": "file_watcher", "job": "ingest", "path": str(incoming)}},
    )
    request = _tick(defs, "files", instance).run_requests[0]
    result = defs.resolve_job_def("ingest").execute_in_process(instance=instance, run_config=request.run_config)
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert outputs[0].event_specific_data.metadata["return_value"].value == f"ingested {incoming / 'a.csv'}"


def _asset_sensor_defs(make_spec, sample_dir, trigger: str) -> dg.Definitions:
    return _defs(
        make_spec,
        sample_dir,
        jobs={"transform": {"type": "batch", "selection": ["group:silver"]}, **SEED},
        sensors={
            "on_bronze": {
                "type": "asset_sensor",
                "job": "transform",
                "trigger": trigger,
                "watched_assets": ["bronze/raw_orders", "bronze/raw_customers"],
            }
        },
    )


def _materialize(defs: dg.Definitions, key: str, instance) -> None:
    job = defs.resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=instance, asset_selection=[dg.AssetKey(key.split("/"))]).success


def test_asset_sensor_any(make_spec, sample_dir, instance) -> None:
    defs = _asset_sensor_defs(make_spec, sample_dir, "any")
    idle = _tick(defs, "on_bronze", instance)
    assert idle.run_requests == []
    _materialize(defs, "bronze/raw_orders", instance)
    fired = _tick(defs, "on_bronze", instance, cursor=idle.cursor)
    assert len(fired.run_requests) == 1
    assert fired.run_requests[0].tags["floe/triggered_by_assets"] == "bronze/raw_orders"
    again = _tick(defs, "on_bronze", instance, cursor=fired.cursor)
    assert again.run_requests == []
    assert (
        defs.resolve_job_def("transform").execute_in_process(instance=instance, tags=fired.run_requests[0].tags).success
    )


def test_asset_sensor_all_waits_for_every_asset(make_spec, sample_dir, instance) -> None:
    defs = _asset_sensor_defs(make_spec, sample_dir, "all")
    started = _tick(defs, "on_bronze", instance)
    _materialize(defs, "bronze/raw_orders", instance)
    waiting = _tick(defs, "on_bronze", instance, cursor=started.cursor)
    assert waiting.run_requests == []
    assert "bronze/raw_customers" in (waiting.skip_message or "")
    _materialize(defs, "bronze/raw_customers", instance)
    fired = _tick(defs, "on_bronze", instance, cursor=waiting.cursor)
    assert len(fired.run_requests) == 1
    _materialize(defs, "bronze/raw_orders", instance)
    partial = _tick(defs, "on_bronze", instance, cursor=fired.cursor)
    assert partial.run_requests == []


def test_asset_sensor_requests_the_materialized_partition(make_spec, sample_dir, instance) -> None:
    defs = _defs(
        make_spec,
        sample_dir,
        partitions={"daily": {"type": "daily", "start": "2024-01-01"}},
        assets={"bronze/*": {"partitions": "daily"}, "silver/*": {"partitions": "daily"}},
        jobs={"transform": {"type": "batch", "selection": ["group:silver"]}, **SEED},
        sensors={"on_orders": {"type": "asset_sensor", "job": "transform", "watched_assets": ["bronze/raw_orders"]}},
    )
    started = _tick(defs, "on_orders", instance)
    assert defs.resolve_job_def("seed").execute_in_process(instance=instance, partition_key="2024-02-02").success
    fired = _tick(defs, "on_orders", instance, cursor=started.cursor)
    assert [r.partition_key for r in fired.run_requests] == ["2024-02-02"]


def test_asset_sensor_first_tick_only_starts_watching(make_spec, sample_dir, instance) -> None:
    defs = _asset_sensor_defs(make_spec, sample_dir, "any")
    _materialize(defs, "bronze/raw_orders", instance)  # before the sensor runs, e.g. before `floe dev` starts
    started = _tick(defs, "on_bronze", instance)
    assert started.run_requests == []
    assert "started watching" in (started.skip_message or "")
    _materialize(defs, "bronze/raw_orders", instance)
    fired = _tick(defs, "on_bronze", instance, cursor=started.cursor)
    assert len(fired.run_requests) == 1


def test_asset_sensor_unpartitioned_target_reacts_to_the_newest_partition_not_to_backfills(
    make_spec, sample_dir, instance
) -> None:
    defs = _defs(
        make_spec,
        sample_dir,
        partitions={"daily": {"type": "daily", "start": "2024-01-01", "end": "2024-03-03"}},
        assets={"bronze/*": {"partitions": "daily"}},
        jobs={"transform": {"type": "batch", "selection": ["group:silver"]}, **SEED},
        sensors={"on_orders": {"type": "asset_sensor", "job": "transform", "watched_assets": ["bronze/raw_orders"]}},
    )
    seed = defs.resolve_job_def("seed")
    started = _tick(defs, "on_orders", instance)
    # The newest partition (2024-03-02; the range ends before 2024-03-03) requests one transform.
    assert seed.execute_in_process(instance=instance, partition_key="2024-03-02").success
    newest = _tick(defs, "on_orders", instance, cursor=started.cursor)
    assert len(newest.run_requests) == 1
    assert newest.run_requests[0].partition_key is None
    # A backfill of January, in batches: older partitions than the newest seen request no transform at all.
    cursor = newest.cursor
    for batch_keys in (("2024-01-01", "2024-01-02"), ("2024-01-03",)):
        for partition_key in batch_keys:
            assert seed.execute_in_process(instance=instance, partition_key=partition_key).success
        batch = _tick(defs, "on_orders", instance, cursor=cursor)
        assert batch.run_requests == []
        cursor = batch.cursor
    # Re-running the newest partition (twice before the next tick) requests one transform again.
    assert seed.execute_in_process(instance=instance, partition_key="2024-03-02").success
    assert seed.execute_in_process(instance=instance, partition_key="2024-03-02").success
    later = _tick(defs, "on_orders", instance, cursor=cursor)
    assert len(later.run_requests) == 1


def test_asset_sensor_ignores_a_backfill_on_an_instance_without_newer_data(make_spec, sample_dir, instance) -> None:
    defs = _defs(
        make_spec,
        sample_dir,
        partitions={"daily": {"type": "daily", "start": "2024-01-01", "end": "2024-03-03"}},
        assets={"bronze/*": {"partitions": "daily"}},
        jobs={"transform": {"type": "batch", "selection": ["group:silver"]}, **SEED},
        sensors={"on_orders": {"type": "asset_sensor", "job": "transform", "watched_assets": ["bronze/raw_orders"]}},
    )
    cursor = _tick(defs, "on_orders", instance).cursor
    for partition_key in ("2024-01-01", "2024-01-02"):  # batches in ascending order, each newer than the last
        assert defs.resolve_job_def("seed").execute_in_process(instance=instance, partition_key=partition_key).success
        batch = _tick(defs, "on_orders", instance, cursor=cursor)
        assert batch.run_requests == []
        cursor = batch.cursor


def test_asset_sensor_unknown_watched_asset_is_an_error(make_spec, sample_dir) -> None:
    spec = make_spec(
        jobs=SEED, sensors={"s": {"type": "asset_sensor", "job": "seed", "watched_assets": ["bronze/nope"]}}
    )
    with pytest.raises(UnknownReferenceError, match="watched asset 'bronze/nope' does not exist") as info:
        build_orchestration(spec, sample_dir)
    assert info.value.path == "orchestration.sensors.s.watched_assets.0"


def test_run_status_sensor_requests_job_when_watched_job_fails(make_spec, sample_dir, instance) -> None:
    defs = _defs(
        make_spec,
        sample_dir,
        jobs={
            "transform": {"type": "ops", "target_function": ".shop_assets.ops:fail_loudly"},
            "alert": {"type": "ops", "target_function": ".shop_assets.ops:notify_failure"},
        },
        sensors={
            "on_failure": {
                "type": "run_status",
                "job": "alert",
                "watched_jobs": ["transform"],
                "status": "FAILURE",
                "poll_interval_seconds": 10,
            }
        },
    )
    sensor = defs.resolve_sensor_def("on_failure")
    assert isinstance(sensor, dg.RunStatusSensorDefinition)
    assert sensor.minimum_interval_seconds == 10
    failed = defs.resolve_job_def("transform").execute_in_process(instance=instance, raise_on_error=False)
    assert not failed.success
    run = instance.get_run_by_id(failed.run_id)
    context = dg.build_run_status_sensor_context(
        sensor_name="on_failure",
        dagster_event=failed.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=run,
    )
    request = sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["floe/triggered_by_run"] == failed.run_id
    assert defs.resolve_job_def("alert").execute_in_process(instance=instance, tags=request.tags).success


def test_run_status_sensor_unknown_watched_job(make_spec, sample_dir) -> None:
    spec = make_spec(
        jobs=SEED, sensors={"s": {"type": "run_status", "job": "seed", "watched_jobs": ["nope"], "status": "SUCCESS"}}
    )
    with pytest.raises(UnknownReferenceError) as info:
        build_orchestration(spec, sample_dir)
    assert info.value.path == "orchestration.sensors.s.watched_jobs.0"


def test_custom_sensor_bool_and_run_requests(make_spec, sample_dir, instance) -> None:
    defs = _defs(
        make_spec,
        sample_dir,
        jobs=SEED,
        sensors={
            "yes": {
                "type": "custom",
                "job": "seed",
                "target_function": ".shop_assets.ops:flag_sensor",
                "args": {"flag": True},
            },
            "no": {
                "type": "custom",
                "job": "seed",
                "target_function": ".shop_assets.ops:flag_sensor",
                "args": {"flag": False},
            },
            "keyed": {
                "type": "custom",
                "job": "seed",
                "target_function": ".shop_assets.ops:keyed_sensor",
                "args": {"keys": ["a", "b"]},
            },
        },
    )
    assert len(_tick(defs, "yes", instance).run_requests) == 1
    no = _tick(defs, "no", instance)
    assert no.run_requests == []
    assert "returned False" in (no.skip_message or "")
    assert [r.run_key for r in _tick(defs, "keyed", instance).run_requests] == ["a", "b"]


def test_custom_sensor_respects_the_import_boundary(make_spec, sample_dir) -> None:
    spec = make_spec(jobs=SEED, sensors={"evil": {"type": "custom", "job": "seed", "target_function": "os:system"}})
    with pytest.raises(TargetFunctionError) as info:
        build_orchestration(spec, sample_dir)
    assert info.value.path == "orchestration.sensors.evil.target_function"


def test_disabled_sensor_is_stopped_by_default(make_spec, sample_dir, tmp_path) -> None:
    defs = _watcher(make_spec, sample_dir, tmp_path, enabled=False)
    assert defs.resolve_sensor_def("new_files").default_status == dg.DefaultSensorStatus.STOPPED
