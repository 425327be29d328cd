"""``floe run`` beside a running ``floe dev`` of the same project launches through it; without one it runs here.

One ``floe dev`` (a subprocess on a free port) serves a small project of Python assets for the whole module; a
second copy of the project has no ``floe dev``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance

from floe_test_support.http_endpoints import free_port
from floe_test_support.webserver import code_locations_loaded

FLOE = str(Path(sys.executable).with_name("floe"))
STARTUP_TIMEOUT_SECONDS = 300
FLOE_YAML = """\
name: devrun
orchestration:
  asset_modules: [.devrun_assets.assets]
  partitions:
    letters: {type: static, partition_keys: [a, b]}
  assets:
    "lettered": {partitions: letters}
  jobs:
    both: {type: batch, selection: ["group:tiny"]}
    one: {type: batch, selection: ["first"]}
    broken: {type: batch, selection: ["group:bad"]}
    by_letter: {type: batch, selection: ["lettered"], partitions: letters}
"""
ASSETS = """\
from dagster import asset


@asset(group_name="tiny")
def first() -> int:
    return 1


@asset(group_name="tiny")
def second(first: int) -> int:
    return first + 1


@asset(group_name="letters")
def lettered() -> None:
    pass


@asset(group_name="bad")
def boom() -> None:
    raise RuntimeError("boom on purpose")
"""
# Through the script's own entry point in a fresh interpreter, so the test also sees what it imported.
FLOE_RUN_REPORTING_DAGSTER = (
    "import sys\n"
    "from floe_definitions.commands.script import main\n"
    "code = main(sys.argv[1:])\n"
    "print('dagster imported:', 'dagster' in sys.modules)\n"
    "sys.exit(code)\n"
)


@dataclass(frozen=True)
class Project:
    root: Path
    env: dict[str, str]

    @property
    def home(self) -> Path:
        return self.root / ".floe" / "dagster"


def _project(base: Path) -> Project:
    root = base / "project"
    (root / "devrun_assets").mkdir(parents=True)
    (root / "floe.yaml").write_text(FLOE_YAML)
    (root / "devrun_assets" / "__init__.py").write_text("")
    (root / "devrun_assets" / "assets.py").write_text(ASSETS)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    return Project(root=root, env={**env, "PYTHONUNBUFFERED": "1"})


def floe_run(project: Project, *args: str, script: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", FLOE_RUN_REPORTING_DAGSTER] if script else [FLOE]
    return subprocess.run(
        [*command, "run", *args],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@dataclass(frozen=True)
class Dev:
    project: Project
    url: str


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """``floe dev`` on a free port, serving the project, for the whole module."""
    project = _project(tmp_path_factory.mktemp("run_through_dev"))
    port = free_port()
    log_path = project.root / "floe-dev.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [FLOE, "dev", str(project.root), "--port", str(port)],
            env=project.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
            while not code_locations_loaded(port):
                assert process.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(1)
            yield Dev(project=project, url=f"http://127.0.0.1:{port}")
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def no_dev(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The same project, with no ``floe dev``."""
    return _project(tmp_path_factory.mktemp("run_without_dev"))


def _run_id(stdout: str) -> str:
    found = re.search(r"\(run ([0-9a-f-]{36})\)", stdout)
    assert found is not None, stdout
    return found.group(1)


def _summary(stdout: str) -> list[str]:
    """The progress view and summary, with the run's id and the seconds taken left out."""
    lines = [line for line in stdout.splitlines() if not line.startswith("floe run: through the floe dev")]
    lines = [line for line in lines if not re.match(r"floe run: \w+: one step", line)]  # the cold single-step note
    run_id = _run_id(stdout)
    lines = [line.replace(run_id, "RUN").replace(run_id.replace("-", ""), "TRACE") for line in lines]
    return [re.sub(r"\d+\.\d s", "N s", line) for line in lines]


def test_floe_run_beside_floe_dev_launches_through_it_without_importing_dagster(dev: Dev) -> None:
    completed = floe_run(dev.project, "both", script=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    run_id = lines[-2].rsplit("(run ", 1)[1].rstrip(")")
    assert lines[0] == f"floe run: through the floe dev at {dev.url}: {dev.url}/runs/{run_id}"
    assert lines[1] == f"run {run_id} (both)"
    assert "  materialized first" in lines
    assert "  materialized second" in lines
    assert any(re.fullmatch(r"  ok {11}first  \d+\.\d s", line) for line in lines)
    assert any(re.fullmatch(r"  ok {11}second  \d+\.\d s", line) for line in lines)
    assert lines[-2].startswith("floe run: both succeeded in ")
    assert lines[-1] == "dagster imported: False"
    with DagsterInstance.from_config(os.fspath(dev.project.home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert "floe/warm_pid" in run.tags  # started by the floe dev's warm launcher, not in the floe run process


def test_a_failing_job_through_floe_dev_exits_1_with_the_lines_of_a_run_here(dev: Dev) -> None:
    through_dev = floe_run(dev.project, "broken")
    here = floe_run(dev.project, "broken", "--in-process")
    assert through_dev.returncode == 1, through_dev.stdout + through_dev.stderr[-3000:]
    assert here.returncode == 1, here.stdout + here.stderr[-3000:]
    assert through_dev.stdout.startswith(f"floe run: through the floe dev at {dev.url}")
    first, *rest = here.stdout.splitlines()
    assert first == (
        f"floe run: --in-process runs the steps in this process; running here, not through the floe dev at {dev.url}"
    )
    assert _summary(through_dev.stdout) == _summary("\n".join(rest))
    assert "  failed steps: boom" in through_dev.stdout.splitlines()
    assert "  error: RuntimeError: boom on purpose" in through_dev.stdout.splitlines()
    assert "  failed assets: boom" in through_dev.stdout.splitlines()
    assert "Traceback" not in through_dev.stderr


def test_a_partition_run_through_floe_dev_carries_its_partition(dev: Dev) -> None:
    completed = floe_run(dev.project, "by_letter", "--partition", "b", "--tag", "team=data")
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    assert completed.stdout.startswith(f"floe run: through the floe dev at {dev.url}")
    with DagsterInstance.from_config(os.fspath(dev.project.home)) as instance:
        run = instance.get_run_by_id(_run_id(completed.stdout))
        assert run is not None
        assert run.tags["dagster/partition"] == "b"
        assert run.tags["team"] == "data"


def test_an_unknown_job_through_floe_dev_is_the_located_usage_error(dev: Dev) -> None:
    completed = floe_run(dev.project, "bothh")
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.startswith("error: floe.yaml:8:3: orchestration.jobs: unknown job 'bothh'")
    assert "(did you mean 'both'?)" in completed.stderr


def test_floe_run_with_no_floe_dev_runs_here(no_dev: Project) -> None:
    completed = floe_run(no_dev, "one")
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    assert "floe dev" not in completed.stdout
    assert completed.stdout.splitlines()[-1].startswith("floe run: one succeeded in ")
    with DagsterInstance.from_config(os.fspath(no_dev.home)) as instance:
        run = instance.get_run_by_id(_run_id(completed.stdout))
        assert run is not None
        assert "floe/warm_pid" not in run.tags


def test_a_state_file_left_by_a_dead_floe_dev_is_ignored_and_removed(no_dev: Project) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    no_dev.home.mkdir(parents=True, exist_ok=True)
    state = no_dev.home / "floe-dev.json"
    state.write_text(
        json.dumps(
            {
                "pid": dead.pid,
                "url": f"http://127.0.0.1:{free_port()}",
                "floe_yaml": os.fspath((no_dev.root / "floe.yaml").resolve()),
                "platform_file": None,
                "location": "devrun",
                "repository": "__repository__",
                "places": {"spans": "-", "lineage": "-", "lineage_namespace": "floe", "compute_logs": "-"},
            }
        )
    )
    completed = floe_run(no_dev, "one")
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    assert "floe dev" not in completed.stdout  # no "did not answer": the dead pid ruled it out first
    assert not state.exists()
