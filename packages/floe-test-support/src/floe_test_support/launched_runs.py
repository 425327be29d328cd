"""Runs launched as the webserver and the daemon launch them: from a code server's snapshots, by a run launcher.

:func:`launched_runs` starts one code server (a subprocess, as ``floe dev`` runs it) for a project and opens two
instances beside it: ``warm``, whose ``dagster.yaml`` names floe's ``WarmRunLauncher``, and ``cold``, with Dagster's
default launcher (the code server starts a run worker per run); on SQLite by default, on fresh PostgreSQL databases when
given a server's URL; with ``rendered``, the warm instance is the ``dagster.yaml`` floe renders from platform.yaml
(floe's event log storage too), not only Dagster's storage with floe's launcher. :meth:`LaunchedRuns.launch` creates a
run from the code server's snapshots and hands it to an instance's launcher. Used by floe-definitions' and the demo's
warm-run tests and by the bench's latency warm side; the project's variables (``FLOE_PLATFORM_FILE``, a warehouse path)
must be in this process's environment first: the code server and the warm process inherit it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRun

from floe_config import PlatformSpec
from floe_definitions.instance.dagster_yaml import render_instance
from floe_definitions.warm.launcher import PID_TAG, SOCKET_TAG, process_alive
from floe_test_support.dagster_internals import ModuleTarget, PythonFileTarget, WorkspaceProcessContext
from floe_test_support.postgres import PostgresDatabase, PostgresServer

COLD_DAGSTER_YAML = "telemetry: {enabled: false}\ncode_servers: {local_startup_timeout: 600}\n"
"""Dagster's default run launcher; a slow code-server start allowed (a loaded 2-core machine)."""
WARM_DAGSTER_YAML = (
    COLD_DAGSTER_YAML + "run_launcher: {module: floe_definitions.warm.launcher, class: WarmRunLauncher, config: {}}\n"
)
"""floe's warm run launcher on Dagster's own storage (``rendered`` gives floe's whole rendered instance)."""


@dataclass
class LaunchedRuns:
    """One code server and the instances whose launchers start its runs."""

    warm: DagsterInstance
    cold: DagsterInstance
    context: WorkspaceProcessContext
    location_name: str

    def launch(self, instance: DagsterInstance, job: str, tags: Mapping[str, str] | None = None) -> DagsterRun:
        """Create a run of ``job`` from the code server's snapshots and launch it, as the webserver does."""
        run, request_context = self.create(instance, job, tags)
        instance.launch_run(run.run_id, request_context)
        return run

    def create(
        self, instance: DagsterInstance, job: str, tags: Mapping[str, str] | None = None
    ) -> tuple[DagsterRun, Any]:
        """Create (not launch) a run of ``job`` from the code server's snapshots.

        Returns:
            The run, and the request context ``instance.launch_run`` takes with it.
        """
        request_context = self.context.create_request_context()
        location = request_context.get_code_location(self.location_name)
        remote_job = location.get_repository("__repository__").get_full_job(job)
        plan = location.get_execution_plan(
            remote_job, {}, step_keys_to_execute=None, known_state=None, instance=instance
        )
        run = instance.create_run(
            job_name=job,
            run_id=None,
            run_config={},
            status=None,
            tags=dict(tags or {}),
            root_run_id=None,
            parent_run_id=None,
            step_keys_to_execute=None,
            execution_plan_snapshot=plan.execution_plan_snapshot,
            job_snapshot=remote_job.job_snapshot,
            parent_job_snapshot=remote_job.parent_job_snapshot,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            asset_selection=None,
            asset_check_selection=None,
            op_selection=None,
            resolved_op_selection=None,
            asset_graph=request_context.asset_graph,
        )
        return run, request_context

    def run(
        self, instance: DagsterInstance, job: str, tags: Mapping[str, str] | None = None, timeout: float = 300.0
    ) -> DagsterRun:
        """Launch ``job`` and return the run once it has finished and its process has exited (spans exported)."""
        return wait_finished(instance, self.launch(instance, job, tags).run_id, timeout)

    def warm_server_pids(self) -> set[int]:
        """The pids of the warm processes the warm instance's runs were sent to (from their pid files)."""
        return warm_server_pids(self.warm)


def warm_server_pids(instance: DagsterInstance) -> set[int]:
    """The pids of the warm processes ``instance``'s runs were sent to (each socket's pid file)."""
    pids: set[int] = set()
    for run in instance.get_runs():
        path = run.tags.get(SOCKET_TAG)
        if path and Path(path).with_suffix(".pid").exists():
            pids.add(int(Path(path).with_suffix(".pid").read_text()))
    return pids


def wait_finished(instance: DagsterInstance, run_id: str, timeout: float = 300.0) -> DagsterRun:
    """Wait until the run has finished and its process has exited; return it.

    Raises:
        TimeoutError: If either takes longer than ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while (run := instance.get_run_by_id(run_id)) is None or not run.is_finished:
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} did not finish within {timeout:.0f} s")
        time.sleep(0.2)
    while (pid := run_process_pid(instance, run)) is not None and process_alive(pid, None):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the process of run {run_id} (pid {pid}) did not exit within {timeout:.0f} s")
        time.sleep(0.2)
    return run


def run_process_pid(instance: DagsterInstance, run: DagsterRun) -> int | None:
    """The run's process: the warm launcher's pid tag, else the pid Dagster's run worker reports."""
    fresh = instance.get_run_by_id(run.run_id)
    if fresh is not None and PID_TAG in fresh.tags:
        return int(fresh.tags[PID_TAG])
    for record in instance.all_logs(run.run_id):
        message = record.message or ""
        if message.startswith("Started process for run (pid: "):
            return int(message.split("pid: ")[1].rstrip(")."))
    return None


@contextlib.contextmanager
def launched_runs(
    base: Path,
    project_root: Path,
    location_name: str,
    *,
    python_file: Path | None = None,
    postgres_url: str | None = None,
    rendered: bool = False,
) -> Iterator[LaunchedRuns]:
    """Serve the project from a code server, with a warm and a cold instance under ``base``; clean up after.

    Args:
        base: A directory for the instances' homes (``warm_home``, ``cold_home``), created here.
        project_root: The project's directory (the code server's working directory).
        location_name: The code location's name.
        python_file: The project's definitions file; without one, floe's ``floe_definitions.code_location``
            module (which reads ``FLOE_CONFIG``, else ``floe.yaml`` in the working directory).
        postgres_url: A PostgreSQL server's URL: each instance stores on a fresh database there (dropped on exit)
            instead of SQLite files under ``base``.
        rendered: The warm instance's ``dagster.yaml`` is what ``floe instance`` renders for a platform with that
            storage and ``run_launcher: warm`` (floe's batched event log storage included).

    Yields:
        The code server's context and the two instances. On exit the warm processes are killed and the
        instances disposed.
    """
    target: ModuleTarget | PythonFileTarget
    if python_file is not None:
        target = PythonFileTarget(
            python_file=os.fspath(python_file),
            attribute="defs",
            working_directory=os.fspath(project_root),
            location_name=location_name,
        )
    else:
        target = ModuleTarget(
            module_name="floe_definitions.code_location",
            attribute="defs",
            working_directory=os.fspath(project_root),
            location_name=location_name,
        )
    instances: list[DagsterInstance] = []
    server = PostgresServer(postgres_url) if postgres_url is not None else None
    databases: list[PostgresDatabase] = []
    try:
        for name in ("warm_home", "cold_home"):
            home = base / name
            home.mkdir(parents=True)
            url = None
            if server is not None:
                databases.append(server.create_database(f"floe_{name}"))
                url = databases[-1].sqlalchemy_url
            text = _instance_yaml(home, warm=name == "warm_home", postgres_url=url, rendered=rendered)
            (home / "dagster.yaml").write_text(text, encoding="utf-8")
            instances.append(DagsterInstance.from_config(os.fspath(home)))
        warm, cold = instances
        try:
            with WorkspaceProcessContext(warm, target) as context:
                yield LaunchedRuns(warm=warm, cold=cold, context=context, location_name=location_name)
        finally:
            for pid in warm_server_pids(warm):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    finally:
        for instance in instances:
            instance.dispose()
        if server is not None:
            for database in databases:
                server.drop_database(database)


def _instance_yaml(home: Path, *, warm: bool, postgres_url: str | None, rendered: bool) -> str:
    """The ``dagster.yaml`` text of the warm or the cold instance."""
    if warm and rendered:
        storage: dict[str, Any] = {"storage": "postgres", "postgres_url": postgres_url} if postgres_url else {}
        platform = PlatformSpec.model_validate({"instance": {**storage, "run_launcher": "warm", "telemetry": False}})
        text = render_instance(platform, home).text()
        return text + "code_servers: {local_startup_timeout: 600}\n"
    text = WARM_DAGSTER_YAML if warm else COLD_DAGSTER_YAML
    if postgres_url is not None:
        text += f"storage: {{postgres: {{postgres_url: '{postgres_url}'}}}}\n"
    return text
