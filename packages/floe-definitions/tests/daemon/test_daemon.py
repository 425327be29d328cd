"""floe under the real Dagster daemon, through floe's own entry points, on SQLite and on PostgreSQL.

One ``floe dev`` per storage serves the project on the instance floe rendered from platform.yaml; ``floe backfill``
and ``floe run`` are run beside it as a user would. A file starts exactly one run; an idle directory starts none;
twenty files start twenty runs, none twice; a restart of ``floe dev`` with files landing while it is down loses
and repeats none; the asset sensor starts ``transform`` after ``bronze/landed`` materializes; a failing ``ingest``
run starts ``alert``; the per-minute schedule (cron and switch from environment variables through floe.yaml's
interpolation) produces its runs; an invalid floe.yaml is reported, located, on reload and a fixed one recovers;
a backfill created by ``floe backfill`` is executed by the daemon ``floe dev`` started; a ``floe run`` shows in
the webserver's runs; and, last, the (at least) 50 runs the daemon launched in the round all went through the
instance's run launcher (floe's warm one on SQLite), succeeded and have their spans and lineage. Each test drops its
own files and checks only its own runs, so any order works (the last one drops files to make up 50 if it runs alone).
Everything is observed by polling the instance or the webserver's GraphQL API.
"""

from __future__ import annotations

import json
import time
from typing import Any

from dagster import AssetKey, DagsterRun, DagsterRunStatus, RunsFilter

from floe_definitions.telemetry.run_trace import run_trace_id
from floe_definitions.warm.launcher import PID_TAG
from floe_test_support.dagster_internals import SCHEDULED_EXECUTION_TIME_TAG
from otlp_spans import read_spans

FIRST_RUN_TIMEOUT = 60.0  # the bound from file drop to the run being created
RUN_TIMEOUT = 240.0  # generous: each run is its own process on a loaded 2-core machine


def _drop(dev: Any, *names: str) -> float:
    """Write files into the watched directory (via a temporary name, as a real upload would); return the time."""
    moment = time.time()
    for name in names:
        temporary = dev.incoming / f".{name}.part"
        temporary.write_text("id,value\n1,a\n", encoding="utf-8")
        temporary.rename(dev.incoming / name)
    return moment


def _succeeded(runs: list[Any]) -> bool:
    return all(run.status == DagsterRunStatus.SUCCESS for run in runs)


def test_one_file_starts_exactly_one_run_within_60_s_and_it_succeeds(dagster_dev: Any) -> None:
    dev = dagster_dev
    dev.wait_until(lambda: dev.sensor_ticks("new_files") >= 1, timeout=RUN_TIMEOUT, what="file watcher never ticked")
    dropped = _drop(dev, "first.csv")
    runs = dev.wait_until(
        lambda: dev.runs_by_file().get("first.csv"), timeout=FIRST_RUN_TIMEOUT, what="no run for first.csv"
    )
    assert len(runs) == 1
    created = dev.created_seconds_after(runs[0], dropped)
    finished = dev.wait_for_runs_to_finish(runs, RUN_TIMEOUT)
    started = dev.started_seconds_after(runs[0], dropped)
    print(f"file watcher: run created {created:.1f} s and started {started:.1f} s after the file landed")
    assert _succeeded(finished)
    assert finished[0].tags["floe/file_path"] == str(dev.incoming / "first.csv")


def test_idle_directory_starts_no_further_run(dagster_dev: Any) -> None:
    dev = dagster_dev
    before = len(dev.runs("ingest"))
    ticks = dev.sensor_ticks("new_files")
    dev.wait_until(lambda: dev.sensor_ticks("new_files") >= ticks + 3, timeout=RUN_TIMEOUT, what="sensor stopped")
    assert len(dev.runs("ingest")) == before


def test_twenty_files_start_twenty_runs_none_twice(dagster_dev: Any) -> None:
    dev = dagster_dev
    names = [f"batch_{index:02d}.csv" for index in range(20)]
    _drop(dev, *names)
    dev.wait_until(
        lambda: all(dev.runs_by_file().get(name) for name in names),
        timeout=RUN_TIMEOUT,
        what="not every file got a run",
    )
    runs = [run for name in names for run in dev.runs_by_file()[name]]
    assert len(runs) == 20
    assert _succeeded(dev.wait_for_runs_to_finish(runs, RUN_TIMEOUT * 2))
    ticks = dev.sensor_ticks("new_files")
    dev.wait_until(lambda: dev.sensor_ticks("new_files") >= ticks + 2, timeout=RUN_TIMEOUT, what="sensor stopped")
    by_file = dev.runs_by_file()
    assert {name: len(by_file[name]) for name in names} == dict.fromkeys(names, 1)


def test_daemon_restart_loses_and_repeats_no_file(dagster_dev: Any) -> None:
    dev = dagster_dev
    # Let in-flight runs finish first: this test is about the sensor's memory across a restart, and stopping
    # dagster dev also ends the run processes it launched.
    dev.wait_for_runs_to_finish([run for run in dev.runs() if not run.is_finished], RUN_TIMEOUT * 2)
    dev.stop()
    assert not dev.alive()
    late = [f"while_down_{index}.csv" for index in range(3)]
    _drop(dev, *late)
    dev.start()
    dev.wait_until(
        lambda: all(dev.runs_by_file().get(name) for name in late), timeout=RUN_TIMEOUT, what="files lost in restart"
    )
    ticks = dev.sensor_ticks("new_files")
    dev.wait_until(lambda: dev.sensor_ticks("new_files") >= ticks + 2, timeout=RUN_TIMEOUT, what="sensor stopped")
    counts = {name: len(found) for name, found in dev.runs_by_file().items()}
    assert all(count == 1 for count in counts.values()), counts  # no file before or during the restart ran twice
    assert {name: counts[name] for name in late} == dict.fromkeys(late, 1)
    assert _succeeded(dev.wait_for_runs_to_finish([run for n in late for run in dev.runs_by_file()[n]], RUN_TIMEOUT))


def test_asset_sensor_starts_transform_after_bronze_materializes(dagster_dev: Any) -> None:
    dev = dagster_dev
    # A fresh materialization of bronze/landed, and a transform run the sensor requests after it: earlier
    # transform runs may have been cut off by a restart (stopping floe dev ends its run workers).
    _drop(dev, "for_transform.csv")
    ingest = dev.wait_until(
        lambda: dev.runs_by_file().get("for_transform.csv"), timeout=RUN_TIMEOUT, what="no run for for_transform.csv"
    )
    assert _succeeded(dev.wait_for_runs_to_finish(ingest, RUN_TIMEOUT))
    materialized = dev.instance.get_run_record_by_id(ingest[0].run_id)
    assert materialized is not None
    assert materialized.end_time is not None

    def transform_after_it() -> list[Any]:
        return [
            run
            for run in dev.runs("transform", tags={"dagster/sensor_name": "on_bronze"})
            if dev.created_seconds_after(run, materialized.end_time) > 0
        ]

    runs = dev.wait_until(transform_after_it, timeout=RUN_TIMEOUT, what="the asset sensor never requested transform")
    finished = dev.wait_for_runs_to_finish(runs, RUN_TIMEOUT)
    assert _succeeded(finished), [(run.run_id[:8], run.status) for run in finished]


def test_run_status_sensor_starts_alert_after_a_failed_run(dagster_dev: Any) -> None:
    dev = dagster_dev
    _drop(dev, "poison.csv")
    failed = dev.wait_until(lambda: dev.runs_by_file().get("poison.csv"), timeout=RUN_TIMEOUT, what="no poison run")
    assert [run.status for run in dev.wait_for_runs_to_finish(failed, RUN_TIMEOUT)] == [DagsterRunStatus.FAILURE]
    # The alert for this test's failed run (floe's run-status sensor tags it with the run it reacts to): another
    # test's ingest run failed by a restart (run monitoring) gets its own alert, whichever order the tests run in.
    triggered = {"dagster/sensor_name": "on_failure", "floe/triggered_by_run": failed[0].run_id}
    alerts = dev.wait_until(
        lambda: dev.runs("alert", tags=triggered),
        timeout=RUN_TIMEOUT,
        what="the run-status sensor never requested alert",
    )
    assert len(alerts) == 1
    assert _succeeded(dev.wait_for_runs_to_finish(alerts, RUN_TIMEOUT))


def test_per_minute_schedule_from_environment_override_runs(dagster_dev: Any) -> None:
    dev = dagster_dev
    # A run of a tick after this test began: an earlier one may have been cut off by the restart test's stop.
    began = time.time()

    def ticks_since() -> list[Any]:
        scheduled = dev.runs("ticker", tags={"dagster/schedule_name": "every_minute"})
        return [run for run in scheduled if dev.created_seconds_after(run, began) > 0]

    runs = dev.wait_until(ticks_since, timeout=150, what="the per-minute schedule produced no run")
    finished = dev.wait_for_runs_to_finish(runs[-1:], RUN_TIMEOUT)
    assert _succeeded(finished)
    # Dagster tags each scheduled run with its tick's time: whole minutes, as the overridden cron says.
    scheduled = finished[0].tags[SCHEDULED_EXECUTION_TIME_TAG]
    assert scheduled.endswith(":00+00:00") or scheduled.endswith(":00Z"), scheduled


def test_invalid_floe_yaml_is_reported_located_on_reload_and_a_fix_recovers(dagster_dev: Any) -> None:
    dev = dagster_dev
    floe_yaml = dev.project / "floe.yaml"
    original = floe_yaml.read_text(encoding="utf-8")
    broken_line = next(i for i, line in enumerate(original.splitlines(), 1) if line.strip() == "job: ticker")
    floe_yaml.write_text(original.replace("job: ticker", "job: tickr"), encoding="utf-8")
    try:
        entry = dev.reload_location()
        error = entry["locationOrLoadError"]
        assert error["__typename"] == "PythonError"
        messages = [error["message"], *(cause["message"] for cause in error["causes"])]
        expected = f"{floe_yaml}:{broken_line}:12: orchestration.schedules.every_minute.job: unknown job 'tickr'"
        assert any(expected in message for message in messages), messages
        assert not any("Traceback" in message for message in messages)
        assert dev.alive()
    finally:
        floe_yaml.write_text(original, encoding="utf-8")
    entry = dev.reload_location()
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"
    jobs = {job["name"] for repo in entry["locationOrLoadError"]["repositories"] for job in repo["jobs"]}
    assert {"ingest", "transform", "alert", "ticker"} <= jobs
    assert dev.alive()


def test_backfill_from_floe_backfill_is_executed_by_the_daemon_floe_dev_started(dagster_dev: Any) -> None:
    dev = dagster_dev
    launched = dev.floe("backfill", "first_days")
    assert launched.returncode == 0, launched.stderr[-3000:]
    backfill_id = launched.stdout.split(" as backfill ", 1)[1].split(";", 1)[0]
    assert dev.instance.get_backfill(backfill_id) is not None  # on the instance floe dev's daemon reads

    def backfill_runs() -> list[Any]:
        return list(dev.instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill_id})))

    # 3 partitions, at most 2 per run (floe.yaml's batch_size): the daemon launches 2 runs of daily/count.
    runs = dev.wait_until(lambda: len(backfill_runs()) == 2 and backfill_runs(), timeout=RUN_TIMEOUT, what="no runs")
    finished = dev.wait_for_runs_to_finish(runs, RUN_TIMEOUT)
    assert _succeeded(finished), [(run.run_id[:8], run.status) for run in finished]
    assert all(run.asset_selection == {AssetKey(["daily", "count"])} for run in finished)
    materialized = dev.instance.get_materialized_partitions(AssetKey(["daily", "count"]))
    assert materialized == {"2024-01-01", "2024-01-02", "2024-01-03"}


RUNS_QUERY = """query($ids: [String!]) { runsOrError(filter: {runIds: $ids}) {
    __typename ... on Runs { results { runId jobName status } } } }"""


def test_floe_run_shows_in_the_webserver_floe_dev_serves(dagster_dev: Any) -> None:
    dev = dagster_dev
    completed = dev.floe("run", "ticker")
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    run_id = completed.stdout.splitlines()[-1].rsplit("(run ", 1)[1].rstrip(")")
    runs = dev.graphql(RUNS_QUERY, {"ids": [run_id]})["runsOrError"]["results"]
    assert runs == [{"runId": run_id, "jobName": "ticker", "status": "SUCCESS"}]


DAEMON_LAUNCHED_TAGS = ("dagster/schedule_name", "dagster/sensor_name", "dagster/backfill")
"""A run carrying one of these was created and launched by the daemon (a schedule tick, a sensor tick, a backfill)."""
DAEMON_RUNS = 50


def _daemon_runs(dev: Any) -> tuple[list[DagsterRun], list[DagsterRun]]:
    """Wait for the daemon's runs so far to finish; return (the runs counted, the runs left out and why).

    Left out: the ingest runs of ``poison.csv`` (failing on purpose) and runs a stop of ``floe dev`` cut off (created
    before the stop, ending after it without success: stopping ``floe dev`` ends the runs it launched).
    """
    launched = [run for run in dev.runs() if any(tag in run.tags for tag in DAEMON_LAUNCHED_TAGS)]
    finished = dev.wait_for_runs_to_finish(launched, RUN_TIMEOUT * 2)
    counted, left_out = [], []
    for run in finished:
        record = dev.instance.get_run_record_by_id(run.run_id)
        created, ended = record.create_timestamp.timestamp(), record.end_time or time.time()
        cut_off = any(created < stop < ended for stop in dev.stopped_at) and run.status != DagsterRunStatus.SUCCESS
        (left_out if cut_off or run.tags.get("floe/file_name") == "poison.csv" else counted).append(run)
    return counted, left_out


def _missing_telemetry(dev: Any, runs: list[DagsterRun]) -> list[str]:
    """The runs without their run span or without their lineage run's START and COMPLETE (each file read once)."""
    spans = [span for path in (dev.project / ".floe" / "traces").glob("*.jsonl") for span in read_spans(path)]
    traced = {int(span["context"]["trace_id"], 16) for span in spans if span["name"].startswith("dagster run ")}
    events: dict[str, set[str]] = {}
    for path in (dev.project / ".floe" / "lineage").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                event = json.loads(line)
                events.setdefault(event["run"]["runId"], set()).add(event["eventType"])
    missing = []
    for run in runs:
        if run_trace_id(run.run_id) not in traced:
            missing.append(f"{run.run_id[:8]} ({run.job_name}): no 'dagster run' span")
        if not {"START", "COMPLETE"} <= events.get(run.run_id, set()):
            missing.append(f"{run.run_id[:8]} ({run.job_name}): lineage {sorted(events.get(run.run_id, set()))}")
    return missing


def test_fifty_runs_the_daemon_launched_went_through_the_launcher_succeeded_and_have_spans_and_lineage(
    dagster_dev: Any,
) -> None:
    dev = dagster_dev
    counted, _ = _daemon_runs(dev)
    if len(counted) < DAEMON_RUNS:  # this test ran without the others: files make up the number
        names = [f"make_up_{index:02d}.csv" for index in range(DAEMON_RUNS - len(counted))]
        _drop(dev, *names)
        dev.wait_until(
            lambda: all(dev.runs_by_file().get(name) for name in names), timeout=RUN_TIMEOUT, what="files without runs"
        )
    if not any("dagster/schedule_name" in run.tags for run in counted):
        dev.wait_until(
            lambda: dev.runs("ticker", tags={"dagster/schedule_name": "every_minute"}), timeout=150, what="no tick"
        )
    counted, left_out = _daemon_runs(dev)
    print(
        f"daemon-launched runs: {len(counted)} counted; left out {len(left_out)}: "
        f"{[(run.run_id[:8], run.job_name, run.status.value, run.tags.get('floe/file_name')) for run in left_out]}"
    )

    assert len(counted) >= DAEMON_RUNS
    assert [(run.run_id[:8], run.job_name, run.status.value) for run in counted if run.status.value != "SUCCESS"] == []
    assert any("dagster/schedule_name" in run.tags for run in counted)
    assert any("dagster/sensor_name" in run.tags for run in counted)
    # SQLite renders floe's warm launcher (every run a fork of the warm process, which tags it with its pid);
    # a Postgres instance keeps Dagster's launcher unless platform.yaml opts in (instance.run_launcher: warm).
    warm = dev.postgres_url is None
    assert [run.run_id[:8] for run in counted if (PID_TAG in run.tags) != warm] == []
    # A run's process exports its spans and lineage as it ends: the last runs' may land a moment after their status.
    deadline = time.monotonic() + 60
    while _missing_telemetry(dev, counted) and time.monotonic() < deadline:
        time.sleep(2)
    assert _missing_telemetry(dev, counted) == []
