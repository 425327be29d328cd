"""Warm step processes: forked from a server that has imported floe's libraries and built the project.

Dagster's multiprocess executor with ``start_method: forkserver`` forks every step from one server process per
run worker, which imports the executor's ``preload_modules`` once. floe makes that the default of the multiprocess
executor: the server imports Dagster, dagster-dbt, dbt, the OpenTelemetry SDK, the OpenLineage client and floe
(:data:`WARM_STEP_MODULES`), and its last module, :mod:`floe_definitions.execution.step_server_preload`, builds the
run's project there. A forked step then finds the project in :data:`WARM_PROJECTS` and reuses it when its files
are unchanged (:func:`project_fingerprint`), instead of importing everything and loading the project again.

The server takes nothing but module names and the environment it starts with, so :func:`start_step_server`
names the project in :data:`WARM_PROJECT_ENV` for the moment it starts the server. Celery workers and the
``floe run`` process use the same cache: one load per process for as long as the project's files stay the same.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.forkserver
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from floe_definitions.project import FloeProject

PRELOAD_MODULE = "floe_definitions.execution.step_server_preload"
"""The module the step server imports last; importing it builds the project :data:`WARM_PROJECT_ENV` names."""

WARM_STEP_MODULES: tuple[str, ...] = (
    "dagster._core.executor.multiprocess",  # first, as Dagster's own forkserver preload does
    "dagster",
    "dagster_dbt",
    "dbt.cli.main",
    "opentelemetry.sdk.trace",
    "openlineage.client",
    "floe_definitions.project",
    PRELOAD_MODULE,
)
"""What the step server imports once, before it forks steps (the default ``preload_modules``)."""

WARM_PROJECT_ENV = "FLOE_WARM_STEPS_PROJECT"
"""Set only while the step server starts: JSON ``[floe.yaml, platform file or null]`` of the project to build."""

FINGERPRINT_SUFFIXES = frozenset({".yaml", ".yml", ".sql", ".py", ".csv", ".json", ".md", ".jinja", ".sqlfluff"})
"""Files under floe.yaml's directory whose change makes a warm process load the project again."""
SKIPPED_DIRS = frozenset({"target", "logs", "dbt_packages", "__pycache__", "node_modules", "site-packages"})
"""Directories of build output and installed packages, left out of the fingerprint (a run writes to them)."""


_FORKS_RUNS = threading.Event()


def forks_runs() -> None:
    """Say that this process forks runs (the warm process).

    Its loads then do at once what every forked run would otherwise do again for itself (reading the dbt profile
    for the dataset names of Python assets' lineage: :func:`loads_for_forks`).
    """
    _FORKS_RUNS.set()


def loads_for_forks() -> bool:
    """Whether this process's loads should do what its forks would each repeat (see :func:`forks_runs`)."""
    return _FORKS_RUNS.is_set()


def forkserver_available() -> bool:
    """Whether this platform can start step processes from a fork server (POSIX: yes; Windows: no)."""
    return "forkserver" in multiprocessing.get_all_start_methods()


def _project_files(base_dir: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(base_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            if Path(name).suffix in FINGERPRINT_SUFFIXES:
                yield Path(root, name)


def project_fingerprint(floe_yaml: Path, platform_file: Path | None) -> str:
    """Return a digest of the project's files as they are now (path, size and modification time of each).

    Covers floe.yaml, the platform file, and the YAML, SQL, Python, CSV and JSON files under floe.yaml's directory
    (the dbt project and asset modules in the usual layout), hidden directories and build output excepted; and the
    process's environment, which a load reads as well.
    """
    digest = hashlib.sha256()
    # A plain load reads the environment too (${VAR} in the files, FLOE_*, OTEL_*, OPENLINEAGE_* settings).
    for name, value in sorted(os.environ.items()):
        if name != WARM_PROJECT_ENV:
            digest.update(f"{name}={value}\0".encode())
    files = [floe_yaml, *([platform_file] if platform_file is not None else []), *_project_files(floe_yaml.parent)]
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            digest.update(f"{file}\0missing\n".encode())
            continue
        digest.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class _Entry:
    fingerprint: str
    project: FloeProject


class WarmProjects:
    """Projects loaded in this process, by floe.yaml and platform file, reused while their files are unchanged."""

    def __init__(self) -> None:
        """Start empty."""
        self._entries: dict[tuple[str, str | None], _Entry] = {}
        self._lock = threading.Lock()

    def get(self, floe_yaml: str, platform_file: str | None, load: Callable[[], FloeProject]) -> FloeProject:
        """Return the project loaded earlier in this process if its files are unchanged, else ``load()`` it.

        Args:
            floe_yaml: floe.yaml's absolute path.
            platform_file: The platform file's absolute path, or ``None`` for the environment's choice.
            load: Loads the project (called at most once per call, outside the cache's lock).

        Returns:
            The project.
        """
        key = (floe_yaml, platform_file)
        fingerprint = project_fingerprint(Path(floe_yaml), Path(platform_file) if platform_file else None)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry.fingerprint == fingerprint:
            return entry.project
        project = load()
        with self._lock:
            self._entries[key] = _Entry(fingerprint, project)
        return project

    def peek(self, floe_yaml: str, platform_file: str | None) -> FloeProject | None:
        """Return the project loaded earlier in this process if its files are unchanged, else ``None``."""
        with self._lock:
            entry = self._entries.get((floe_yaml, platform_file))
        if entry is None:
            return None
        fingerprint = project_fingerprint(Path(floe_yaml), Path(platform_file) if platform_file else None)
        return entry.project if entry.fingerprint == fingerprint else None

    def clear(self) -> None:
        """Forget every project (tests)."""
        with self._lock:
            self._entries.clear()


WARM_PROJECTS = WarmProjects()
"""This process's projects: one per process by design (a step server, its forked steps, a Celery worker)."""


@dataclass(frozen=True)
class _ServerStart:
    project: str
    environment: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _ServerRequest:
    floe_yaml: Path | None
    platform_file: Path | None
    preload_modules: tuple[str, ...]


class _StepServer:
    """What this process's step server was started with, so that a run needing another one restarts it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: _ServerStart | None = None
        self.requested: _ServerRequest | None = None
        self.adopted = False
        """Whether the server was started by the process this one was forked from (a warm run's)."""


_STEP_SERVER = _StepServer()


def start_step_server(floe_yaml: Path | None, platform_file: Path | None, preload_modules: list[str]) -> None:
    """Start this process's fork server with ``preload_modules`` and the project built in it, if not running.

    A server this function started earlier with the same project and environment is kept (its steps find their
    project in :data:`WARM_PROJECTS`, or load it again when the files changed). One started for another project or
    environment (a long-lived process running several projects' runs) is stopped first: a forked step inherits the
    server's environment, not the run's.

    Args:
        floe_yaml: floe.yaml's absolute path, or ``None`` to preload the modules only.
        platform_file: The platform file's absolute path, or ``None`` for the environment's choice.
        preload_modules: What the server imports (its project is built by :data:`PRELOAD_MODULE` among them).
    """
    from floe_definitions import _compat

    value = "" if floe_yaml is None else json.dumps([os.fspath(floe_yaml), platform_file and os.fspath(platform_file)])
    wanted = _ServerStart(value, tuple(sorted(os.environ.items())))
    with _STEP_SERVER.lock:
        if _STEP_SERVER.adopted and _STEP_SERVER.started is not None:
            # A warm run, forked from the process that started the server for this project: the environment is
            # that process's, give or take what the run worker sets for itself (Dagster's SF_PARTNER, say).
            if _STEP_SERVER.started.project == wanted.project:
                return
        if _STEP_SERVER.started is not None and _STEP_SERVER.started != wanted:
            _compat.stop_forkserver()
        multiprocessing.get_context("forkserver").set_forkserver_preload(preload_modules)
        # The server inherits this process's environment when it starts, and nothing else: name the project there
        # for that moment only (restored at once; the variable is this module's own).
        previous = os.environ.get(WARM_PROJECT_ENV)
        if value:
            os.environ[WARM_PROJECT_ENV] = value
        try:
            multiprocessing.forkserver.ensure_running()
        finally:
            if previous is None:
                os.environ.pop(WARM_PROJECT_ENV, None)
            else:
                os.environ[WARM_PROJECT_ENV] = previous
        _STEP_SERVER.started = wanted


def request_step_server(floe_yaml: Path | None, platform_file: Path | None, preload_modules: list[str]) -> None:
    """Note the step server the executor being built will start, for :func:`prime_step_server` (a warm process)."""
    _STEP_SERVER.requested = _ServerRequest(floe_yaml, platform_file, tuple(preload_modules))


def clear_step_server_request() -> None:
    """Forget the noted step server (before a load that may not build a warm-steps executor)."""
    _STEP_SERVER.requested = None


def prime_step_server(instance_modules: Sequence[str] = ()) -> int | None:
    """Start the step server the last load's executor asked for, now, replacing one this process started earlier.

    For the warm run process (:mod:`floe_definitions.warm.server`), which starts the server once per load of the
    definitions, so that the runs it forks adopt it (:func:`~floe_definitions._compat.adopt_forkserver`) and fork
    their steps at once instead of each starting a server that imports everything and builds the project again.
    The replaced server is detached, not stopped: runs still using it keep it until they end.

    Args:
        instance_modules: The modules of the instance's classes, which the server imports too (before it builds
            the project), so that a step opening the instance imports nothing more.

    Returns:
        The pid of the replaced server, for the caller (its parent) to reap; ``None`` when there was none, when the
        last load built no warm-steps executor, or when a forked process cannot share a server here.
    """
    from floe_definitions import _compat

    requested = _STEP_SERVER.requested
    if requested is None or not forkserver_available() or not _compat.shared_forkserver_available():
        return None
    with _STEP_SERVER.lock:
        replaced = _compat.detach_forkserver()
        _STEP_SERVER.started = None
    preload = list(requested.preload_modules)
    at = preload.index(PRELOAD_MODULE) if PRELOAD_MODULE in preload else len(preload)
    preload[at:at] = [module for module in instance_modules if module not in preload]
    start_step_server(requested.floe_yaml, requested.platform_file, preload)
    return replaced


def adopt_step_server() -> None:
    """Use, in a run forked from the warm process, the step server that process started (if it started one)."""
    from floe_definitions import _compat

    if _compat.forkserver_pid() is None:
        return
    _compat.adopt_forkserver()
    _STEP_SERVER.adopted = True


def step_server_pid() -> int | None:
    """The pid of the step server this process started (or adopted), if any."""
    from floe_definitions import _compat

    return _compat.forkserver_pid()
