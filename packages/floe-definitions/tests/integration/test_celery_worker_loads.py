"""A dagster-celery worker loads the project once, not once per task.

A real worker (``floe_test_support.celery_workers``: one pool process, Redis from ``FLOE_TEST_REDIS_URL``) runs both
steps of ``floe run everything`` on a copy of the fixture project. ``tests/load_probe`` on ``PYTHONPATH`` logs the
pid of every ``load_project`` call in every process (see its module docstring).
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterInstance

from floe_test_support.celery_workers import BIN, celery_workers, worker_log

LOAD_PROBE = Path(__file__).parents[1] / "load_probe"


def _env(copy: Any, redis_url: str, load_log: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update(copy.env)
    env.update(
        {
            "DAGSTER_HOME": str(copy.root / ".floe" / "dagster"),
            "FLOE_TEST_LOAD_LOG": str(load_log),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(LOAD_PROBE), env.get("PYTHONPATH")])),
            "PATH": os.pathsep.join([str(BIN), env.get("PATH", "")]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def test_a_celery_worker_loads_the_project_once_for_two_tasks(tmp_path: Path, copy_project: Any) -> None:
    redis_url = os.environ.get("FLOE_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("FLOE_TEST_REDIS_URL is not set (.ci/redis.sh starts a server and exports it)")
    copy = copy_project(tmp_path, package="celery_load_assets")
    (copy.root / "platform.yaml").write_text(
        f"environment: test\nexecution:\n  executor: {{type: celery, broker: '{redis_url}', backend: '{redis_url}'}}\n"
    )
    load_log = tmp_path / "loads.txt"
    env = _env(copy, redis_url, load_log)
    written = subprocess.run(
        [str(BIN / "floe"), "instance", str(copy.root), "--write"],
        cwd=copy.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert written.returncode == 0, written.stderr[-2000:]
    name = f"floe-loads-{os.getpid()}"
    with celery_workers(copy.root, env, [name]):
        load_log.write_text("")  # the loads of `floe instance --write` and the worker's start-up are not the tasks'
        run = subprocess.Popen(
            [str(BIN / "floe"), "run", "everything", str(copy.root)],
            cwd=copy.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout, stderr = run.communicate(timeout=1200)
        worker_output = worker_log(copy.root, name).read_text(errors="replace")[-3000:]
        assert run.returncode == 0, stdout[-2000:] + stderr[-3000:] + worker_output
    run_id = stdout.strip().splitlines()[-1].rsplit("(run ", 1)[1].rstrip(")")
    with DagsterInstance.from_config(str(copy.root / ".floe" / "dagster")) as instance:
        steps = {
            record.event_log_entry.dagster_event.step_key
            for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_SUCCESS).records
            if record.event_log_entry.dagster_event is not None
        }
    assert steps == {"raw__numbers", "tiny_dbt"}  # two tasks, both on the one worker
    loads = Counter(int(line) for line in load_log.read_text().split())
    worker_loads = {pid: count for pid, count in loads.items() if pid != run.pid}
    assert list(worker_loads.values()) == [1], loads
