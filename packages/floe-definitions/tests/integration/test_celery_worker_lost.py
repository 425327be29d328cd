"""A Celery worker lost whole under ``on_worker_lost: fail`` fails its step and the run; a busy worker does not.

Real processes throughout: Redis (``FLOE_TEST_REDIS_URL``, on a database of this module's own), one
``dagster-celery worker start`` process with the ``celery-worker.yaml`` that ``floe instance --write`` rendered, and
``floe run``. The lost case SIGKILLs the worker's whole process group (its main process included, so no
``WorkerLostError`` is ever stored) while the steps it took are running (a Python asset step held on a file, and
beside it a dbt step whose second model waits on a named pipe nobody writes); the busy case holds one step on the
only worker for several timeouts while a second step waits in the queue. Each run is waited for with a generous guard
(a run left waiting fails the test there rather than hanging it); nothing is timed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, EventLogEntry

from floe_definitions.telemetry.run_trace import run_trace_id
from floe_test_support import redis_server
from floe_test_support.celery_workers import BIN, celery_workers
from otlp_spans import read_spans

REDIS_DATABASE = 1
"""This module's own Redis database: another test's workers on the same server never take its tasks."""
RUN_GUARD_SECONDS = 180
"""A hang guard, not a timing: a run still going after it fails the test."""
LOST_TIMEOUT_SECONDS = 6
BUSY_TIMEOUT_SECONDS = 4

ASSETS = '''\
"""Test-only assets: each holds its step until the test writes the release file."""

import os
import time
from pathlib import Path

import dagster as dg

GATE = Path({gate!r})


def _hold(name: str) -> None:
    (GATE / f"started-{{name}}").write_text(str(os.getpid()))
    while not (GATE / "release").exists():
        time.sleep(0.05)


@dg.asset(key_prefix=["held"], group_name="held")
def gate() -> None:
    """Held until released."""
    _hold("gate")


@dg.asset(key_prefix=["held"], group_name="held", deps=[gate])
def after() -> None:
    """Runs only once ``held/gate`` succeeded."""


@dg.asset(key_prefix=["busy"], group_name="busy")
def first() -> None:
    """Held until released."""
    _hold("first")


@dg.asset(key_prefix=["busy"], group_name="busy")
def second() -> None:
    """Held until released (it has no dependency on ``first``: it waits only for the one worker)."""
    _hold("second")
'''


@dataclass(frozen=True)
class CeleryRun:
    root: Path
    completed: subprocess.CompletedProcess[str]
    worker: str
    """The worker's Celery name (``-n``)."""
    step_pid: int
    """The pid the first held step wrote (a process of the worker's)."""

    @property
    def output(self) -> str:
        return self.completed.stdout + self.completed.stderr

    def run_id(self) -> str:
        line = next(line for line in self.completed.stdout.splitlines() if line.startswith("floe run: "))
        return line.rsplit("(run ", 1)[1].rstrip(")")

    def instance(self) -> DagsterInstance:
        return DagsterInstance.from_config(str(self.root / ".floe" / "dagster"))

    def lineage(self) -> list[dict[str, Any]]:
        path = self.root / ".floe" / "lineage" / "lost.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def spans(self) -> list[dict[str, Any]]:
        trace = f"0x{run_trace_id(self.run_id()):032x}"
        spans = read_spans(self.root / ".floe" / "traces" / "lost.jsonl")
        return [span for span in spans if span["context"]["trace_id"] == trace]


@pytest.fixture(scope="module")
def broker() -> str:
    url = redis_server.configured_url()
    if not url:
        pytest.skip(redis_server.SKIP_REASON)
    return f"{url.rsplit('/', 1)[0]}/{REDIS_DATABASE}"


def _project(base: Path, broker: str, timeout_seconds: int, *, dbt: bool = False) -> tuple[Path, Path, dict[str, str]]:
    """The ``lost`` project; with ``dbt``, its ``hold`` job also runs a dbt step (see :func:`_dbt_project`)."""
    root = base / "lost"
    gate = base / "gate"
    package = root / "lost_assets"
    package.mkdir(parents=True)
    gate.mkdir()
    (package / "__init__.py").write_text(ASSETS.format(gate=str(gate)))
    hold = "['group:held', 'kind:dbt']" if dbt else "['group:held']"
    (root / "floe.yaml").write_text(
        "name: lost\nversion: '1.0.0'\norchestration:\n  asset_modules: [.lost_assets]\n"
        + ("  dbt: {project_dir: dbt}\n" if dbt else "")
        + f"  jobs:\n    hold: {{type: batch, selection: {hold}}}\n"
        "    busy: {type: batch, selection: ['group:busy']}\n"
    )
    if dbt:
        _dbt_project(root, base / "gate.fifo")
    return root, gate, _write_instance(root, broker, timeout_seconds)


def _dbt_project(root: Path, gate: Path) -> None:
    """A dbt project whose model ``blocked`` (after ``first`` and its test) waits reading a pipe nobody writes."""
    models = root / "dbt" / "models"
    models.mkdir(parents=True)
    os.mkfifo(gate)
    (root / "dbt" / "dbt_project.yml").write_text(
        "name: lostdbt\nversion: '1.0.0'\nconfig-version: 2\nprofile: lostdbt\nmodel-paths: [models]\n"
        "flags: {send_anonymous_usage_stats: false}\nmodels: {lostdbt: {+materialized: table}}\n"
    )
    (root / "dbt" / "profiles.yml").write_text(
        "lostdbt:\n  target: dev\n  outputs:\n    dev:\n"
        f"      {{type: duckdb, path: '{gate.parent / 'warehouse.duckdb'}', schema: main, threads: 1}}\n"
    )
    (models / "first.sql").write_text("select 1 as id\n")
    # DuckDB opens the pipe when it binds the query, and waits there for a writer: the step holds, idle
    (models / "blocked.sql").write_text(
        f"select id from {{{{ ref('first') }}}} where (select count(*) from read_csv('{gate}')) >= 0\n"
    )
    (models / "after_blocked.sql").write_text("select id from {{ ref('blocked') }}\n")
    (models / "schema.yml").write_text(
        "version: 2\nmodels:\n"
        "  - {name: first, columns: [{name: id, data_tests: [not_null]}]}\n"
        "  - {name: blocked, columns: [{name: id, data_tests: [not_null]}]}\n"
    )


def _write_instance(root: Path, broker: str, timeout_seconds: int) -> dict[str, str]:
    """Write the Celery platform file and the instance (``floe instance --write``); return the commands' env."""
    (root / "celery.yaml").write_text(
        "environment: test\n"
        "tracing: {type: file, path: .floe/traces}\n"
        "lineage: {transport: {type: file, path: .floe/lineage}}\n"
        f"execution:\n  executor: {{type: celery, broker: '{broker}', backend: '{broker}', "
        f"worker_lost_timeout_seconds: {timeout_seconds}}}\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update(
        {
            "FLOE_PLATFORM_FILE": str(root / "celery.yaml"),
            "DAGSTER_HOME": str(root / ".floe" / "dagster"),
            "PYTHONUNBUFFERED": "1",
            # dagster-celery starts the `celery` command by name: the venv's, whether or not it is activated.
            "PATH": os.pathsep.join([str(BIN), env.get("PATH", "")]),
        }
    )
    written = subprocess.run(
        [str(BIN / "floe"), "instance", str(root), "--write"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    worker_yaml = (root / ".floe" / "dagster" / "celery-worker.yaml").read_text()
    assert "task_track_started: true" in worker_yaml  # the worker names itself in a task's STARTED state
    with DagsterInstance.from_config(str(root / ".floe" / "dagster")) as instance:
        instance.get_runs_count()  # create the storage once, before the worker and the run use it
    return env


@contextlib.contextmanager
def _worker(root: Path, env: dict[str, str], name: str, concurrency: int = 1) -> Iterator[subprocess.Popen[bytes]]:
    """One dagster-celery worker (``concurrency`` pool processes), in a process group of its own, stopped on exit."""
    with celery_workers(root, env, [name], concurrency) as (worker,):
        yield worker


def _floe_run(root: Path, env: dict[str, str], job: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "floe"), "run", job, str(root)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _started(gate: Path, run: subprocess.Popen[str]) -> Path:
    """The first ``started-*`` file a held step writes (floe run must still be going)."""
    while not (found := sorted(gate.glob("started-*"))):
        assert run.poll() is None, "floe run ended before a step started: " + "".join(run.communicate())[-3000:]
        time.sleep(0.2)
    return found[0]


def _finish(run: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        stdout, stderr = run.communicate(timeout=RUN_GUARD_SECONDS)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    return subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)


def _kill_the_worker_mid_step(
    base: Path, broker: str, name: str, run_env: dict[str, str] | None = None, *, dbt: bool = False
) -> CeleryRun:
    """``hold`` on one worker, whose whole process group is SIGKILLed while it runs ``held/gate``.

    With ``dbt``, the worker has two pool processes and is killed once the dbt step, in the second, waits in its model
    ``blocked``.
    """
    root, gate, env = _project(base, broker, LOST_TIMEOUT_SECONDS, dbt=dbt)
    with _worker(root, env, name, concurrency=2 if dbt else 1) as worker:
        run = _floe_run(root, {**env, **(run_env or {})}, "hold")
        try:
            started = _started(gate, run)
            if dbt:
                _node_started(root, "blocked", run)
            os.killpg(worker.pid, signal.SIGKILL)  # the main process too: nothing is left to report the task
            worker.wait()
        finally:
            completed = _finish(run)
    return CeleryRun(root, completed, name, int(started.read_text()))


def _node_started(root: Path, model: str, run: subprocess.Popen[str]) -> None:
    """Wait for the lineage START of a dbt model (the worker's file transport writes it as dbt starts the model)."""
    path = root / ".floe" / "lineage" / "lost.jsonl"
    while not any(
        event["eventType"] == "START" and event["job"]["name"].endswith(f".{model}")
        for event in (json.loads(line) for line in (path.read_text() if path.exists() else "").splitlines() if line)
    ):
        assert run.poll() is None, "floe run ended before the model started: " + "".join(run.communicate())[-3000:]
        time.sleep(0.2)


@pytest.fixture(scope="module")
def lost_run(tmp_path_factory: pytest.TempPathFactory, broker: str) -> CeleryRun:
    return _kill_the_worker_mid_step(tmp_path_factory.mktemp("celery_lost"), broker, "floe-lost-1", dbt=True)


@pytest.fixture(scope="module")
def lost_run_without_failure_event(
    tmp_path_factory: pytest.TempPathFactory, broker: str, lost_run: CeleryRun
) -> CeleryRun:
    """The same, with the ``celery_lost_step_event`` probe failed on purpose (after ``lost_run``: one worker a time)."""
    disabled = {"FLOE_COMPAT_DISABLE": "celery_lost_step_event"}
    return _kill_the_worker_mid_step(tmp_path_factory.mktemp("celery_lost_probe"), broker, "floe-lost-2", disabled)


@pytest.fixture(scope="module")
def busy_run(
    tmp_path_factory: pytest.TempPathFactory,
    broker: str,
    lost_run: CeleryRun,
    lost_run_without_failure_event: CeleryRun,
) -> CeleryRun:
    """``busy`` on one worker: one step held for three timeouts while the other waits in the queue, then released.

    After the lost runs (same Redis database): their workers are gone by then.
    """
    root, gate, env = _project(tmp_path_factory.mktemp("celery_busy"), broker, BUSY_TIMEOUT_SECONDS)
    name = "floe-busy-1"
    with _worker(root, env, name):
        run = _floe_run(root, env, "busy")
        try:
            started = _started(gate, run)
            time.sleep(3 * BUSY_TIMEOUT_SECONDS)  # past the timeout: a step held on a live worker, one in the queue
            (gate / "release").write_text("go")
        finally:
            completed = _finish(run)
    return CeleryRun(root, completed, name, int(started.read_text()))


def _step_entries(instance: DagsterInstance, run_id: str, step_key: str) -> list[EventLogEntry]:
    kinds = (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
    return [
        record.event_log_entry
        for record in instance.get_records_for_run(run_id).records
        if record.event_log_entry.dagster_event is not None
        and record.event_log_entry.dagster_event.step_key == step_key
        and record.event_log_entry.dagster_event.event_type in kinds
    ]


def test_a_step_whose_worker_is_lost_whole_fails_the_run_naming_the_worker(lost_run: CeleryRun) -> None:
    completed = lost_run.completed
    assert completed.returncode == 1, lost_run.output[-3000:]
    assert "floe run: hold FAILED" in completed.stdout
    (failed,) = [line for line in completed.stdout.splitlines() if "failed steps: " in line]
    assert "held__gate" in failed
    assert f"the Celery worker {lost_run.worker}@" in lost_run.output
    assert "Traceback" not in lost_run.output
    run_id = lost_run.run_id()
    with lost_run.instance() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert run.status == DagsterRunStatus.FAILURE
        gate = _step_entries(instance, run_id, "held__gate")
        kinds = [entry.dagster_event.event_type for entry in gate if entry.dagster_event is not None]
        assert kinds == [DagsterEventType.STEP_START, DagsterEventType.STEP_FAILURE]
        assert gate[0].dagster_event is not None
        assert gate[0].dagster_event.pid == lost_run.step_pid  # started in the worker's pool process, then killed
        failure = gate[1].dagster_event
        assert failure is not None
        error = failure.step_failure_data.error
        assert error is not None
        assert error.cls_name == "CeleryWorkerLostError"
        assert f"the Celery worker {lost_run.worker}@" in error.message
        assert f"has not answered for {LOST_TIMEOUT_SECONDS} s" in error.message
        assert _step_entries(instance, run_id, "held__after") == []  # downstream of the lost step: never started


def test_a_lost_step_ends_its_lineage_run_with_fail_and_leaves_none_open(
    lost_run: CeleryRun, openlineage_conformance: ModuleType
) -> None:
    events = lost_run.lineage()
    openlineage_conformance.validate_events(events)
    assert openlineage_conformance.unended_parent_runs(events) == {}
    states: dict[str, list[str]] = {}
    for event in events:
        states.setdefault(str(event["run"]["runId"]), []).append(str(event["eventType"]))
    assert all(seen[-1] in {"COMPLETE", "FAIL", "ABORT"} for seen in states.values()), states
    by_job = {event["job"]["name"]: [] for event in events}
    for event in events:
        by_job[event["job"]["name"]].append(event)
    assert [event["eventType"] for event in by_job["hold"]] == ["START", "FAIL"]
    gate = [event for name, job_events in by_job.items() if name.endswith("gate") for event in job_events]
    assert [event["eventType"] for event in gate] == ["START", "FAIL"]
    message = gate[1]["run"]["facets"]["errorMessage"]["message"]
    assert f"the Celery worker {lost_run.worker}@" in message
    assert f"the Celery worker {lost_run.worker}@" in json.dumps(by_job["hold"][1]["run"])


def test_a_lost_step_ends_its_span_with_error_naming_the_worker(lost_run: CeleryRun) -> None:
    spans = lost_run.spans()
    (step,) = [span for span in spans if span["attributes"].get("dagster.step_key") == "held__gate"]
    assert step["status"]["status_code"] == "ERROR"
    assert f"the Celery worker {lost_run.worker}@" in step["status"]["description"]
    assert step["attributes"]["error.type"] == "CeleryWorkerLostError"
    (run_span,) = [span for span in spans if span["name"] == "dagster run hold"]
    assert run_span["status"]["status_code"] == "ERROR"
    assert step["parent_id"] == run_span["context"]["span_id"]


def test_a_step_waiting_for_a_busy_worker_and_a_long_step_on_a_live_one_are_not_failed(busy_run: CeleryRun) -> None:
    completed = busy_run.completed
    assert completed.returncode == 0, busy_run.output[-3000:]
    run_id = busy_run.run_id()
    with busy_run.instance() as instance:
        steps = {key: _step_entries(instance, run_id, key) for key in ("busy__first", "busy__second")}
    kinds = {
        key: [entry.dagster_event.event_type for entry in entries if entry.dagster_event is not None]
        for key, entries in steps.items()
    }
    assert kinds == {key: [DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS] for key in steps}
    # One worker with one pool process: one step ran held, the other started only once it ended (it was queued).
    ordered = sorted(steps.values(), key=lambda entries: entries[0].timestamp)
    assert ordered[0][1].timestamp <= ordered[1][0].timestamp


def test_without_the_failure_event_probe_the_run_still_fails_naming_the_worker(
    lost_run_without_failure_event: CeleryRun, openlineage_conformance: ModuleType
) -> None:
    lost = lost_run_without_failure_event
    assert lost.completed.returncode == 1, lost.output[-3000:]
    assert "floe run: hold FAILED" in lost.completed.stdout
    assert f"CeleryWorkerLostError: the Celery worker {lost.worker}@" in lost.output
    assert "celery_lost_step_event is unavailable" in lost.output  # the probe's one warning
    with lost.instance() as instance:
        run = instance.get_run_by_id(lost.run_id())
        assert run is not None
        assert run.status == DagsterRunStatus.FAILURE
    events = lost.lineage()
    openlineage_conformance.validate_events(events)
    assert openlineage_conformance.unended_parent_runs(events) == {}
    # dagster-celery's loop got an error, not the step's events: the step has no lineage run, the run FAILs naming
    # the worker.
    assert [(event["job"]["name"], event["eventType"]) for event in events] == [("hold", "START"), ("hold", "FAIL")]
    assert f"the Celery worker {lost.worker}@" in json.dumps(events[1]["run"])


def test_a_lost_dbt_step_leaves_no_node_lineage_run_open(
    lost_run: CeleryRun, openlineage_conformance: ModuleType
) -> None:
    lost = lost_run
    assert lost.completed.returncode == 1, lost.output[-3000:]
    events = lost.lineage()
    openlineage_conformance.validate_events(events)
    assert openlineage_conformance.unended_parent_runs(events) == {}
    runs: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        runs.setdefault(str(event["run"]["runId"]), []).append(event)
    unended = {
        run_id: [event["job"]["name"] for event in run]
        for run_id, run in runs.items()
        if not {event["eventType"] for event in run} & {"COMPLETE", "FAIL", "ABORT"}
    }
    assert unended == {}  # every node run the worker STARTed has a terminal event
    by_node = {run[0]["job"]["name"]: run for run in runs.values() if "dbt_node" in run[0]["job"]["facets"]}
    nodes = {_dbt_node_name(name): [event["eventType"] for event in run] for name, run in by_node.items()}
    assert nodes == {
        "first": ["START", "COMPLETE"],  # materialized: the run worker sends the COMPLETE the worker held
        "not_null_first_id": ["START", "COMPLETE"],  # the worker's own, unchanged: nothing added
        "blocked": ["START", "ABORT"],  # running when the worker was lost
        "not_null_blocked_id": ["ABORT"],  # never started: one terminal event, no run left open
        "after_blocked": ["ABORT"],
    }
    blocked_start, blocked_abort = next(run for name, run in by_node.items() if name.endswith(".blocked"))
    assert (blocked_abort["job"]["namespace"], blocked_abort["job"]["name"]) == (
        blocked_start["job"]["namespace"],
        blocked_start["job"]["name"],
    )
    assert blocked_abort["run"]["facets"]["parent"] == blocked_start["run"]["facets"]["parent"]
    assert f"the Celery worker {lost.worker}@" in blocked_abort["run"]["facets"]["errorMessage"]["message"]
    test_events = next(run for name, run in by_node.items() if "not_null_first_id" in name)
    assert test_events[1]["run"]["facets"]["floe_dbt_node"]["status"] == "pass"  # dbt's result, from the worker


def _dbt_node_name(job_name: str) -> str:
    """A dbt node's name from its dbt-ol job name (``<db>.<schema>.<project>.<model>``, a test's unique id)."""
    return job_name.split(".")[2] if job_name.startswith("test.") else job_name.rsplit(".", 1)[-1]
