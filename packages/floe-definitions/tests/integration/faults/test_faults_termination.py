"""A run terminated mid-dbt through Dagster's own run termination leaves nothing open and nothing running.

The run is launched the way the webserver launches it (a code server subprocess, Dagster's default run launcher
starting a run worker process, dbt as the worker's subprocess); while dbt works on a deliberately slow mart, the
run launcher's ``terminate`` interrupts it. Afterwards: the run is CANCELED, the slow model's span and the step and
run spans have ended (they are in the span file, which only ever receives ended spans), the model's lineage run
ended FAIL or ABORT, and no process working in the project's directory is left.

The same test runs with dbt inside the run worker (platform.yaml ``dbt: {invocation: in_process}``, dbt's
``dbtRunner``): there is no dbt process to signal, and the outcome must be the same.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from floe_test_support.dagster_internals import PythonFileTarget, WorkspaceProcessContext
from floe_test_support.reconstruct import reconstructable_job

# Forty billion rows to sum: minutes of work for DuckDB, so the run is still inside dbt when it is terminated.
SLOW_MART = "select sum(a.range * b.range) as total from range(200000) a cross join range(200000) b\n"
TIMEOUT = 480.0  # a bound, not a timing: a loaded 2-core machine starts the warm step server slowly


def _slow_mart(root: Path) -> None:
    (root / "dbt" / "models" / "marts" / "total.sql").write_text(SLOW_MART)


def _wait_until(probe: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)
    return value


def _processes_in(directory: Path) -> list[tuple[int, str]]:
    """Processes (pid, command line) whose command line or working directory is inside ``directory``."""
    found: list[tuple[int, str]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(directory) in cmdline or cwd.startswith(str(directory)):
            found.append((int(entry.name), cmdline[:200]))
    return found


def _is_dbt_cli(cmdline: str) -> bool:
    """A dbt CLI process: ``dbt`` itself, or ``floe-dbt``, the launcher a traced dbt subprocess runs as."""
    return any(Path(part).name in {"dbt", "floe-dbt"} for part in cmdline.split()[:3])


@pytest.fixture(params=["subprocess", "in_process", "warm_steps"])
def workspace(
    request: pytest.FixtureRequest, fault_project: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, Any, Any]]:
    """(project, instance, workspace process context) for the slow-mart copy; the code server is a subprocess.

    Parametrized by how the run worker runs dbt: a ``dbt`` subprocess, or ``dbtRunner`` in the worker itself; and
    ``warm_steps``: the default multiprocess executor, the dbt step forked from the run's warm step server.
    """
    project = fault_project(_slow_mart)
    if request.param == "in_process":
        project.write_platform("dbt: {invocation: in_process}\n")
    if request.param == "warm_steps":
        (project.root / "platform.yaml").write_text(
            "environment: fault-tests\nexecution:\n  executor: {type: multiprocess}\n"
        )
    for key, value in project.env().items():
        monkeypatch.setenv(key, value)
    home = project.root / ".floe" / "dagster"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\n")
    instance = DagsterInstance.from_config(str(home))
    target = PythonFileTarget(
        python_file=str(project.root / "definitions.py"),
        attribute="defs",
        working_directory=str(project.root),
        location_name="faulty",
    )
    try:
        with WorkspaceProcessContext(instance, target) as context:
            yield project, instance, context
    finally:
        instance.dispose()


def test_terminated_run_ends_spans_and_lineage_and_leaves_no_dbt_process(workspace: tuple[Any, Any, Any]) -> None:
    project, instance, context = workspace
    request_context = context.create_request_context()
    location = request_context.get_code_location("faulty")
    remote_job = location.get_repository("__repository__").get_full_job("everything")
    job_def = reconstructable_job(project.root / "definitions.py", "everything").get_definition()
    run = instance.create_run_for_job(
        job_def=job_def,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
    )
    code_server = {pid for pid, _ in _processes_in(project.root)}  # present before the run; stays for the workspace
    instance.launch_run(run.run_id, request_context)

    def total_started() -> bool:
        return any(
            e["job"]["name"] == "warehouse.main.faulty.total" and e["eventType"] == "START" for e in project.lineage()
        )

    _wait_until(total_started, "dbt to start the slow mart")
    started_for_run = [(pid, cmdline) for pid, cmdline in _processes_in(project.root) if pid not in code_server]
    in_process = "invocation: in_process" in (project.root / "platform.yaml").read_text()
    assert any(_is_dbt_cli(cmdline) for _, cmdline in started_for_run) != in_process, started_for_run

    assert instance.run_launcher.terminate(run.run_id)
    finished = _wait_until(
        lambda: (r := instance.get_run_by_id(run.run_id)) is not None and r.is_finished and r, "the run to end"
    )
    assert finished.status == DagsterRunStatus.CANCELED
    _wait_until(
        lambda: not [pid for pid, _ in _processes_in(project.root) if pid not in code_server],
        "the run worker and dbt to exit",
        timeout=60,
    )

    spans = _wait_until(
        lambda: [s for s in project.spans() if s["attributes"].get("dbt.node.unique_id") == "model.faulty.total"],
        "the slow model's span to be exported",
        timeout=60,
    )
    assert len(spans) == 1
    assert spans[0]["status"]["status_code"] == "ERROR"
    names = {span["name"] for span in project.spans()}
    assert any(name.startswith("dagster run") for name in names), names
    states = [e["eventType"] for e in project.lineage() if e["job"]["name"] == "warehouse.main.faulty.total"]
    assert states[0] == "START"
    assert states[-1] in {"FAIL", "ABORT"}, states
    assert states.count("START") == 1
