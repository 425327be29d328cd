"""``floe run`` as a user runs it: a subprocess on copies of the fixture project, on the project's own instance."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from floe_definitions.commands.cli import main
from floe_definitions.execution import reconstruct
from floe_definitions.execution.warm_steps import WARM_PROJECTS
from floe_definitions.project import FloeProject

FLOE = str(Path(sys.executable).with_name("floe"))
PARTITIONED = """\
  partitions:
    daily: {type: time_window, start: "2024-01-01", end: "2024-02-01", cron_schedule: "0 0 * * *"}
"""


def floe_run(copy: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``floe run ARGS PROJECT`` in a clean environment with the copy's variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update(copy.env)
    return subprocess.run(
        [FLOE, "run", *args], cwd=copy.root, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _instance(copy: Any) -> DagsterInstance:
    return DagsterInstance.from_config(os.fspath(copy.root / ".floe" / "dagster"))


@pytest.fixture(scope="module")
def ok_copy(tmp_path_factory: pytest.TempPathFactory, copy_project: Any) -> Any:
    return copy_project(tmp_path_factory.mktemp("run_ok"), package="run_ok_assets")


@pytest.fixture(scope="module")
def ok_run(ok_copy: Any) -> subprocess.CompletedProcess[str]:
    return floe_run(ok_copy, "everything", str(ok_copy.root))


def test_floe_run_exits_0_with_one_line_per_step_and_asset(ok_run: subprocess.CompletedProcess[str]) -> None:
    assert ok_run.returncode == 0, ok_run.stderr[-3000:]
    lines = ok_run.stdout.splitlines()
    assert any(line.split()[:1] == ["ok"] and "raw__numbers" in line and line.endswith(" s") for line in lines)
    assert any(line.split()[:1] == ["ok"] and "tiny_dbt" in line for line in lines)
    assert "  materialized raw/numbers" in lines
    assert "  materialized total" in lines
    assert "floe run: everything succeeded" in lines[-1]
    assert "STEP_START" not in ok_run.stdout + ok_run.stderr  # Dagster's event stream is not shown
    assert "Warning" not in ok_run.stderr  # no Beta/Preview/Supersession notice about floe's own calls
    assert "Traceback" not in ok_run.stderr


def test_floe_run_stores_the_run_and_its_materializations_in_the_project_instance(
    ok_copy: Any, ok_run: subprocess.CompletedProcess[str]
) -> None:
    run_id = ok_run.stdout.splitlines()[-1].rsplit("(run ", 1)[1].rstrip(")")
    with _instance(ok_copy) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert run.status == DagsterRunStatus.SUCCESS
        records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
        keys = {record.event_log_entry.dagster_event.asset_key.to_user_string() for record in records}  # type: ignore[union-attr]
    assert keys == {"raw/numbers", "stg_numbers", "total"}
    assert (ok_copy.root / ".floe" / "dagster" / "dagster.yaml").read_text().startswith("# Rendered by floe from")
    spans = ok_copy.spans()
    assert {span["name"] for span in spans} >= {"dagster run everything", "raw/numbers"}


@dataclass(frozen=True)
class InProcessRun:
    code: int
    stdout: str
    loads: list[tuple[str, str | None]]
    pythonwarnings_after: str | None


@pytest.fixture(scope="module")
def in_process_run(ok_copy: Any, ok_run: subprocess.CompletedProcess[str]) -> InProcessRun:
    """``floe run transform --verbose --tag team=data`` through the CLI's ``main`` in this process.

    In this process so that the project loads it does can be counted and its environment read afterwards.
    """
    assert ok_run.returncode == 0  # transform reads what `everything` wrote
    loads: list[tuple[str, str | None]] = []
    real_load = reconstruct.load_project

    def counting_load(path: str, platform: str | None = None) -> FloeProject:
        loads.append((path, platform))
        return real_load(path, platform=platform)

    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in ok_copy.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("PYTHONWARNINGS", raising=False)
        monkeypatch.setattr(reconstruct, "load_project", counting_load)
        WARM_PROJECTS.clear()
        with contextlib.redirect_stdout(stdout):
            code = main(["run", "transform", str(ok_copy.root), "--verbose", "--tag", "team=data"])
        return InProcessRun(
            code=code, stdout=stdout.getvalue(), loads=loads, pythonwarnings_after=os.environ.get("PYTHONWARNINGS")
        )


def test_floe_run_loads_the_project_once(in_process_run: InProcessRun, ok_copy: Any) -> None:
    assert in_process_run.code == 0
    # One load for the job check and Dagster's reconstruction of the job (in-process executor: no step process).
    assert in_process_run.loads == [(str(ok_copy.floe_yaml.resolve()), str(ok_copy.root / "platform.yaml"))]


def test_floe_run_leaves_pythonwarnings_alone(in_process_run: InProcessRun) -> None:
    assert in_process_run.code == 0
    assert in_process_run.pythonwarnings_after is None  # step processes would inherit a global "ignore"


def test_floe_run_verbose_shows_dagster_events(ok_copy: Any, in_process_run: InProcessRun) -> None:
    assert in_process_run.code == 0, in_process_run.stdout[-3000:]
    assert "STEP_START" in in_process_run.stdout
    assert "RUN_SUCCESS" in in_process_run.stdout
    run_id = in_process_run.stdout.splitlines()[-1].rsplit("(run ", 1)[1].rstrip(")")
    with _instance(ok_copy) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert run.tags["team"] == "data"


def test_failing_model_exits_1_naming_the_failed_asset_and_where_its_telemetry_is(
    tmp_path_factory: pytest.TempPathFactory, copy_project: Any
) -> None:
    copy = copy_project(tmp_path_factory.mktemp("run_broken"), break_staging=True, package="run_broken_assets")
    completed = floe_run(copy, "everything", str(copy.root))
    assert completed.returncode == 1, completed.stdout[-3000:]
    out = completed.stdout
    assert "FAILED" in out
    assert "failed steps: tiny_dbt" in out
    failed_line = next(line for line in out.splitlines() if "failed assets:" in line)
    assert "stg_numbers" in failed_line
    assert "raw/numbers" not in failed_line
    assert f"in {copy.root / '.floe' / 'traces' / 'tiny.jsonl'}" in out
    assert f"in {copy.root / '.floe' / 'lineage' / 'tiny.jsonl'}" in out
    assert "Traceback" not in completed.stderr


def test_unknown_job_exits_2_with_did_you_mean(ok_copy: Any) -> None:
    completed = floe_run(ok_copy, "transfrom", str(ok_copy.root))
    assert completed.returncode == 2
    assert "unknown job 'transfrom'" in completed.stderr
    assert "did you mean 'transform'" in completed.stderr
    assert "floe.yaml:" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_bad_tag_is_a_usage_error(ok_copy: Any) -> None:
    completed = floe_run(ok_copy, "transform", str(ok_copy.root), "--tag", "novalue")
    assert completed.returncode == 2
    assert "--tag 'novalue' is not KEY=VALUE" in completed.stderr


@pytest.fixture(scope="module")
def partitioned_copy(tmp_path_factory: pytest.TempPathFactory, copy_project: Any) -> Any:
    copy = copy_project(tmp_path_factory.mktemp("run_partitioned"), package="run_partitioned_assets")
    text = copy.floe_yaml.read_text()
    text = text.replace("  assets:\n", PARTITIONED + '  assets:\n    "raw/*": {partitions: daily}\n', 1)
    text = text.replace(
        'everything: {type: batch, selection: ["*"]}',
        'daily_raw: {type: batch, selection: ["group:raw"], partitions: daily}',
    )
    copy.floe_yaml.write_text(text)
    return copy


def test_partition_outside_the_jobs_partitions_is_a_located_error_naming_its_range(
    partitioned_copy: Any,
) -> None:
    completed = floe_run(partitioned_copy, "daily_raw", str(partitioned_copy.root), "--partition", "2023-12-31")
    assert completed.returncode == 2, completed.stdout + completed.stderr
    error = completed.stderr
    assert "floe.yaml:9:5: " in error  # where `daily` is defined
    assert "orchestration.partitions.daily" in error
    assert "partition '2023-12-31' is not in partitions 'daily'" in error
    assert "keys 2024-01-01 ... 2024-01-31, 31 in all" in error
    assert "Traceback" not in error


def test_partition_range_must_be_start_dots_end(partitioned_copy: Any) -> None:
    completed = floe_run(
        partitioned_copy, "daily_raw", str(partitioned_copy.root), "--partition-range", "2024-01-03..2024-01-05"
    )
    assert completed.returncode == 2
    assert "is not START...END" in completed.stderr


def test_partition_on_an_unpartitioned_job_is_a_usage_error(partitioned_copy: Any) -> None:
    completed = floe_run(partitioned_copy, "transform", str(partitioned_copy.root), "--partition", "2024-01-02")
    assert completed.returncode == 2
    assert "job 'transform' is not partitioned" in completed.stderr


FORKSERVER_PLATFORM = "environment: test\nexecution:\n  executor: {type: multiprocess, start_method: forkserver}\n"
TRANSFORM_SPANS = [
    "dagster run transform",
    "dbt.model stg_numbers",
    "dbt.model total",
    "dbt.test not_null_stg_numbers_n",
    "tiny_dbt",
]


def _run_id(completed: subprocess.CompletedProcess[str]) -> str:
    return completed.stdout.splitlines()[-1].rsplit("(run ", 1)[1].rstrip(")")


def _engine_messages_and_worker_starts(copy: Any, run_id: str) -> tuple[list[str], int]:
    with _instance(copy) as instance:
        engine = instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records
        workers = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_WORKER_STARTING).records
    return [record.event_log_entry.user_message for record in engine], len(workers)


def _span_names(copy: Any, run_id: str) -> list[str]:
    trace_id = f"0x{run_id.replace('-', '')}"
    return sorted(span["name"] for span in copy.spans() if span["context"]["trace_id"] == trace_id)


def _node_lineage_states(copy: Any, run_id: str) -> dict[str, list[str]]:
    """Lineage event types per node run whose parent is the Dagster run."""
    states: dict[str, list[str]] = {}
    for event in copy.lineage():
        parent = event["run"].get("facets", {}).get("parent", {}).get("run", {}).get("runId")
        if parent == run_id:
            states.setdefault(event["run"]["runId"], []).append(event["eventType"])
    return states


@pytest.fixture(scope="module")
def forkserver_platform(ok_copy: Any, ok_run: subprocess.CompletedProcess[str]) -> Path:
    assert ok_run.returncode == 0  # transform reads what `everything` wrote
    path = ok_copy.root / "forkserver.yaml"
    path.write_text(FORKSERVER_PLATFORM)
    return path


def test_floe_run_under_forkserver_keeps_one_span_and_one_lineage_run_per_node(
    ok_copy: Any, forkserver_platform: Path
) -> None:
    completed = floe_run(ok_copy, "transform", str(ok_copy.root), "--platform", str(forkserver_platform))
    assert completed.returncode == 0, completed.stderr[-3000:]
    run_id = _run_id(completed)
    messages, worker_starts = _engine_messages_and_worker_starts(ok_copy, run_id)
    assert any(message.startswith("Executing steps using multiprocess executor") for message in messages)
    assert worker_starts == 1  # the dbt step ran in a forked step process
    assert _span_names(ok_copy, run_id) == TRANSFORM_SPANS
    states = _node_lineage_states(ok_copy, run_id)
    assert len(states) == 3  # stg_numbers, its test, total
    assert all(events == ["START", "COMPLETE"] for events in states.values()), states


def test_floe_run_in_process_overrides_the_platforms_multiprocess_executor(
    ok_copy: Any, forkserver_platform: Path
) -> None:
    completed = floe_run(
        ok_copy, "transform", str(ok_copy.root), "--platform", str(forkserver_platform), "--in-process"
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    run_id = _run_id(completed)
    messages, worker_starts = _engine_messages_and_worker_starts(ok_copy, run_id)
    assert any(message.startswith("Executing steps in process") for message in messages)
    assert worker_starts == 0  # no step process was started
    assert _span_names(ok_copy, run_id) == TRANSFORM_SPANS
    states = _node_lineage_states(ok_copy, run_id)
    assert len(states) == 3
    assert all(events == ["START", "COMPLETE"] for events in states.values()), states


def test_floe_run_leaves_no_unclosed_trace_file_behind(tmp_path: Path, copy_project: Any) -> None:
    """A guard on the whole command (run worker and step processes); the exporter's own test is in test_tracing."""
    copy = copy_project(tmp_path, package="closed_trace_assets")
    # Step subprocesses too: each loads the project and exports spans to the same trace file.
    (copy.root / "platform.yaml").write_text(
        "environment: test\nexecution:\n  executor: {type: multiprocess, max_concurrent: 1}\n"
    )
    # An unclosed file found by the garbage collector is reported on stderr ("Exception ignored ... ResourceWarning").
    strict = dataclasses.replace(copy, env={**copy.env, "PYTHONWARNINGS": "error::ResourceWarning"})
    completed = floe_run(strict, "everything", str(copy.root))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "ResourceWarning" not in output, output[-3000:]
    assert {span["name"] for span in copy.spans()} >= {"raw/numbers"}  # the spans were still written


DEFAULT_MULTIPROCESS_PLATFORM = "environment: test\nexecution:\n  executor: {type: multiprocess}\n"


@pytest.fixture(scope="module")
def default_platform(ok_copy: Any, ok_run: subprocess.CompletedProcess[str]) -> Path:
    """A platform whose executor is Dagster's default multiprocess one, with nothing set beyond its type."""
    assert ok_run.returncode == 0  # transform reads what `everything` wrote
    path = ok_copy.root / "default-multiprocess.yaml"
    path.write_text(DEFAULT_MULTIPROCESS_PLATFORM)
    return path


def test_floe_run_runs_a_single_step_job_in_process_without_a_step_process(
    ok_copy: Any, default_platform: Path
) -> None:
    completed = floe_run(ok_copy, "transform", str(ok_copy.root), "--platform", str(default_platform))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "transform: one step" in completed.stdout
    run_id = _run_id(completed)
    messages, worker_starts = _engine_messages_and_worker_starts(ok_copy, run_id)
    assert any(message.startswith("Executing steps in process") for message in messages)
    assert worker_starts == 0  # no step process was started
    assert _span_names(ok_copy, run_id) == TRANSFORM_SPANS  # observed like the platform's executor
    states = _node_lineage_states(ok_copy, run_id)
    assert len(states) == 3  # stg_numbers, its test, total: one lineage run each, ended
    assert all(events == ["START", "COMPLETE"] for events in states.values()), states


def test_floe_run_keeps_the_platforms_multiprocess_executor_for_several_steps(
    ok_copy: Any, default_platform: Path
) -> None:
    completed = floe_run(ok_copy, "everything", str(ok_copy.root), "--platform", str(default_platform))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "running it in this process" not in completed.stdout
    messages, worker_starts = _engine_messages_and_worker_starts(ok_copy, _run_id(completed))
    assert any(message.startswith("Executing steps using multiprocess executor") for message in messages)
    assert worker_starts == 2  # raw/numbers and the dbt step, each in its own process
    # each step process announces itself at DEBUG on the stderr it inherited; the progress view replaces that
    assert "STEP_WORKER_STARTED" not in completed.stderr, completed.stderr[-3000:]
    assert " - DEBUG - " not in completed.stderr


def test_floe_run_platform_executor_flag_keeps_a_step_process_for_a_single_step(
    ok_copy: Any, default_platform: Path
) -> None:
    completed = floe_run(
        ok_copy, "transform", str(ok_copy.root), "--platform", str(default_platform), "--platform-executor"
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    _, worker_starts = _engine_messages_and_worker_starts(ok_copy, _run_id(completed))
    assert worker_starts == 1
