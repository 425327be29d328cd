"""The demo on a real distributed executor: two Celery workers (separate processes), Redis, ``floe run``.

One partition of ``seed_bronze`` and then ``transform`` run through ``floe run`` with
``execution.executor: {type: celery, ...}`` on the project's rendered instance: PostgreSQL (``instance.storage:
postgres``, a fresh database on the server ``FLOE_TEST_POSTGRES_URL`` names, as ``.ci/run`` exports it), or SQLite,
saying so, without that variable. The same truths as the in-process
tests are checked with the demo's own ``collect`` / ``verify`` (one span and one OpenLineage START + COMPLETE per
asset, trace ids, stored materializations, lineage back to bronze), plus span parents and the pids steps ran in.
Redis is ``FLOE_TEST_REDIS_URL`` (``.ci/redis.sh``), else a throwaway server (floe-test-support's ``redis_url``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from demo.otlp_spans import read_spans
from demo.run_demo import DemoRun, collect, read_emitted, verify

from floe_definitions import load_project
from floe_definitions.telemetry.run_trace import run_trace_id
from floe_test_support.celery_workers import BIN, celery_workers
from floe_test_support.dagster_internals import instance_from_dir
from floe_test_support.http_endpoints import free_port
from floe_test_support.postgres import POSTGRES_URL_ENV, configured_server, postgres_url_overrides

DEMO_DIR = Path(__file__).resolve().parents[1]
REPO = DEMO_DIR.parent
INSTANCE_URL_ENV = "FLOE_CELERY_TEST_PG_URL"
"""The variable the Celery platform file's ``instance.postgres_url_env`` names."""
PARTITION = "2024-01-01"
WORKERS = ("floe-w1", "floe-w2")


def _fresh_postgres_database() -> str | None:
    """A new database on ``FLOE_TEST_POSTGRES_URL``'s server (its URL, psycopg2 driver named), or None without one."""
    server = configured_server()
    if server is None:
        print(f"celery: {POSTGRES_URL_ENV} is unset, so this round runs on a SQLite instance, not PostgreSQL")
        return None
    return server.create_database("floe_celery").sqlalchemy_url


def open_demo_instance(root: Path, postgres_url: str | None) -> DagsterInstance:
    """The instance floe rendered for the copy; its ``{env: ...}`` Postgres URL handed over as an override."""
    home = root / ".floe" / "dagster"
    overrides = postgres_url_overrides(home, postgres_url) if postgres_url else None
    return instance_from_dir(str(home), overrides)


@dataclass(frozen=True)
class CeleryDemo:
    root: Path
    env: dict[str, str]
    runs: list[tuple[str, subprocess.CompletedProcess[str]]]
    seconds: dict[str, float]
    postgres_url: str | None

    def instance(self) -> DagsterInstance:
        return open_demo_instance(self.root, self.postgres_url)


def _instance_section(postgres_url: str | None) -> str:
    """The platform file's ``instance:`` line: Postgres through the URL variable, or nothing (SQLite)."""
    return f"instance: {{storage: postgres, postgres_url_env: {INSTANCE_URL_ENV}}}\n" if postgres_url else ""


def _copy_demo(base: Path, broker: str, postgres_url: str | None = None) -> tuple[Path, dict[str, str]]:
    root = base / "demo"
    root.mkdir(parents=True)
    for name in ("floe.yaml", "definitions.py"):
        shutil.copy(DEMO_DIR / name, root / name)
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", ".floe", "*.duckdb")
    shutil.copytree(DEMO_DIR / "assets", root / "celery_shop_assets", ignore=ignore)
    shutil.copytree(DEMO_DIR / "dbt", root / "dbt", ignore=ignore)
    floe_yaml = root / "floe.yaml"
    floe_yaml.write_text(floe_yaml.read_text().replace(".assets.", ".celery_shop_assets."))
    (root / "celery.yaml").write_text(
        "environment: test\n"
        "tracing: {type: file, path: .floe/traces}\n"
        "lineage: {transport: {type: file, path: .floe/lineage}}\n"
        f"execution:\n  executor: {{type: celery, broker: '{broker}', backend: '{broker}'}}\n"
        + _instance_section(postgres_url)
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update(
        {
            "FLOE_DEMO_WAREHOUSE": str(base / "warehouse.duckdb"),
            "FLOE_PLATFORM_FILE": str(root / "celery.yaml"),
            "FLOE_DEMO_ALERTS_LOG": str(base / "alerts.jsonl"),
            "DAGSTER_HOME": str(root / ".floe" / "dagster"),
            "PYTHONUNBUFFERED": "1",
            # dagster-celery starts the `celery` command by name: the venv's, whether or not it is activated.
            "PATH": os.pathsep.join([str(BIN), env.get("PATH", "")]),
        }
    )
    if postgres_url:
        env[INSTANCE_URL_ENV] = postgres_url  # floe run, the run worker and both Celery workers read it
    return root, env


def _floe(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "floe"), *args], cwd=root, env=env, capture_output=True, text=True, timeout=1800, check=False
    )


@pytest.fixture(scope="module")
def celery_demo(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[CeleryDemo]:
    postgres_url = _fresh_postgres_database()
    root, env = _copy_demo(tmp_path_factory.mktemp("celery"), redis_url, postgres_url)
    written = _floe(root, env, "instance", str(root), "--write")
    assert written.returncode == 0, written.stderr
    assert "celery-worker.yaml" in written.stdout
    with open_demo_instance(root, postgres_url) as instance:
        instance.get_runs_count()  # create the storage once, before two workers race to migrate it
    with celery_workers(root, env, WORKERS):
        runs = []
        seconds = {}
        for job, args in (("seed_bronze", ("--partition", PARTITION)), ("transform", ())):
            began = time.monotonic()
            completed = _floe(root, env, "run", job, str(root), *args)
            seconds[job] = time.monotonic() - began
            print(f"celery: floe run {job} exit {completed.returncode} in {seconds[job]:.1f} s")
            runs.append((job, completed))
            if completed.returncode != 0:
                break
        yield CeleryDemo(root=root, env=env, runs=runs, seconds=seconds, postgres_url=postgres_url)


def _run_id(completed: subprocess.CompletedProcess[str]) -> str:
    return completed.stdout.strip().splitlines()[-1].rsplit("(run ", 1)[1].rstrip(")")


def test_demo_runs_on_two_celery_workers_with_the_same_truths_as_in_process(celery_demo: CeleryDemo) -> None:
    for job, completed in celery_demo.runs:
        assert completed.returncode == 0, f"{job}: {completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
        assert "DuplicateTaskNameWarning" not in completed.stdout + completed.stderr
    assert [job for job, _ in celery_demo.runs] == ["seed_bronze", "transform"]
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in celery_demo.env.items():
            monkeypatch.setenv(key, value)
        project = load_project(celery_demo.root / "floe.yaml")
    runs = [DemoRun(job, _run_id(completed), True, 0.0) for job, completed in celery_demo.runs]
    emitted = read_emitted(project, {**os.environ, **celery_demo.env})
    assert emitted.spans, emitted.spans_from  # read back, so verify checks them
    assert emitted.events, emitted.lineage_from
    with celery_demo.instance() as instance:
        rows = collect(project, instance, runs, emitted)
        assert verify(project, runs, rows, emitted) == []


def test_each_asset_span_has_the_right_parent_in_the_runs_trace(celery_demo: CeleryDemo) -> None:
    traces = celery_demo.root / ".floe" / "traces" / "shop.jsonl"
    spans = read_spans(traces)
    for job, completed in celery_demo.runs:
        run_id = _run_id(completed)
        trace = f"0x{run_trace_id(run_id):032x}"
        mine = [span for span in spans if span["context"]["trace_id"] == trace]
        by_id = {span["context"]["span_id"]: span for span in mine}
        (run_span,) = [span for span in mine if span["name"] == f"dagster run {job}"]
        assert run_span["parent_id"] is None
        for span in mine:
            attributes = span["attributes"]
            if span is run_span:
                continue
            parent = by_id.get(span["parent_id"])
            assert parent is not None, f"{span['name']}: parent {span['parent_id']} is not in the run's trace"
            if "dagster.step_key" in attributes:  # a step span (opened in the run worker): child of the run span
                assert parent is run_span, span["name"]
            else:  # a dbt node span (in a Celery worker): child of its step's one span, opened in the run worker
                assert "dagster.step_key" in parent["attributes"], (span["name"], parent["name"])
        assert not [span for span in mine if span["name"].startswith("dbt.build ")]  # one span per step, not two


def _span_nanos(path: Path) -> dict[str, tuple[int, int]]:
    """Span id (``0x`` hex, as ``read_spans`` writes it) -> (start, end) in epoch ns, exactly as exported."""
    times: dict[str, tuple[int, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        for resource_spans in json.loads(line).get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    times[f"0x{span['spanId']}"] = (int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"]))
    return times


def _recorded_micros(instance: DagsterInstance, run_id: str) -> dict[tuple[str, DagsterEventType], list[int]]:
    """(step key, event type) -> the step events' stored times (``EventLogEntry.timestamp``) as epoch microseconds."""
    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
    found: dict[tuple[str, DagsterEventType], list[int]] = {}
    for record in instance.get_records_for_run(run_id, of_type=kinds).records:
        event = record.event_log_entry.dagster_event
        assert event is not None
        assert event.step_key is not None
        found.setdefault((event.step_key, event.event_type), []).append(round(record.event_log_entry.timestamp * 1e6))
    return found


def _event_time_micros(event: dict[str, Any]) -> int:
    """An OpenLineage ``eventTime`` as epoch microseconds (integer arithmetic: no float rounding)."""
    moment = datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def test_step_spans_and_step_lineage_carry_the_times_the_celery_workers_stored_not_their_arrival(
    celery_demo: CeleryDemo,
) -> None:
    """A Celery step's events reach the run worker together when its task returns, after the step ended.

    Its span must still start at its STEP_START and end at its STEP_SUCCESS as the worker stored them (compared at
    the microsecond, the precision of a float of epoch seconds), with every dbt node span it parents within it, and
    a Python asset step's lineage START / COMPLETE must carry those same times.
    """
    root = celery_demo.root
    spans = read_spans(root / ".floe" / "traces" / "shop.jsonl")
    nanos = _span_nanos(root / ".floe" / "traces" / "shop.jsonl")
    lineage = [json.loads(line) for line in (root / ".floe" / "lineage" / "shop.jsonl").read_text().splitlines()]
    checked: dict[str, set[str]] = {}
    with celery_demo.instance() as instance:
        for job, completed in celery_demo.runs:
            run_id = _run_id(completed)
            recorded = _recorded_micros(instance, run_id)
            trace = f"0x{run_trace_id(run_id):032x}"
            mine = [span for span in spans if span["context"]["trace_id"] == trace]
            steps = [span for span in mine if "dagster.step_key" in span["attributes"]]
            assert steps, job
            for step in steps:
                step_key = step["attributes"]["dagster.step_key"]
                (started,) = recorded[(step_key, DagsterEventType.STEP_START)]
                (succeeded,) = recorded[(step_key, DagsterEventType.STEP_SUCCESS)]
                start_ns, end_ns = nanos[step["context"]["span_id"]]
                assert (start_ns // 1_000, end_ns // 1_000) == (started, succeeded), (job, step_key)
                kind = step["attributes"]["floe.step_kind"]
                checked.setdefault(job, set()).add(kind)
                if kind == "dbt":
                    children = [span for span in mine if span["parent_id"] == step["context"]["span_id"]]
                    assert children, f"{step_key}: no dbt node span parented on the step span"
                    for child in children:
                        child_start, child_end = nanos[child["context"]["span_id"]]
                        assert start_ns <= child_start <= child_end <= end_ns, (step_key, child["name"])
                elif kind == "asset":
                    run = step["attributes"]["openlineage.run_id"]
                    times = {e["eventType"]: _event_time_micros(e) for e in lineage if e["run"]["runId"] == run}
                    assert times == {"START": started, "COMPLETE": succeeded}, (job, step_key)
    assert checked == {"seed_bronze": {"asset"}, "transform": {"dbt"}}


def test_each_celery_run_is_a_lineage_run_every_node_run_points_at(
    celery_demo: CeleryDemo, openlineage_conformance: ModuleType
) -> None:
    lineage = celery_demo.root / ".floe" / "lineage" / "shop.jsonl"
    events = [json.loads(line) for line in lineage.read_text().splitlines() if line.strip()]
    openlineage_conformance.validate_events(events)
    assert openlineage_conformance.unended_parent_runs(events) == {}
    for job, completed in celery_demo.runs:
        run_id = _run_id(completed)
        states = [(e["job"]["name"], e["eventType"]) for e in events if e["run"]["runId"] == run_id]
        assert states == [(job, "START"), (job, "COMPLETE")]


def test_steps_ran_in_the_celery_workers_not_in_the_run_worker(celery_demo: CeleryDemo) -> None:
    with celery_demo.instance() as instance:
        for job, completed in celery_demo.runs:
            run_id = _run_id(completed)
            records = instance.get_records_for_run(run_id).records
            entries = [record.event_log_entry for record in records]
            run_pids = {
                entry.dagster_event.pid
                for entry in entries
                if entry.dagster_event is not None and entry.dagster_event.event_type == DagsterEventType.RUN_START
            }
            step_pids = {
                entry.dagster_event.pid
                for entry in entries
                if entry.dagster_event is not None and entry.dagster_event.event_type == DagsterEventType.STEP_START
            }
            assert len(run_pids) == 1, job
            assert step_pids, job
            assert not step_pids & run_pids, f"{job}: a step ran in the run worker (pid {run_pids})"
            hosts = {
                str(entry.dagster_event.engine_event_data.metadata["Celery worker"].value)  # type: ignore[union-attr]
                for entry in entries
                if entry.dagster_event is not None
                and entry.dagster_event.event_type == DagsterEventType.ENGINE_EVENT
                and "Celery worker" in (entry.dagster_event.engine_event_data.metadata or {})  # type: ignore[union-attr]
            }
            assert hosts, f"{job}: no step was executed by a Celery worker"
            assert {host.split("@")[0] for host in hosts} <= set(WORKERS)


def test_unreachable_broker_fails_the_run_naming_the_broker_with_credentials_masked(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    port = free_port()
    broker = f"redis://floe:s3cret@127.0.0.1:{port}/0"
    root, env = _copy_demo(tmp_path_factory.mktemp("dead_broker"), broker)
    completed = _floe(root, env, "run", "transform", str(root))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert (
        f"celery.yaml:5:28: execution.executor.broker: the Celery broker redis://floe:***@127.0.0.1:{port}/0 is "
        in (output)
    )
    assert "unreachable" in output
    assert "s3cret" not in output
    assert "Traceback" not in output
    run_id = completed.stdout.split()[1]  # "run <id> (transform)": the run was created, then failed at launch
    with DagsterInstance.from_config(str(root / ".floe" / "dagster")) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert run.is_finished
        assert not run.is_success


def test_the_same_job_on_multiprocess_for_the_wall_time_figure(celery_demo: CeleryDemo) -> None:
    """Run ``transform`` again with Dagster's multiprocess executor; print both wall times (a figure, not a check)."""
    platform = celery_demo.root / "multiprocess.yaml"
    platform.write_text(
        "environment: test\ntracing: {type: file, path: .floe/traces}\n"
        "lineage: {transport: {type: file, path: .floe/lineage}}\n"
        "execution:\n  executor: {type: multiprocess, max_concurrent: 2}\n"
        # The same instance as the Celery runs, so the two figures differ by executor only.
        + _instance_section(celery_demo.postgres_url)
    )
    began = time.monotonic()
    completed = _floe(celery_demo.root, {**celery_demo.env, "FLOE_PLATFORM_FILE": str(platform)}, "run", "transform")
    multiprocess = time.monotonic() - began
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    print(
        f"\nfigure: floe run transform wall time: celery (2 workers) {celery_demo.seconds['transform']:.1f} s, "
        f"multiprocess {multiprocess:.1f} s"
    )


def test_the_runs_are_stored_on_the_postgres_instance_when_one_is_given(celery_demo: CeleryDemo) -> None:
    if celery_demo.postgres_url is None:
        pytest.skip(f"{POSTGRES_URL_ENV} is unset: this round ran on SQLite")
    printed = _floe(celery_demo.root, celery_demo.env, "instance", str(celery_demo.root))
    assert printed.returncode == 0, printed.stderr
    assert f"postgres_url:\n      env: {INSTANCE_URL_ENV}" in printed.stdout  # the URL stays in the environment
    assert celery_demo.postgres_url.rsplit("/", 1)[1] not in printed.stdout
    # Opened on the Postgres database alone (the overrides replace the storage entries whole).
    with celery_demo.instance() as instance:
        stored = {run.run_id for run in instance.get_runs()}
    assert {_run_id(completed) for _, completed in celery_demo.runs} <= stored


# A worker killed in the middle of a step.
#
# A test-only project (no dbt): `held/gate` writes its pid to a file and waits until the test writes `release`;
# `held/after` depends on it. The test SIGKILLs the pool process that runs `held/gate` (the process whose pid the
# step wrote and its STEP_START carries: a child of a Celery worker's main process), then releases the step.
# Each case has its own two workers on its own Redis database, configured by its platform file's on_worker_lost.

HELD_ASSETS = '''\
"""Test-only assets: ``held/gate`` holds its step until the test releases it."""

import os
import time
from pathlib import Path

import dagster as dg

GATE = Path({gate!r})


@dg.asset(key_prefix=["held"], group_name="held")
def gate() -> None:
    """Record this process's pid, then wait for the test's release file."""
    (GATE / f"started-{{os.getpid()}}").write_text(str(os.getpid()))
    while not (GATE / "release").exists():
        time.sleep(0.05)


@dg.asset(key_prefix=["held"], group_name="held", deps=[gate])
def after() -> None:
    """Runs only once ``held/gate`` succeeded."""
'''


@dataclass(frozen=True)
class WorkerLostRun:
    root: Path
    completed: subprocess.CompletedProcess[str]
    killed_pid: int
    worker_pids: set[int]
    postgres_url: str | None

    def instance(self) -> DagsterInstance:
        return open_demo_instance(self.root, self.postgres_url)

    def run_id(self) -> str:
        line = next(line for line in self.completed.stdout.splitlines() if line.startswith("floe run: hold "))
        return line.rsplit("(run ", 1)[1].rstrip(")")

    def lineage(self) -> list[dict[str, Any]]:
        path = self.root / ".floe" / "lineage" / "held.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _redis_database(url: str, number: int) -> str:
    """``url`` on another database of the same server (each case's workers see only their own tasks)."""
    base, _, _ = url.rpartition("/")
    return f"{base}/{number}"


def _held_project(
    base: Path, broker: str, on_worker_lost: str, postgres_url: str | None
) -> tuple[Path, Path, dict[str, str]]:
    root = base / "held"
    gate = base / "gate"
    package = root / f"held_{on_worker_lost}_assets"  # one name per case: a worker process imports it once
    package.mkdir(parents=True)
    gate.mkdir()
    (package / "__init__.py").write_text(HELD_ASSETS.format(gate=str(gate)))
    (root / "floe.yaml").write_text(
        "name: held\nversion: '1.0.0'\norchestration:\n"
        f"  asset_modules: [.{package.name}]\n"
        "  jobs:\n    hold: {type: batch, selection: ['group:held']}\n"
    )
    (root / "celery.yaml").write_text(
        "environment: test\n"
        "tracing: {type: file, path: .floe/traces}\n"
        "lineage: {transport: {type: file, path: .floe/lineage}}\n"
        f"execution:\n  executor: {{type: celery, broker: '{broker}', backend: '{broker}', "
        f"on_worker_lost: {on_worker_lost}}}\n" + _instance_section(postgres_url)
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
            "PATH": os.pathsep.join([str(BIN), env.get("PATH", "")]),
        }
    )
    if postgres_url:
        env[INSTANCE_URL_ENV] = postgres_url
    return root, gate, env


def _descendants(pid: int) -> set[int]:
    """The pids of ``pid``'s children, grandchildren, ... (from /proc)."""
    children: dict[int, set[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError, StopIteration, ValueError):
            lines = status.read_text().splitlines()
            parent = int(next(line for line in lines if line.startswith("PPid:")).split()[1])
            children.setdefault(parent, set()).add(int(status.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), set()) - found:
            found.add(child)
            todo.append(child)
    return found


def _kill_the_step_mid_run(
    base: Path, redis_url: str, on_worker_lost: str, database: int, postgres_url: str | None
) -> WorkerLostRun:
    """Start two workers, run ``hold``, SIGKILL the process running ``held/gate`` while it waits, release it."""
    root, gate, env = _held_project(base, _redis_database(redis_url, database), on_worker_lost, postgres_url)
    written = _floe(root, env, "instance", str(root), "--write")
    assert written.returncode == 0, written.stderr
    with open_demo_instance(root, postgres_url) as instance:
        instance.get_runs_count()  # create the storage once, before the workers race to migrate it
    names = (f"floe-lost-{on_worker_lost}-1", f"floe-lost-{on_worker_lost}-2")
    with celery_workers(root, env, names) as workers:
        run = subprocess.Popen(
            [str(BIN / "floe"), "run", "hold", str(root)],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # The step is held until the release file exists: it is certainly still running when it is killed.
            while not (started := sorted(gate.glob("started-*"))):
                assert run.poll() is None, "floe run ended before the step started"
                time.sleep(0.2)
            killed = int(started[0].read_text())
            worker_pids = set().union(*(_descendants(worker.pid) for worker in workers))
            assert killed in worker_pids, f"the step's process {killed} is not a Celery worker's"
            os.kill(killed, signal.SIGKILL)
            (gate / "release").write_text("go")
            stdout, stderr = run.communicate(timeout=900)  # a guard: a run left waiting fails here, not hangs
        finally:
            if run.poll() is None:
                run.kill()
                run.communicate()
        completed = subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr)
        return WorkerLostRun(root, completed, killed, worker_pids, postgres_url)


def _started_but_unended(events: list[dict[str, Any]]) -> set[str]:
    """Lineage runs with a START and no COMPLETE / FAIL / ABORT (parents or not)."""
    states: dict[str, set[str]] = {}
    for event in events:
        states.setdefault(str(event["run"]["runId"]), set()).add(str(event["eventType"]))
    return {run for run, seen in states.items() if "START" in seen and not seen & {"COMPLETE", "FAIL", "ABORT"}}


def _step_events(instance: DagsterInstance, run_id: str, step_key: str) -> list[tuple[DagsterEventType, int]]:
    return [
        (entry.dagster_event.event_type, entry.dagster_event.pid)
        for entry in (record.event_log_entry for record in instance.get_records_for_run(run_id).records)
        if entry.dagster_event is not None
        and entry.dagster_event.step_key == step_key
        and entry.dagster_event.event_type
        in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE)
    ]


@pytest.fixture(scope="module")
def worker_lost_failed(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> WorkerLostRun:
    base = tmp_path_factory.mktemp("lost_fail")
    return _kill_the_step_mid_run(base, redis_url, "fail", 3, _fresh_postgres_database())


@pytest.fixture(scope="module")
def worker_lost_redelivered(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> WorkerLostRun:
    base = tmp_path_factory.mktemp("lost_redeliver")
    return _kill_the_step_mid_run(base, redis_url, "redeliver", 4, _fresh_postgres_database())


def test_a_step_whose_worker_process_is_killed_fails_the_run_by_default(worker_lost_failed: WorkerLostRun) -> None:
    completed = worker_lost_failed.completed
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert "floe run: hold FAILED" in completed.stdout
    assert "WorkerLostError" in output  # dagster-celery's loop raises the task's error: the worker process died
    assert "Traceback" not in output
    run_id = worker_lost_failed.run_id()
    with worker_lost_failed.instance() as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert run.status == DagsterRunStatus.FAILURE
        # The killed process wrote its STEP_START and nothing after it; the downstream step never started.
        assert _step_events(instance, run_id, "held__gate") == [
            (DagsterEventType.STEP_START, worker_lost_failed.killed_pid)
        ]
        assert _step_events(instance, run_id, "held__after") == []


def test_a_killed_step_leaves_no_lineage_run_without_a_terminal_event(
    worker_lost_failed: WorkerLostRun, openlineage_conformance: ModuleType
) -> None:
    events = worker_lost_failed.lineage()
    openlineage_conformance.validate_events(events)
    assert openlineage_conformance.unended_parent_runs(events) == {}
    assert _started_but_unended(events) == set()
    run_id = worker_lost_failed.run_id()
    mine = [(e["run"]["runId"], e["eventType"]) for e in events]
    assert mine == [(run_id, "START"), (run_id, "FAIL")]
    # The run worker learns of a Celery step only from its task's result (all its events at once): the killed
    # step's task returned none, so the step has no lineage run to end, and the Dagster run's own run FAILs.
    (failed,) = [e for e in events if e["eventType"] == "FAIL"]
    assert "WorkerLostError" in json.dumps(failed["run"])


def test_with_on_worker_lost_redeliver_another_process_reruns_the_step_and_the_run_succeeds(
    worker_lost_redelivered: WorkerLostRun, openlineage_conformance: ModuleType
) -> None:
    completed = worker_lost_redelivered.completed
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-3000:]
    run_id = worker_lost_redelivered.run_id()
    killed = worker_lost_redelivered.killed_pid
    with worker_lost_redelivered.instance() as instance:
        gate = _step_events(instance, run_id, "held__gate")
        # The killed attempt's STEP_START, then the redelivered task's, in another Celery pool process.
        assert [kind for kind, _ in gate] == [
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
        ]
        assert gate[0][1] == killed
        assert gate[1][1] != killed
        assert [kind for kind, _ in _step_events(instance, run_id, "held__after")] == [
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
        ]
    events = worker_lost_redelivered.lineage()
    openlineage_conformance.validate_events(events)
    assert openlineage_conformance.unended_parent_runs(events) == {}
    assert _started_but_unended(events) == set()
    states: dict[str, list[str]] = {}
    for event in events:
        states.setdefault(event["job"]["name"], []).append(event["eventType"])
    # The run worker saw only the redelivered attempt's events (the killed task returned none): one lineage run.
    assert states == {
        "hold": ["START", "COMPLETE"],
        "held.held.gate": ["START", "COMPLETE"],
        "held.held.after": ["START", "COMPLETE"],
    }
