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
from collections.abc import Callable, Iterator
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


class _StepServer:
    """What this process's step server was started with, so that a run needing another one restarts it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: _ServerStart | None = None


_STEP_SERVER = _StepServer()


def start_step_server(floe_yaml: Path | None, platform_file: Path | None, preload_modules: list[str]) -> None:
    """Start this process's fork server with ``preload_modules`` and the project built in it.

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


@dataclass(frozen=True)
class StepServerStart:
    """What a run's executor starts its step server with (so that a warm process can start the same one first).

    Attributes:
        floe_yaml: floe.yaml's absolute path, or ``None`` to preload the modules only.
        platform_file: The platform file's absolute path, or ``None`` for the environment's choice.
        preload_modules: What the server imports.
    """

    floe_yaml: Path | None
    platform_file: Path | None
    preload_modules: tuple[str, ...]

    def start(self) -> None:
        """Start (or keep) this process's step server: :func:`start_step_server`."""
        start_step_server(self.floe_yaml, self.platform_file, list(self.preload_modules))
