"""The ``celery`` benchmark: the demo's ``transform`` through ``floe run``, multiprocess against Celery (2 workers).

(Not named ``celery.py``: on the runner's ``sys.path`` that would shadow Celery itself.)

One copy of demo/ and one Dagster instance (project-local SQLite, or a fresh database on the PostgreSQL server
``FLOE_BENCH_POSTGRES_URL`` names) serve both sides; ``seed_bronze`` fills bronze once before anything is timed.
Redis is started the way ``.ci/redis.sh`` starts it (a throwaway server on a free 127.0.0.1 port), and two
dagster-celery workers (``--concurrency=1`` each, configured from the ``celery-worker.yaml`` that ``floe instance
--write`` renders) are started and ready before the timed runs; neither is timed. Each measurement is one whole
``floe run transform PROJECT --platform FILE`` process; the sides are interleaved (AB BA ...) and compared as the
ratio of their medians in the same run. The workers' own CPU (all runs together) is read from /proc before they stop.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generate_dbt_project import WORK_DIR
from latency import DEMO_SOURCE, REPO_ROOT, TELEMETRY, clear_invocation_targets, dbt_parse, floe_executable
from measure import Measurement, Series, print_table, ratio, seconds, spread_text

from floe_test_support.postgres import configured_server
from floe_test_support.redis_server import throwaway_server

CELERY_WORK = WORK_DIR / "celery"
DEFAULT_REPEAT = 3
WORKERS = ("bench-w1", "bench-w2")
READY_TIMEOUT_SECONDS = 300
SEED_PARTITION = "2024-01-01"
POSTGRES_SERVER_ENV = "FLOE_BENCH_POSTGRES_URL"
INSTANCE_URL_ENV = "FLOE_BENCH_CELERY_PG_URL"
"""The variable the benchmark's platform files' ``instance.postgres_url_env`` names."""
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Side:
    """One executor the job runs on."""

    label: str
    platform: str


SIDES = (
    Side("floe run (multiprocess, max_concurrent 2)", "multiprocess"),
    Side("floe run (celery, 2 workers)", "celery"),
)


def _fresh_postgres_database() -> str | None:
    """A new database on ``FLOE_BENCH_POSTGRES_URL``'s server (its SQLAlchemy URL), or None for SQLite."""
    server = configured_server(POSTGRES_SERVER_ENV)
    return server.create_database("floe_bench_celery").sqlalchemy_url if server is not None else None


def prepare_project(base_env: dict[str, str], broker: str, postgres_url: str | None) -> tuple[Path, dict[str, str]]:
    """Copy demo/, write both platform files, parse dbt; return the copy and the environment of every process."""
    project_dir = CELERY_WORK / "demo"
    if project_dir.exists():
        shutil.rmtree(project_dir)
    shutil.copytree(
        DEMO_SOURCE, project_dir, ignore=shutil.ignore_patterns(".floe", "target", "logs", "__pycache__", "tests")
    )
    warehouse = project_dir / ".floe" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    instance = f"instance: {{storage: postgres, postgres_url_env: {INSTANCE_URL_ENV}}}\n" if postgres_url else ""
    executors = {
        "multiprocess": "execution:\n  executor: {type: multiprocess, max_concurrent: 2}\n",
        "celery": f"execution:\n  executor: {{type: celery, broker: '{broker}', backend: '{broker}'}}\n",
    }
    for name, text in executors.items():
        (project_dir / f"platform-{name}.yaml").write_text(TELEMETRY + text + instance, encoding="utf-8")
    env = {key: value for key, value in base_env.items() if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_"))}
    env.update(
        {
            "FLOE_DEMO_WAREHOUSE": str(warehouse),
            "PYTHONPATH": str(REPO_ROOT),
            "DAGSTER_HOME": str(project_dir / ".floe" / "dagster"),
            # dagster-celery starts the `celery` command by name: the venv's.
            "PATH": os.pathsep.join([str(BIN), base_env.get("PATH", "")]),
        }
    )
    if postgres_url:
        env[INSTANCE_URL_ENV] = postgres_url
    dbt_parse(project_dir / "dbt", env)
    return project_dir, env


def _floe(project_dir: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [floe_executable(), *args], cwd=project_dir, env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise RuntimeError(f"floe {' '.join(args)} failed (exit {done.returncode}):\n{output}")


@contextlib.contextmanager
def celery_workers(project_dir: Path, env: dict[str, str], logs_dir: Path) -> Iterator[dict[str, float]]:
    """Start two dagster-celery workers and wait until both are ready; yield a dict that gets their CPU s on stop."""
    config = project_dir / ".floe" / "dagster" / "celery-worker.yaml"
    worker_env = {**env, "FLOE_PLATFORM_FILE": str(project_dir / "platform-celery.yaml")}
    logs_dir.mkdir(parents=True, exist_ok=True)
    workers = []
    for name in WORKERS:
        log = (logs_dir / f"{name}.log").open("wb")
        command = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config)]
        workers.append(
            subprocess.Popen(
                [*command, "-n", name, "-q", "dagster", "--", "--concurrency=1"],
                cwd=project_dir,
                env=worker_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    usage: dict[str, float] = {}
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not all("ready." in (logs_dir / f"{name}.log").read_text(errors="replace") for name in WORKERS):
            if any(worker.poll() is not None for worker in workers):
                raise RuntimeError(f"a Celery worker exited before it was ready (logs in {logs_dir})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Celery workers were not ready after {READY_TIMEOUT_SECONDS} s")
            time.sleep(1)
        yield usage
    finally:
        # Read before stopping: SIGTERM to the group ends the pool processes before anything waits for them.
        usage["cpu_s"] = sum(_tree_cpu_seconds(worker.pid) for worker in workers)
        for worker in workers:
            _stop(worker)


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its live descendants, each with the children it already waited for (/proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            process = int(stat.parent.name)
            parents[process] = int(fields[1])
            cpu[process] = sum(int(value) for value in fields[11:15]) / tick  # utime stime cutime cstime
    tree = {pid}
    grew = True
    while grew:
        grew = False
        for process, parent in parents.items():
            if parent in tree and process not in tree:
                tree.add(process)
                grew = True
    return sum(cpu.get(process, 0.0) for process in tree)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Stop a worker's process group (SIGTERM: Celery's warm shutdown; SIGKILL after 60 s)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def _measure(ctx: Any, project_dir: Path, env: dict[str, str], side: Side) -> Callable[[int], Measurement]:
    def once(index: int) -> Measurement:
        clear_invocation_targets(project_dir / "dbt")
        platform = project_dir / f"platform-{side.platform}.yaml"
        cmd = [floe_executable(), "run", "transform", str(project_dir), "--platform", str(platform)]
        return ctx.measure("celery", side.label, index, cmd, env=env, cwd=project_dir)

    return once


def bench_celery(ctx: Any, base_env: dict[str, str], repeat_interleaved: Callable[..., None]) -> None:
    """Run the demo's transform on both executors, interleaved, and print the table."""
    CELERY_WORK.mkdir(parents=True, exist_ok=True)
    repeats = ctx.repeat if ctx.repeat is not None else DEFAULT_REPEAT
    postgres_url = _fresh_postgres_database()
    storage = "PostgreSQL" if postgres_url else f"SQLite ({POSTGRES_SERVER_ENV} unset)"
    with throwaway_server() as broker:
        project_dir, env = prepare_project(base_env, broker, postgres_url)
        celery_platform = str(project_dir / "platform-celery.yaml")
        _floe(project_dir, env, "instance", str(project_dir), "--platform", celery_platform, "--write")
        multiprocess_platform = str(project_dir / "platform-multiprocess.yaml")
        print(f"  seeding bronze (not timed; instance: {storage})", flush=True)
        seed = ("run", "seed_bronze", str(project_dir), "--platform", multiprocess_platform, "--partition")
        _floe(project_dir, env, *seed, SEED_PARTITION)
        series = [Series(side.label) for side in SIDES]
        with celery_workers(project_dir, env, ctx.logs_dir / "celery") as workers:
            print(f"  transform: {repeats} repeat(s), interleaved; 2 Celery workers ready (not timed)", flush=True)
            cases = [(one, _measure(ctx, project_dir, env, side)) for one, side in zip(series, SIDES, strict=True)]
            repeat_interleaved(ctx, "celery", cases, repeats)
    multiprocess, celery = (one.median() for one in series)
    celery_runs = len(series[1].runs)
    worker_cpu = workers.get("cpu_s")
    rows = [
        [
            one.label,
            seconds(one.median()),
            spread_text(one),
            seconds(one.median("cpu_s")),
            ratio(one.median(), multiprocess),
            one.note,
        ]
        for one in series
    ]
    per_run = f"{worker_cpu / celery_runs:.1f} s" if worker_cpu is not None and celery_runs else "-"
    print_table(
        f"celery: demo transform (6 dbt models + 47 tests), whole `floe run` process, median of {repeats}",
        ["side", "median s", "min-max s", "CPU s", "/ multiprocess", "notes"],
        rows,
        [
            f"instance: {storage}; broker and result backend: a local Redis; the workers were started before the "
            "timed runs and are not timed.",
            f"CPU s is the `floe run` process tree only; the Celery workers' own CPU was {per_run} per Celery run "
            f"(both workers from their start, their start-up included, divided by the {celery_runs} run(s)).",
            f"celery / multiprocess: {ratio(celery, multiprocess)}",
        ],
    )
    ctx.record["celery"] = {
        "repeats": repeats,
        "storage": storage,
        "worker_cpu_s": worker_cpu,
        "series": [
            {"label": one.label, "note": one.note, "runs": [{"wall_s": m.wall_s, "cpu_s": m.cpu_s} for m in one.runs]}
            for one in series
        ],
    }
