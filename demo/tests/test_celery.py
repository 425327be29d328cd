"""The demo on a real distributed executor: two Celery workers (separate processes), Redis, ``floe run``.

One partition of ``seed_bronze`` and then ``transform`` run through ``floe run`` with
``execution.executor: {type: celery, ...}`` on the project's rendered instance: PostgreSQL (``instance.storage:
postgres``, a fresh database on the server ``FLOE_TEST_POSTGRES_URL`` names, as ``.ci/run`` exports it), or SQLite,
saying so, without that variable. The same truths as the in-process
tests are checked with the demo's own ``collect`` / ``verify`` (one span and one OpenLineage START + COMPLETE per
asset, trace ids, stored materializations, lineage back to bronze), plus span parents and the pids steps ran in.
Redis is ``FLOE_TEST_REDIS_URL`` (``.ci/redis.sh``), else a server this module starts with ``.ci/redis.sh``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from dagster import DagsterEventType, DagsterInstance
from dagster._core.instance.ref import InstanceRef
from demo.run_demo import DemoRun, collect, read_emitted, verify

from floe_definitions import load_project
from floe_definitions.otlp_json import read_spans
from floe_definitions.run_trace import run_trace_id

DEMO_DIR = Path(__file__).resolve().parents[1]
REPO = DEMO_DIR.parent
BIN = Path(sys.executable).parent
REDIS_URL_ENV = "FLOE_TEST_REDIS_URL"
POSTGRES_URL_ENV = "FLOE_TEST_POSTGRES_URL"
INSTANCE_URL_ENV = "FLOE_CELERY_TEST_PG_URL"
"""The variable the Celery platform file's ``instance.postgres_url_env`` names."""
PARTITION = "2024-01-01"
WORKERS = ("floe-w1", "floe-w2")
READY_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """``FLOE_TEST_REDIS_URL``, else a throwaway server from ``.ci/redis.sh`` (skip when neither is possible)."""
    configured = os.environ.get(REDIS_URL_ENV)
    if configured:
        yield configured
        return
    started = subprocess.run(
        ["bash", str(REPO / ".ci" / "redis.sh")], capture_output=True, text=True, check=False, timeout=600
    )
    if started.returncode != 0:
        pytest.skip(f"no Redis for the Celery test: {started.stderr.strip()[-300:]}")
    exports = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield exports[REDIS_URL_ENV]
    finally:
        subprocess.run(
            ["bash", str(REPO / ".ci" / "redis.sh"), "stop", exports["FLOE_TEST_REDIS_DIR"]],
            capture_output=True,
            check=False,
            timeout=120,
        )


def _fresh_postgres_database() -> str | None:
    """A new database on ``FLOE_TEST_POSTGRES_URL``'s server (its URL, psycopg2 driver named), or None without one."""
    server = os.environ.get(POSTGRES_URL_ENV)
    if not server:
        print(f"celery: {POSTGRES_URL_ENV} is unset, so this round runs on a SQLite instance, not PostgreSQL")
        return None
    import psycopg2

    name = f"floe_celery_{uuid.uuid4().hex[:12]}"
    connection = psycopg2.connect(server)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    base, _, _ = server.rpartition("/")
    _, _, location = base.partition("://")
    return f"postgresql+psycopg2://{location}/{name}"


def open_demo_instance(root: Path, postgres_url: str | None) -> DagsterInstance:
    """The instance floe rendered for the copy; its ``{env: ...}`` Postgres URL handed over as an override."""
    overrides = {"storage": {"postgres": {"postgres_url": postgres_url}}} if postgres_url else None
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(root / ".floe" / "dagster"), overrides=overrides))


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


def _start_worker(name: str, root: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start dagster-celery's worker with the config ``floe instance --write`` rendered from the platform file."""
    config = root / ".floe" / "dagster" / "celery-worker.yaml"
    log = (root / f"{name}.log").open("wb")
    command = ["dagster-celery", "worker", "start", "-A", "dagster_celery.app", "-y", str(config), "-n", name]
    return subprocess.Popen(
        [str(BIN / command[0]), *command[1:], "-q", "dagster", "--", "--concurrency=1"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


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
    workers = [_start_worker(name, root, env) for name in WORKERS]
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not all("ready." in (root / f"{name}.log").read_text(errors="replace") for name in WORKERS):
            assert all(worker.poll() is None for worker in workers), "a Celery worker exited before it was ready"
            assert time.monotonic() < deadline, "the Celery workers did not become ready"
            time.sleep(1)
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
    finally:
        for worker in workers:
            _stop(worker)


def _run_id(completed: subprocess.CompletedProcess[str]) -> str:
    return completed.stdout.strip().splitlines()[-1].rsplit("(run ", 1)[1].rstrip(")")


def test_demo_runs_on_two_celery_workers_with_the_same_truths_as_in_process(celery_demo: CeleryDemo) -> None:
    for job, completed in celery_demo.runs:
        assert completed.returncode == 0, f"{job}: {completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broker = f"redis://floe:s3cret@127.0.0.1:{port}/0"
    root, env = _copy_demo(tmp_path_factory.mktemp("dead_broker"), broker)
    completed = _floe(root, env, "run", "transform", str(root))
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output[-3000:]
    assert f"the Celery broker redis://floe:***@127.0.0.1:{port}/0 is unreachable" in output
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
    # Opened on the Postgres database alone (the override replaces the whole storage section).
    with celery_demo.instance() as instance:
        stored = {run.run_id for run in instance.get_runs()}
    assert {_run_id(completed) for _, completed in celery_demo.runs} <= stored
