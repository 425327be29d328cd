from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster
import pytest
from dagster import DagsterEventType, execute_job, instance_for_test

from floe_dbt_observe.tracing import dagster_step_span_context
from floe_definitions import _compat
from floe_definitions.telemetry.run_trace import run_span_id, run_trace_id
from floe_test_support.reconstruct import reconstructable_job
from otlp_spans import read_spans

PIPELINE = Path(__file__).parent / "pipelines" / "observed_pipeline.py"


STEP_EVENTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}


@dataclass(frozen=True)
class Ran:
    dir: Path
    result: Any
    step_times: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """(step key, event type value) -> the stored times (``EventLogEntry.timestamp``) of the run's step events."""


def _run(base: Path, job: str = "everything", tags: dict[str, str] | None = None, **env: str) -> Ran:
    """Execute the pipeline's job on a fresh instance, with a private copy of the pipeline file.

    A copy per run: Dagster caches a loaded file's module in the test process, and the pipeline reads its
    output directory and switches from the environment when it is imported.
    """
    base.mkdir(parents=True, exist_ok=True)
    pipeline = base / "observed_pipeline.py"
    shutil.copy(PIPELINE, pipeline)
    home = base / "dagster"
    home.mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("FLOE_TEST_DIR", str(base))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        with instance_for_test(temp_dir=str(home), set_dagster_home=False) as instance:
            recon = reconstructable_job(pipeline, job)
            result = execute_job(recon, instance=instance, raise_on_error=False, tags=tags)
            step_times: dict[tuple[str, str], list[float]] = {}
            for record in instance.get_records_for_run(result.run_id, of_type=STEP_EVENTS).records:
                event = record.event_log_entry.dagster_event
                assert event is not None
                assert event.step_key is not None
                step_times.setdefault((event.step_key, event.event_type_value), []).append(
                    record.event_log_entry.timestamp
                )
    return Ran(dir=base, result=result, step_times=step_times)


@pytest.fixture(scope="module")
def multiprocess_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """One real multiprocess run, shared: each step subprocess costs seconds on a 2-core machine."""
    return _run(tmp_path_factory.mktemp("multiprocess"))


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    return _run(tmp_path_factory.mktemp("failed"), FLOE_TEST_FAIL="1", FLOE_TEST_EXECUTOR="in_process")


@pytest.fixture(scope="module")
def ops_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """An ops job (no assets), in process."""
    return _run(tmp_path_factory.mktemp("ops"), "maintenance", FLOE_TEST_EXECUTOR="in_process")


@pytest.fixture(scope="module")
def partitioned_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """One daily partition of a Python asset with owners and tags, in process."""
    tags = {"dagster/partition": "2024-01-02", "requested_by": "tests"}
    return _run(tmp_path_factory.mktemp("dated"), "dated", tags, FLOE_TEST_EXECUTOR="in_process")


@pytest.fixture(scope="module")
def recorded_times_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """In process, with step times read back from the instance, as they are for Celery and Kubernetes."""
    return _run(tmp_path_factory.mktemp("recorded"), FLOE_TEST_EXECUTOR="in_process", FLOE_TEST_RECORDED_TIMES="1")


def _spans(tmp_path: Path) -> list[dict[str, Any]]:
    return read_spans(tmp_path / ".floe" / "traces" / "obs.jsonl")


def _lineage(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / ".floe" / "lineage" / "obs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _by_name(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {span["name"]: span for span in spans}


def test_multiprocess_run_is_one_trace_with_a_span_per_step(multiprocess_run: Ran) -> None:
    assert multiprocess_run.result.success
    run_id = multiprocess_run.result.run_id
    spans = _by_name(_spans(multiprocess_run.dir))
    assert set(spans) == {"dagster run everything", "bronze/raw", "silver/clean", "gold/report", "silver/modelled"}
    trace_ids = {span["context"]["trace_id"] for span in spans.values()}
    assert trace_ids == {f"0x{run_trace_id(run_id):032x}"}
    run_span = spans["dagster run everything"]
    assert run_span["context"]["span_id"] == f"0x{run_span_id(run_id):016x}"
    assert run_span["parent_id"] is None
    for name in ("bronze/raw", "silver/clean", "gold/report", "silver/modelled"):
        assert spans[name]["parent_id"] == run_span["context"]["span_id"]
        assert spans[name]["status"]["status_code"] == "UNSET"  # OpenTelemetry: success stays UNSET
    assert run_span["status"]["status_code"] == "UNSET"


def test_python_assets_get_start_and_complete_and_dbt_steps_get_no_lineage(multiprocess_run: Ran) -> None:
    events = _lineage(multiprocess_run.dir)
    by_job: dict[str, list[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job == {
        "everything": ["START", "COMPLETE"],  # the Dagster run itself
        "obs.bronze.raw": ["START", "COMPLETE"],
        "obs.silver.clean": ["START", "COMPLETE"],
        "obs.gold.report": ["START", "COMPLETE"],
    }


def test_lineage_datasets_connect_upstream_to_downstream(multiprocess_run: Ran) -> None:
    result = multiprocess_run.result
    complete = {e["job"]["name"]: e for e in _lineage(multiprocess_run.dir) if e["eventType"] == "COMPLETE"}
    raw_out = complete["obs.bronze.raw"]["outputs"]
    # the table the asset reported, in the namespace mapped to its storage kind
    assert [(d["namespace"], d["name"]) for d in raw_out] == [("duckdb:///warehouse.duckdb", "warehouse.bronze.raw")]
    assert [(d["namespace"], d["name"]) for d in complete["obs.silver.clean"]["outputs"]] == [
        ("dagster://obs", "silver/clean")
    ]
    assert [(d["namespace"], d["name"]) for d in complete["obs.gold.report"]["inputs"]] == [
        ("dagster://obs", "silver/clean")
    ]
    parent = complete["obs.gold.report"]["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == result.run_id
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("floe-test", "everything")


@pytest.mark.parametrize("ran", ["multiprocess_run", "failed_run", "ops_run", "partitioned_run"])
def test_every_event_validates_against_the_official_openlineage_schemas(
    ran: str, request: pytest.FixtureRequest, openlineage_conformance: ModuleType
) -> None:
    events = _lineage(request.getfixturevalue(ran).dir)
    counted, facets = openlineage_conformance.validate_events(events)
    print(f"{ran}: {counted} events, {facets} facets valid")
    assert counted == len(events) > 0


def test_failed_step_has_error_span_and_fail_event(failed_run: Ran) -> None:
    assert not failed_run.result.success
    spans = _by_name(_spans(failed_run.dir))
    assert spans["gold/report"]["status"]["status_code"] == "ERROR"
    assert "report exploded" in spans["gold/report"]["status"]["description"]
    assert spans["dagster run everything"]["status"]["status_code"] == "ERROR"
    assert spans["bronze/raw"]["status"]["status_code"] == "UNSET"
    report_events = [e for e in _lineage(failed_run.dir) if e["job"]["name"] == "obs.gold.report"]
    assert [e["eventType"] for e in report_events] == ["START", "FAIL"]
    assert "report exploded" in report_events[1]["run"]["facets"]["errorMessage"]["message"]


def test_failed_step_span_has_error_type_and_an_exception_event(failed_run: Ran) -> None:
    report = _by_name(_spans(failed_run.dir))["gold/report"]
    assert report["attributes"]["error.type"] == "ValueError"
    (event,) = [e for e in report["events"] if e["name"] == "exception"]
    assert event["attributes"]["exception.type"] == "ValueError"
    assert "report exploded" in event["attributes"]["exception.message"]


def test_step_spans_get_the_ids_a_dbt_step_derives_for_them(multiprocess_run: Ran) -> None:
    run_id = multiprocess_run.result.run_id
    for span in _spans(multiprocess_run.dir):
        step_key = span["attributes"].get("dagster.step_key")
        if step_key is not None:
            expected = dagster_step_span_context(run_id, step_key, span["attributes"]["dagster.step_attempt"])
            assert span["context"]["span_id"] == f"0x{expected.span_id:016x}"


def test_in_process_executor_is_observed_too(failed_run: Ran) -> None:
    spans = _spans(failed_run.dir)
    assert len(spans) == 5
    assert {span["context"]["trace_id"] for span in spans} == {f"0x{run_trace_id(failed_run.result.run_id):032x}"}


def test_failing_lineage_transport_never_fails_the_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ran = _run(tmp_path, FLOE_TEST_BROKEN_LINEAGE="1", FLOE_TEST_EXECUTOR="in_process")
    assert ran.result.success
    assert len(_spans(tmp_path)) == 5
    warnings = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert warnings
    assert warnings[0].startswith("floe: 8 OpenLineage event(s) not delivered")


def _dagster_run_events(ran: Ran) -> list[dict[str, Any]]:
    return [e for e in _lineage(ran.dir) if e["run"]["runId"] == ran.result.run_id]


@pytest.mark.parametrize("ran", ["multiprocess_run", "failed_run", "ops_run", "partitioned_run"])
def test_every_parent_and_root_run_is_emitted_with_a_terminal_event(
    ran: str, request: pytest.FixtureRequest, openlineage_conformance: ModuleType
) -> None:
    outcome: Ran = request.getfixturevalue(ran)
    events = _lineage(outcome.dir)
    assert openlineage_conformance.unended_parent_runs(events) == {}
    assert {e["eventType"] for e in _dagster_run_events(outcome)} & {"COMPLETE", "FAIL", "ABORT"}


def test_the_dagster_run_is_a_lineage_run_of_the_dagster_job(multiprocess_run: Ran) -> None:
    events = _dagster_run_events(multiprocess_run)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        assert (event["job"]["namespace"], event["job"]["name"]) == ("floe-test", "everything")
        job_type = event["job"]["facets"]["jobType"]
        assert (job_type["integration"], job_type["processingType"], job_type["jobType"]) == ("DAGSTER", "BATCH", "JOB")
        assert event["run"]["facets"]["processing_engine"]["name"] == "dagster"
        assert event["run"]["facets"]["processing_engine"]["version"] == dagster.__version__
        assert {"key": "layer", "value": "all", "source": "DAGSTER"} in event["job"]["facets"]["tags"]["tags"]
        assert "parent" not in event["run"]["facets"]  # it is the root
    steps = [e for e in _lineage(multiprocess_run.dir) if e["run"]["runId"] != multiprocess_run.result.run_id]
    for event in steps:
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == parent["root"]["run"]["runId"] == multiprocess_run.result.run_id
        assert (parent["root"]["job"]["namespace"], parent["root"]["job"]["name"]) == ("floe-test", "everything")


def test_a_failed_run_ends_its_lineage_run_with_fail_and_the_failed_step(failed_run: Ran) -> None:
    events = _dagster_run_events(failed_run)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    message = events[1]["run"]["facets"]["errorMessage"]["message"]
    assert "'gold__report'" in message
    assert "report exploded" in message


def test_an_ops_job_run_is_a_lineage_run_with_its_job_tags(ops_run: Ran) -> None:
    assert ops_run.result.success
    events = _dagster_run_events(ops_run)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert events[0]["job"]["name"] == "maintenance"
    assert events[0]["job"]["facets"]["tags"]["tags"] == [
        {"key": "kind_of_job", "value": "maintenance", "source": "DAGSTER"}
    ]


def test_an_op_step_is_a_task_lineage_run_under_the_dagster_run(ops_run: Ran) -> None:
    steps = [e for e in _lineage(ops_run.dir) if e["run"]["runId"] != ops_run.result.run_id]
    assert [(e["job"]["name"], e["eventType"]) for e in steps] == [("obs.tidy", "START"), ("obs.tidy", "COMPLETE")]
    for event in steps:
        assert event["job"]["facets"]["jobType"]["jobType"] == "TASK"
        assert (event["inputs"], event["outputs"]) == ([], [])
        parent = event["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == parent["root"]["run"]["runId"] == ops_run.result.run_id


def test_a_partitioned_run_and_its_steps_carry_the_partition_window_as_nominal_time(partitioned_run: Ran) -> None:
    assert partitioned_run.result.success
    events = _lineage(partitioned_run.dir)
    assert {e["job"]["name"] for e in events} == {"dated", "obs.dated.events"}
    for event in events:
        assert event["run"]["facets"]["nominalTime"] == {
            "_producer": event["run"]["facets"]["nominalTime"]["_producer"],
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
            "nominalStartTime": "2024-01-02T00:00:00+00:00",
            "nominalEndTime": "2024-01-03T00:00:00+00:00",
        }
    run_tags = _dagster_run_events(partitioned_run)[0]["run"]["facets"]["tags"]["tags"]
    assert {"key": "requested_by", "value": "tests", "source": "DAGSTER"} in run_tags
    assert {"key": "dagster/partition", "value": "2024-01-02", "source": "DAGSTER"} in run_tags


def test_python_asset_owners_and_tags_become_ownership_and_tags_job_facets(partitioned_run: Ran) -> None:
    (complete,) = [
        e
        for e in _lineage(partitioned_run.dir)
        if e["job"]["name"] == "obs.dated.events" and e["eventType"] == "COMPLETE"
    ]
    facets = complete["job"]["facets"]
    assert [owner["name"] for owner in facets["ownership"]["owners"]] == ["team:obs", "user:ana@example.com"]
    assert facets["tags"]["tags"] == [{"key": "tier", "value": "bronze", "source": "DAGSTER"}]


def test_the_dagster_runs_job_is_owned_by_the_owners_of_the_assets_it_targets(
    partitioned_run: Ran, ops_run: Ran, openlineage_conformance: ModuleType
) -> None:
    events = _dagster_run_events(partitioned_run)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    for event in events:
        owners = event["job"]["facets"]["ownership"]["owners"]
        assert [owner["name"] for owner in owners] == ["team:obs", "user:ana@example.com"]
    openlineage_conformance.validate_events(events)
    for event in _dagster_run_events(ops_run):  # an ops job targets no asset: no owners
        assert "ownership" not in event["job"]["facets"]


_TERMINATED_RUN = """
import sys
from pathlib import Path

from dagster import execute_job, instance_for_test
from floe_test_support.reconstruct import reconstructable_job

base = Path(sys.argv[1])
with instance_for_test(temp_dir=str(base / "dagster"), set_dagster_home=False) as instance:
    recon = reconstructable_job(base / "observed_pipeline.py", "slow")
    result = execute_job(recon, instance=instance, raise_on_error=False)
    print("run", result.run_id, result.success)
"""


def test_a_terminated_run_ends_its_lineage_run_and_its_open_step_with_abort(
    tmp_path: Path, openlineage_conformance: ModuleType
) -> None:
    """SIGINT in the process running the run: what Dagster's run worker also does on SIGTERM (termination)."""
    shutil.copy(PIPELINE, tmp_path / "observed_pipeline.py")
    (tmp_path / "dagster").mkdir()
    env = {**os.environ, "FLOE_TEST_DIR": str(tmp_path), "FLOE_TEST_EXECUTOR": "in_process"}
    process = subprocess.Popen(
        [sys.executable, "-c", _TERMINATED_RUN, str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        started = tmp_path / "waits.started"
        for _ in range(1200):  # the asset is running once it wrote this file
            if started.exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert started.exists(), process.communicate(timeout=60)[0]
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    # the script's own line (openlineage-python 1.31 logs a warning after it when numpy is not installed)
    assert any(line.startswith("run ") and line.endswith(" False") for line in output.splitlines()), output
    events = _lineage(tmp_path)
    by_job: dict[str, list[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job == {"slow": ["START", "ABORT"], "obs.slow.waits": ["START", "ABORT"]}
    (aborted,) = [e for e in events if e["job"]["name"] == "slow" and e["eventType"] == "ABORT"]
    assert "interrupted" in aborted["run"]["facets"]["errorMessage"]["message"]
    openlineage_conformance.validate_events(events)


def test_without_the_step_lookup_steps_are_matched_by_op_name_and_one_warning_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _compat.warn_unavailable.cache_clear()
    with caplog.at_level(logging.WARNING, logger="floe_definitions"):
        ran = _run(tmp_path, FLOE_COMPAT_DISABLE="step_assets", FLOE_TEST_EXECUTOR="in_process")
    _compat.warn_unavailable.cache_clear()
    assert ran.result.success
    # the same asset names on spans and lineage as through the plan lookup
    assert set(_by_name(_spans(tmp_path))) == {
        "dagster run everything",
        "bronze/raw",
        "silver/clean",
        "gold/report",
        "silver/modelled",
    }
    assert {e["job"]["name"] for e in _lineage(tmp_path)} == {
        "everything",
        "obs.bronze.raw",
        "obs.silver.clean",
        "obs.gold.report",
    }
    warnings = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "step_assets" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert _compat.STEP_ASSETS.slower_path in warnings[0]


def _span_nanos(tmp_path: Path) -> dict[str, tuple[int, int]]:
    """Span id (``0x`` hex) -> (start, end) in epoch ns, exactly as exported."""
    times: dict[str, tuple[int, int]] = {}
    for line in (tmp_path / ".floe" / "traces" / "obs.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        for resource_spans in json.loads(line).get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    times[f"0x{span['spanId']}"] = (int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"]))
    return times


def _micros(timestamp: float) -> int:
    """Dagster's float epoch seconds as epoch microseconds (what they hold)."""
    return round(timestamp * 1e6)


def _event_time_micros(event: dict[str, Any]) -> int:
    moment = datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def test_with_recorded_step_times_spans_and_lineage_carry_the_times_stored_with_the_step_events(
    recorded_times_run: Ran,
) -> None:
    """What Celery and Kubernetes runs get: step times read back from the instance, equal to the stored ones."""
    ran = recorded_times_run
    assert ran.result.success
    nanos = _span_nanos(ran.dir)
    lineage = _lineage(ran.dir)
    steps = [span for span in _spans(ran.dir) if "dagster.step_key" in span["attributes"]]
    assert {span["name"] for span in steps} == {"bronze/raw", "silver/clean", "gold/report", "silver/modelled"}
    for step in steps:
        step_key = step["attributes"]["dagster.step_key"]
        (started,) = ran.step_times[(step_key, "STEP_START")]
        (succeeded,) = ran.step_times[(step_key, "STEP_SUCCESS")]
        start_ns, end_ns = nanos[step["context"]["span_id"]]
        assert (start_ns, end_ns) == (_micros(started) * 1_000, _micros(succeeded) * 1_000), step_key
        run = step["attributes"].get("openlineage.run_id")
        if run is not None:  # a Python asset step (the dbt-kinded one has no lineage run of its own)
            times = {e["eventType"]: _event_time_micros(e) for e in lineage if e["run"]["runId"] == run}
            assert times == {"START": _micros(started), "COMPLETE": _micros(succeeded)}, step_key


def test_multiprocess_step_spans_carry_the_times_their_step_processes_stored(multiprocess_run: Ran) -> None:
    """The run worker drains step processes' queues between its own work: times come from the stored events."""
    nanos = _span_nanos(multiprocess_run.dir)
    lineage = _lineage(multiprocess_run.dir)
    steps = [span for span in _spans(multiprocess_run.dir) if "dagster.step_key" in span["attributes"]]
    assert steps
    for step in steps:
        step_key = step["attributes"]["dagster.step_key"]
        (started,) = multiprocess_run.step_times[(step_key, "STEP_START")]
        (succeeded,) = multiprocess_run.step_times[(step_key, "STEP_SUCCESS")]
        start_ns, end_ns = nanos[step["context"]["span_id"]]
        assert start_ns // 1_000 == _micros(started), step_key
        assert end_ns // 1_000 == _micros(succeeded), step_key
        run = step["attributes"].get("openlineage.run_id")
        if run is not None:  # its lineage events carry its span's times
            times = {e["eventType"]: _event_time_micros(e) for e in lineage if e["run"]["runId"] == run}
            assert times == {"START": start_ns // 1_000, "COMPLETE": end_ns // 1_000}, step_key
