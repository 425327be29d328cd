"""Runs launched through floe's warm run launcher, on a real instance, a real code server and real runs.

The fault tests' project (a Python asset -> dbt view -> dbt table, spans and lineage to files) is served by a code
server subprocess, as ``floe dev`` serves it; runs are created from that code server's snapshots and launched by
the instance's run launcher, as the webserver and the daemon launch them. The warm instance's ``dagster.yaml``
names :class:`~floe_definitions.warm.launcher.WarmRunLauncher`; the cold one Dagster's default launcher. The
tests share one project copy and warm process (a load costs tens of seconds here) and put back what they change.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from floe_definitions.telemetry.run_trace import run_trace_id
from floe_definitions.warm.launcher import PID_TAG, SOCKET_TAG, process_alive
from floe_test_support.dagster_internals import WorkerStatus, WorkspaceProcessContext
from floe_test_support.launched_runs import LaunchedRuns, launched_runs, run_process_pid

TIMEOUT = 300.0
SLEEPING_ASSET = """
import time
from dagster import asset


@asset(key=["raw", "numbers"], group_name="raw")
def numbers() -> None:
    time.sleep(600)
"""

RECORDING_ASSET = """
import json
import os
import time
from pathlib import Path

from dagster import AssetExecutionContext, asset

SEEN: list[str] = []  # module state: a run that shared its process with another would see that run's id here


@asset(key=["raw", "numbers"], group_name="raw")
def numbers(context: AssetExecutionContext) -> None:
    SEEN.append(context.run_id)
    time.sleep(2)  # keep the four runs' steps alive together
    out = Path(os.environ["FLOE_TEST_WAREHOUSE"]).parent / f"isolation-{context.run_id}.json"
    out.write_text(json.dumps({"pid": os.getpid(), "seen": SEEN}))
"""

STEP_PARENT_ASSET = """
import json
import os
from pathlib import Path

from dagster import AssetExecutionContext, asset


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@asset(key=["raw", "numbers"], group_name="raw")
def numbers(context: AssetExecutionContext) -> None:
    server = os.getppid()  # the step server this step process was forked from
    out = Path(os.environ["FLOE_TEST_WAREHOUSE"]).parent / f"step-{context.run_id}.json"
    out.write_text(json.dumps({"pid": os.getpid(), "server": server, "server_parent": _parent(server)}))
"""
HELD_STEP_ASSET = """
import json
import os
import time
from pathlib import Path

from dagster import AssetExecutionContext, asset


@asset(key=["raw", "numbers"], group_name="raw")
def numbers(context: AssetExecutionContext) -> None:
    folder = Path(os.environ["FLOE_TEST_WAREHOUSE"]).parent
    (folder / f"held-{context.run_id}.json").write_text(json.dumps({"pid": os.getpid(), "server": os.getppid()}))
    while (folder / "hold").exists():  # a terminated run's step is interrupted here
        time.sleep(0.2)
"""
MULTIPROCESS_PLATFORM = "environment: fault-tests\nexecution:\n  executor: {type: multiprocess}\n"


@dataclass
class Location:
    """The project, its code server and the warm and cold instances."""

    project: Any
    runs: LaunchedRuns

    @property
    def warm(self) -> DagsterInstance:
        return self.runs.warm

    @property
    def cold(self) -> DagsterInstance:
        return self.runs.cold

    @property
    def context(self) -> WorkspaceProcessContext:
        return self.runs.context

    @property
    def asset_module(self) -> Path:
        return self.project.root / self.project.package / "raw.py"

    def launch(self, instance: DagsterInstance, job: str = "everything") -> DagsterRun:
        """Create the run from the code server's snapshots and launch it, as the webserver does."""
        return self.runs.launch(instance, job)

    def run(self, instance: DagsterInstance, job: str = "everything") -> DagsterRun:
        """Launch ``job`` and wait until it has finished and its process has exported its spans."""
        return self.runs.run(instance, job, timeout=TIMEOUT)


def wait_until(probe: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
    return value


def _finished(instance: DagsterInstance, run_id: str) -> DagsterRun | None:
    run = instance.get_run_by_id(run_id)
    return run if run is not None and run.is_finished else None


def _worker_alive(instance: DagsterInstance, run: DagsterRun) -> bool:
    pid = run_process_pid(instance, run)
    return pid is not None and process_alive(pid, None)


@pytest.fixture(scope="module")
def location(tmp_path_factory: pytest.TempPathFactory, project_in_module: Callable[..., Any]) -> Iterator[Location]:
    base = tmp_path_factory.mktemp("warm")
    project = project_in_module(base)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in project.env().items():
            monkeypatch.setenv(key, value)
        with launched_runs(base, project.root, "faulty", python_file=project.root / "definitions.py") as runs:
            yield Location(project=project, runs=runs)


def _spans_of(project: Any, before: int) -> list[tuple[str, str]]:
    return sorted((span["name"], span["status"]["status_code"]) for span in project.spans()[before:])


def _lineage_of(project: Any, before: int) -> list[tuple[str, str]]:
    return sorted((event["job"]["name"], event["eventType"]) for event in project.lineage()[before:])


def _materialized(instance: DagsterInstance, run: DagsterRun) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is not None and event.is_step_materialization and event.asset_key is not None:
            metadata = event.step_materialization_data.materialization.metadata
            found[event.asset_key.to_user_string()] = {key: getattr(v, "value", v) for key, v in metadata.items()}
    return found


def _failure_text(instance: DagsterInstance, run: DagsterRun) -> str:
    texts: list[str] = []
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        error = getattr(event.event_specific_data, "error", None) if event is not None else None
        while error is not None:
            texts.append(error.message)
            error = error.cause
        texts.append(record.message or "")
    return "\n".join(texts)


def test_warm_run_records_the_same_spans_lineage_and_materializations_as_a_cold_run(location: Location) -> None:
    project = location.project
    before_spans, before_lineage = len(project.spans()), len(project.lineage())
    cold = location.run(location.cold)
    cold_spans, cold_lineage = _spans_of(project, before_spans), _lineage_of(project, before_lineage)
    before_spans, before_lineage = len(project.spans()), len(project.lineage())
    warm = location.run(location.warm)
    warm_spans, warm_lineage = _spans_of(project, before_spans), _lineage_of(project, before_lineage)

    assert cold.status == warm.status == DagsterRunStatus.SUCCESS
    assert PID_TAG in warm.tags
    assert PID_TAG not in cold.tags
    assert warm_spans == cold_spans
    assert any(name.startswith("dagster run") for name, _ in warm_spans)
    assert warm_lineage == cold_lineage
    assert warm_lineage
    warm_materialized, cold_materialized = _materialized(location.warm, warm), _materialized(location.cold, cold)
    assert {key: sorted(metadata) for key, metadata in warm_materialized.items()} == {
        key: sorted(metadata) for key, metadata in cold_materialized.items()
    }  # the same assets, with the same metadata entries (ids and durations differ per run)
    assert set(warm_materialized) == {"raw/numbers", "stg_numbers", "total"}
    assert warm_materialized["raw/numbers"]["dagster/row_count"] == 10


def test_each_warm_run_is_its_own_process_forked_from_one_warm_process(location: Location) -> None:
    first = location.run(location.warm)
    second = location.run(location.warm)
    assert first.tags[PID_TAG] != second.tags[PID_TAG]
    assert first.tags[SOCKET_TAG] == second.tags[SOCKET_TAG]
    assert len(location.runs.warm_server_pids()) == 1


def test_a_changed_asset_module_is_used_by_the_next_run(location: Location) -> None:
    original = location.asset_module.read_text()
    location.asset_module.write_text(
        original.replace("range(1, 11)", "range(1, 21)").replace('"dagster/row_count": 10', '"dagster/row_count": 20')
    )
    try:
        run = location.run(location.warm)
    finally:
        location.asset_module.write_text(original)
    assert run.status == DagsterRunStatus.SUCCESS
    assert _materialized(location.warm, run)["raw/numbers"]["dagster/row_count"] == 20


def test_a_changed_floe_yaml_is_used_by_the_next_run(location: Location) -> None:
    floe_yaml = location.project.root / "floe.yaml"
    original = floe_yaml.read_text()
    floe_yaml.write_text(original.replace("team: fault-tests", "team: warm-reloaded"))
    before = len(location.project.spans())
    try:
        run = location.run(location.warm)
    finally:
        floe_yaml.write_text(original)
    assert run.status == DagsterRunStatus.SUCCESS
    teams = {span["resource"]["attributes"].get("team") for span in location.project.spans()[before:]}
    assert teams == {"warm-reloaded"}, teams


def test_an_asset_module_raising_on_import_fails_that_run_with_a_located_error_and_the_next_run_succeeds(
    location: Location,
) -> None:
    original = location.asset_module.read_text()
    location.asset_module.write_text('raise RuntimeError("broken on purpose")\n' + original)
    try:
        broken = location.run(location.warm)
    finally:
        location.asset_module.write_text(original)
    assert broken.status == DagsterRunStatus.FAILURE
    text = _failure_text(location.warm, broken)
    assert "floe.yaml:" in text, text
    assert "orchestration.asset_modules" in text, text
    assert "broken on purpose" in text, text
    fixed = location.run(location.warm)
    assert fixed.status == DagsterRunStatus.SUCCESS
    assert broken.tags[SOCKET_TAG] == fixed.tags[SOCKET_TAG]


def test_a_terminated_warm_run_ends_canceled_with_error_spans_and_aborted_lineage(location: Location) -> None:
    original = location.asset_module.read_text()
    location.asset_module.write_text(SLEEPING_ASSET)
    before_spans, before_lineage = len(location.project.spans()), len(location.project.lineage())
    try:
        run = location.launch(location.warm)
        wait_until(
            lambda: any(
                r.dagster_event is not None and r.dagster_event.event_type_value == "STEP_START"
                for r in location.warm.all_logs(run.run_id)
            ),
            "the asset's step to start",
        )
        assert location.warm.run_launcher.terminate(run.run_id)
        finished = wait_until(lambda: _finished(location.warm, run.run_id), "the run to end")
        wait_until(lambda: not _worker_alive(location.warm, finished), "the run's process to exit", timeout=60)
    finally:
        location.asset_module.write_text(original)
    assert finished.status == DagsterRunStatus.CANCELED
    spans = location.project.spans()[before_spans:]
    ended = {span["name"]: span["status"]["status_code"] for span in spans}
    assert ended.get("raw/numbers") == "ERROR", ended  # the interrupted step
    assert ended.get("dagster run everything") == "ERROR", ended
    states = [e["eventType"] for e in location.project.lineage()[before_lineage:] if "numbers" in e["job"]["name"]]
    assert states[:1] == ["START"], states
    assert states[-1] in {"FAIL", "ABORT"}, states


def test_a_killed_warm_process_fails_its_run_by_run_monitoring_and_the_next_launch_gets_a_new_one(
    location: Location,
) -> None:
    original = location.asset_module.read_text()
    location.asset_module.write_text(SLEEPING_ASSET)
    try:
        run = location.launch(location.warm)
        started = wait_until(
            lambda: (
                (r := location.warm.get_run_by_id(run.run_id)) is not None
                and r.status == DagsterRunStatus.STARTED
                and r
            ),
            "the run to start",
        )
        assert location.warm.run_launcher.check_run_worker_health(started).status == WorkerStatus.RUNNING
        (server,) = location.runs.warm_server_pids()
        os.kill(server, signal.SIGKILL)
        wait_until(lambda: not _worker_alive(location.warm, started), "the run's process to die with it", timeout=60)
        health = location.warm.run_launcher.check_run_worker_health(started)
    finally:
        location.asset_module.write_text(original)
    assert health.status == WorkerStatus.FAILED, health
    location.warm.report_run_failed(started, message=health.msg)  # what run monitoring does with FAILED
    following = location.run(location.warm)
    assert following.status == DagsterRunStatus.SUCCESS
    assert int(following.tags[PID_TAG]) != int(started.tags[PID_TAG])
    assert server not in location.runs.warm_server_pids() or len(location.runs.warm_server_pids()) == 1


def test_four_concurrent_warm_runs_each_have_their_own_process_state_and_trace(location: Location) -> None:
    floe_yaml = location.project.root / "floe.yaml"
    original_yaml, original_module = floe_yaml.read_text(), location.asset_module.read_text()
    floe_yaml.write_text(
        original_yaml.replace("jobs:\n", 'jobs:\n    raw_only: {type: batch, selection: ["group:raw"]}\n')
    )
    location.asset_module.write_text(RECORDING_ASSET)
    try:
        location.context.reload_code_location("faulty")  # the new job, in the code server too
        runs = [location.launch(location.warm, "raw_only") for _ in range(4)]
        finished = [wait_until(lambda r=run: _finished(location.warm, r.run_id), "the runs to finish") for run in runs]
        for run in finished:
            wait_until(lambda r=run: not _worker_alive(location.warm, r), "the run's process to exit", timeout=60)
    finally:
        floe_yaml.write_text(original_yaml)
        location.asset_module.write_text(original_module)
        location.context.reload_code_location("faulty")
    assert [run.status for run in finished] == [DagsterRunStatus.SUCCESS] * 4
    records = {
        run.run_id: json.loads((location.project.warehouse.parent / f"isolation-{run.run_id}.json").read_text())
        for run in finished
    }
    assert {run_id: record["seen"] for run_id, record in records.items()} == {run_id: [run_id] for run_id in records}
    assert len({record["pid"] for record in records.values()}) == 4
    assert {record["pid"] for record in records.values()} == {int(run.tags[PID_TAG]) for run in finished}
    assert not {record["pid"] for record in records.values()} & location.runs.warm_server_pids()
    traces = {
        int(span["context"]["trace_id"], 16)
        for span in location.project.spans()
        if span["name"].startswith("dagster run")
    }
    assert {run_trace_id(run.run_id) for run in finished} <= traces  # each run's spans in its own trace


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_warm_runs_fork_their_steps_from_one_step_server_the_warm_process_started(location: Location) -> None:
    root = location.project.root
    floe_yaml, platform = root / "floe.yaml", root / "platform.yaml"
    originals = {path: path.read_text() for path in (floe_yaml, platform, location.asset_module)}
    floe_yaml.write_text(
        originals[floe_yaml].replace("jobs:\n", 'jobs:\n    raw_only: {type: batch, selection: ["group:raw"]}\n')
    )
    platform.write_text(MULTIPROCESS_PLATFORM)
    location.asset_module.write_text(STEP_PARENT_ASSET)
    try:
        location.context.reload_code_location("faulty")
        finished = [location.run(location.warm, "raw_only") for _ in range(2)]
    finally:
        for path, text in originals.items():
            path.write_text(text)
        location.context.reload_code_location("faulty")
    assert [run.status for run in finished] == [DagsterRunStatus.SUCCESS] * 2
    records = [
        json.loads((location.project.warehouse.parent / f"step-{run.run_id}.json").read_text()) for run in finished
    ]
    run_pids = {int(run.tags[PID_TAG]) for run in finished}
    assert len({record["server"] for record in records}) == 1  # both runs' steps: one step server
    assert not {record["server"] for record in records} & run_pids  # not a server of either run's own
    assert {record["server_parent"] for record in records} <= location.runs.warm_server_pids()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_terminated_warm_multiprocess_run_ends_its_step_and_the_shared_step_server_serves_the_next_run(
    location: Location,
) -> None:
    root = location.project.root
    floe_yaml, platform = root / "floe.yaml", root / "platform.yaml"
    folder, hold = location.project.warehouse.parent, location.project.warehouse.parent / "hold"
    originals = {path: path.read_text() for path in (floe_yaml, platform, location.asset_module)}
    floe_yaml.write_text(
        originals[floe_yaml].replace("jobs:\n", 'jobs:\n    raw_only: {type: batch, selection: ["group:raw"]}\n')
    )
    platform.write_text(MULTIPROCESS_PLATFORM)
    location.asset_module.write_text(HELD_STEP_ASSET)
    before_spans, before_lineage = len(location.project.spans()), len(location.project.lineage())
    hold.touch()
    try:
        location.context.reload_code_location("faulty")
        run = location.launch(location.warm, "raw_only")
        held = folder / f"held-{run.run_id}.json"
        step = wait_until(lambda: held.exists() and json.loads(held.read_text()), "the step to start")
        assert location.warm.run_launcher.terminate(run.run_id)
        terminated = wait_until(lambda: _finished(location.warm, run.run_id), "the run to end")
        wait_until(lambda: not _worker_alive(location.warm, terminated), "the run's process to exit", timeout=60)
        wait_until(lambda: not process_alive(step["pid"], None), "the step's process to exit", timeout=60)
        server_alive = process_alive(step["server"], None)
        hold.unlink()
        following = location.run(location.warm, "raw_only")
    finally:
        hold.unlink(missing_ok=True)
        for path, text in originals.items():
            path.write_text(text)
        location.context.reload_code_location("faulty")
    assert terminated.status == DagsterRunStatus.CANCELED
    assert step["server"] != int(terminated.tags[PID_TAG])  # the step came from the shared server, not the run's own
    spans = location.project.spans()[before_spans:]
    for name in ("raw/numbers", "dagster run raw_only"):  # the terminated run's spans come before the following's
        statuses = [span["status"]["status_code"] for span in spans if span["name"] == name]
        assert statuses[:1] == ["ERROR"], (name, statuses)
    states = [e["eventType"] for e in location.project.lineage()[before_lineage:] if "numbers" in e["job"]["name"]]
    assert states[:2] == ["START", "ABORT"] or states[:2] == ["START", "FAIL"], states
    assert server_alive  # terminating one run leaves the server every warm run forks its steps from
    assert following.status == DagsterRunStatus.SUCCESS
    assert json.loads((folder / f"held-{following.run_id}.json").read_text())["server"] == step["server"]
