"""``WarmRunLauncher``: Dagster's run launcher interface, starting each run as a fork of a warm process.

Selected by platform.yaml's ``instance.run_launcher`` (``warm``: the default on SQLite) and rendered into
``dagster.yaml`` as ``run_launcher: {module: floe_definitions.warm.launcher, class: WarmRunLauncher}``, so the
webserver, the daemon (schedules, sensors, backfills, the run queue) and ``dagster`` CLI launches all use it. A
launch sends the run to the warm process of its code location and instance (a Unix socket under the temporary
directory), starting that process first when none answers; the warm process forks the run's own process
(:mod:`floe_definitions.warm.server`). The run's process tags the run with its pid, which
:meth:`WarmRunLauncher.check_run_worker_health` (run monitoring) and :meth:`WarmRunLauncher.terminate` use.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import DagsterInstance, DagsterRun, serialize_value

from floe_definitions._compat import run_launcher_types

if TYPE_CHECKING:
    from floe_definitions._compat import (
        CheckRunHealthResult,
        ConfigurableClass,
        ConfigurableClassData,
        LaunchRunContext,
        RunLauncher,
        WorkerStatus,
    )
else:
    RunLauncher, LaunchRunContext, CheckRunHealthResult, WorkerStatus, ConfigurableClass, ConfigurableClassData = (
        run_launcher_types()
    )

LAUNCHER_TAG_PREFIX = "floe/warm_"
"""The launcher's bookkeeping tags (below): a run's process, not its identity, so lineage leaves them out."""
PID_TAG = "floe/warm_pid"
"""The run's process id, written by that process before the run starts."""
HOST_TAG = "floe/warm_host"
"""The host the run's process runs on."""
STARTED_TAG = "floe/warm_process_start"
"""The run process's start time in clock ticks since boot (``/proc/PID/stat``), so a reused pid is not it."""
SOCKET_TAG = "floe/warm_socket"
"""The warm process's socket the run was sent to."""
PROJECT_ENV = ("FLOE_CONFIG", "FLOE_PLATFORM_FILE", "FLOE_PLATFORM_ENV", "DBT_TARGET")
"""Variables that change what a code location loads: a warm process serves one combination."""
START_TIMEOUT_SECONDS = 120.0
SEND_TIMEOUT_SECONDS = 10.0


class WarmLaunchError(Exception):
    """The run could not be handed to a warm process."""


class WarmRunLauncher(RunLauncher, ConfigurableClass):
    """Launch each run as a fork of a long-lived process holding the code location's definitions.

    ``dagster.yaml``: ``run_launcher: {module: floe_definitions.warm.launcher, class: WarmRunLauncher}``.
    """

    def __init__(self, inst_data: ConfigurableClassData | None = None) -> None:
        self._inst_data = inst_data
        super().__init__()  # type: ignore[no-untyped-call]  # Dagster leaves RunLauncher.__init__ untyped

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        """The config this launcher was built from."""
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        """No settings."""
        return {}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> WarmRunLauncher:
        """Build the launcher from ``dagster.yaml``."""
        return cls(inst_data=inst_data)

    def launch_run(self, context: LaunchRunContext) -> None:
        """Send the run to its code location's warm process (started first when none answers)."""
        run = context.dagster_run
        origin = run.job_code_origin
        if origin is None:
            raise WarmLaunchError(f"run {run.run_id} has no code origin; a warm process cannot load its job")
        origin_json = serialize_value(origin.repository_origin)
        instance = self._instance
        path = socket_path(origin_json, instance)
        request = {
            "run_id": run.run_id,
            "instance_ref": serialize_value(instance.get_ref()),
            "generation": _code_server_id(context, run),
        }
        instance.add_run_tags(run.run_id, {SOCKET_TAG: os.fspath(path)})
        with _connected(path, origin_json, origin.repository_origin, instance.root_directory) as connection:
            connection.sendall(json.dumps(request).encode() + b"\n")

    @property
    def supports_check_run_worker_health(self) -> bool:
        """Run monitoring may ask whether a run's process is alive."""
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        """Tell run monitoring whether the run's process is alive (FAILED once it has gone without finishing)."""
        pid = run.tags.get(PID_TAG)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "the run's process has not started yet")
        if run.tags.get(HOST_TAG) != socket.gethostname():
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, f"the run's process runs on {run.tags.get(HOST_TAG)}")
        if process_alive(int(pid), run.tags.get(STARTED_TAG)):
            return CheckRunHealthResult(WorkerStatus.RUNNING, run_worker_id=pid)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run's process (pid {pid}) exited before the run finished: it was killed, or its warm process "
            "died (the next launch starts a new one)",
            run_worker_id=pid,
        )

    def terminate(self, run_id: str) -> bool:
        """Interrupt the run's process (as Dagster's code server does), so the run ends CANCELED."""
        instance = self._instance
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        instance.report_run_canceling(run)
        pid = run.tags.get(PID_TAG)
        if pid is None or run.tags.get(HOST_TAG) != socket.gethostname():
            instance.report_engine_event(
                "floe's warm run launcher could not find the run's process to interrupt (not started yet, or on "
                "another host); run monitoring marks the run canceled after its cancel timeout",
                dagster_run=run,
                cls=self.__class__,
            )
            return False
        if not process_alive(int(pid), run.tags.get(STARTED_TAG)):
            return False
        os.kill(int(pid), signal.SIGINT)
        return True


def socket_path(origin_json: str, instance: DagsterInstance) -> Path:
    """The Unix socket of the warm process for a code location, an instance and the project's variables."""
    key = json.dumps(
        [origin_json, instance.root_directory, [os.environ.get(name) for name in PROJECT_ENV]], sort_keys=True
    )
    directory = Path(tempfile.gettempdir()) / f"floe-warm-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.sock"


def process_alive(pid: int, started: str | None) -> bool:
    """Tell whether ``pid`` is a live process (not a zombie) and, when ``started`` is known, the same one."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = process_stat(pid)
    if stat is None:
        return True  # no /proc: the pid answers
    state, start_ticks = stat
    return state != "Z" and (not started or started == start_ticks)


def process_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks) of a process from ``/proc``; ``None`` where there is no ``/proc``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], fields[19]


def _code_server_id(context: LaunchRunContext, run: DagsterRun) -> str | None:
    """The id of the code server the run was created from: a new id means "Reload definitions" happened."""
    origin = run.remote_job_origin
    if context.workspace is None or origin is None:
        return None
    try:
        location = context.workspace.get_code_location(origin.location_name)
        server_id = getattr(location, "server_id", None)
    except Exception:
        return None
    return server_id if isinstance(server_id, str) else None


@contextlib.contextmanager
def _connected(path: Path, origin_json: str, origin: Any, instance_dir: str | None) -> Iterator[socket.socket]:
    connection = _connect(path)
    if connection is None:
        with _locked(path.with_suffix(".lock")):
            connection = _connect(path) or _start(path, origin_json, origin, instance_dir)
    try:
        yield connection
    finally:
        connection.close()


def _connect(path: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(SEND_TIMEOUT_SECONDS)
    try:
        connection.connect(os.fspath(path))
    except OSError:
        connection.close()
        return None
    return connection


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _start(path: Path, origin_json: str, origin: Any, instance_dir: str | None) -> socket.socket:
    """Start the warm process and return a connection to it once it listens."""
    executable = origin.executable_path if origin.executable_path and os.path.exists(origin.executable_path) else None
    command = [executable or sys.executable, "-m", "floe_definitions.warm.server"]
    command += ["--socket", os.fspath(path), "--origin", origin_json, "--parent", str(os.getpid())]
    if instance_dir:
        command += ["--instance-dir", instance_dir]
    working_directory = getattr(origin.code_pointer, "working_directory", None) or None
    # Its output (and its runs', as a code server's run workers) goes where the launching process's goes: the
    # terminal of `floe dev`.
    process = subprocess.Popen(command, cwd=working_directory, stdin=subprocess.DEVNULL, close_fds=True)
    path.with_suffix(".pid").write_text(str(process.pid))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        connection = _connect(path)
        if connection is not None:
            return connection
        if process.poll() is not None:
            raise WarmLaunchError(
                f"floe's warm process exited with {process.returncode} before listening (its error is in this "
                "process's output)"
            )
        time.sleep(0.02)
    process.kill()
    raise WarmLaunchError(f"floe's warm process did not listen on {path} within {START_TIMEOUT_SECONDS:.0f} s")
