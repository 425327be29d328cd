"""Fixtures for the daemon tests: ``floe dev`` (Dagster's webserver on 127.0.0.1 + daemon) on the project's instance.

The instance is what users get: platform.yaml's ``instance:`` section rendered by floe into ``.floe/dagster``
beside floe.yaml (no hand-written ``dagster.yaml``). Storage is SQLite there, or PostgreSQL (``storage: postgres``,
the URL in an environment variable) in a fresh database on the server ``FLOE_TEST_POSTGRES_URL`` names (``.ci/run``
exports it from ``.ci/postgres.sh``; floe-test-support's ``postgres_server``); the Postgres round skips, saying
why, without it. ``floe dev`` runs in its own
session and is stopped as a user stops it (SIGTERM); anything left of what it started is killed by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRun, RunsFilter

from floe_test_support.dagster_internals import instance_from_dir
from floe_test_support.http_endpoints import free_port
from floe_test_support.postgres import PostgresServer, postgres_url_overrides

PROJECT = Path(__file__).parent / "project"
LOCATION = "daemonic"
INSTANCE_URL_ENV = "FLOE_DAEMON_TEST_PG_URL"
"""The variable platform.yaml's ``instance.postgres_url_env`` names in the Postgres round."""
FLOE = str(Path(sys.executable).with_name("floe"))
STARTUP_TIMEOUT_SECONDS = 240


def wait_until(
    probe: Callable[[], Any], *, timeout: float, interval: float = 1.0, message: str | Callable[[], str] = ""
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail the test with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s: {message() if callable(message) else message}")
        time.sleep(interval)


def processes_on(home: Path) -> list[int]:
    """Pids of live processes whose environment names ``home`` (everything ``floe dev`` started on that instance)."""
    marker = f"DAGSTER_HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker in (proc / "environ").read_bytes() and "\nState:\tZ" not in (proc / "status").read_text():
                found.append(int(proc.name))
    return found


def _stop_floe_dev(process: subprocess.Popen[bytes], home: Path, grace_seconds: float = 60.0) -> None:
    """Stop ``floe dev`` as a user does (SIGTERM); kill by pid anything it left on ``home`` (none expected)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for pid in processes_on(home):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------------------------------------------- floe dev


@dataclass
class DagsterDev:
    """``floe dev`` serving the daemon tests' project on its rendered instance, and ways to observe and steer it."""

    project: Path
    env: dict[str, str]
    postgres_url: str | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)
    started_at: float = 0.0
    stopped_at: list[float] = field(default_factory=list)
    """When each stop of a running ``floe dev`` began (``time.time()``): the runs it cut off were in flight then."""
    _instance: DagsterInstance | None = None

    @property
    def home(self) -> Path:
        """The instance's ``DAGSTER_HOME``: floe's default, ``.floe/dagster`` beside floe.yaml."""
        return self.project / ".floe" / "dagster"

    @property
    def platform_file(self) -> Path:
        return self.project / "platform.yaml"

    @property
    def incoming(self) -> Path:
        return self.project / "incoming"

    @property
    def instance(self) -> DagsterInstance:
        """The instance floe rendered, opened from its ``dagster.yaml`` (as the webserver opens it).

        The file names the Postgres URL by variable; this process does not export it (no global environment
        writes in tests), so the URL is handed over as an override of that one setting.
        """
        if self._instance is None:
            overrides = postgres_url_overrides(self.home, self.postgres_url) if self.postgres_url else None
            self._instance = instance_from_dir(str(self.home), overrides)
        return self._instance

    def floe(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``floe ARGS PROJECT --platform platform.yaml`` in the project's environment, as a user would."""
        return subprocess.run(
            [FLOE, *args, str(self.project), "--platform", str(self.platform_file)],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        kept = [line for line in text.splitlines() if "Warning" not in line and "include_sources" not in line]
        return "\n".join(kept[-lines:])

    def start(self) -> None:
        """Start ``floe dev`` on a free port and wait until the webserver answers and the location is loaded."""
        assert self.process is None or self.process.poll() is not None
        self.port = free_port()
        self.log_path = self.project / f"floe-dev-{int(time.time())}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [FLOE, "dev", str(self.project), "--platform", str(self.platform_file), "--port", str(self.port)],
                cwd=self.project,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        wait_until(self._location_loaded, timeout=STARTUP_TIMEOUT_SECONDS, interval=2, message=self.log_tail)

    def stop(self) -> None:
        if self.process is not None:
            if self.alive():
                self.stopped_at.append(time.time())
            _stop_floe_dev(self.process, self.home)
        if self._instance is not None:
            self._instance.dispose()
            self._instance = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def graphql(self, query: str, variables: dict[str, Any] | None = None, timeout: float = 180) -> dict[str, Any]:
        """POST a GraphQL query to the webserver and return its ``data``."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.load(response)
        assert "errors" not in payload, payload
        return dict(payload["data"])

    def reload_location(self) -> dict[str, Any]:
        """Reload the code location (as the UI's reload button does) and return its entry.

        The webserver answers HTTP 500 when the reload races the refresh it does itself on a location change;
        such a reload is retried (a few times), as a user would press the button again.
        """
        for attempt in range(5):
            try:
                return self._reload_location()
            except urllib.error.HTTPError as exc:
                if exc.code != 500 or attempt == 4:
                    raise
                print(f"reload answered HTTP 500 (attempt {attempt + 1}); retrying")
                time.sleep(3)
        raise AssertionError("unreachable")

    def _reload_location(self) -> dict[str, Any]:
        data = self.graphql(
            """mutation($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) {
                 __typename
                 ... on WorkspaceLocationEntry { name locationOrLoadError { __typename
                     ... on RepositoryLocation { name repositories { name jobs { name } } }
                     ... on PythonError { message causes { message } } } }
                 ... on PythonError { message } } }""",
            {"name": LOCATION},
        )
        return dict(data["reloadRepositoryLocation"])

    def _location_loaded(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"floe dev exited with {self.process.returncode}:\n{self.log_tail()}")
        try:
            data = self.graphql(
                "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus "
                "locationOrLoadError { __typename } } } } }",
                timeout=10,
            )
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False
        entries = data["workspaceOrError"].get("locationEntries", [])
        return any(
            entry["name"] == LOCATION
            and entry["loadStatus"] == "LOADED"
            and entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"
            for entry in entries
        )

    # ---- observing the instance

    def runs(self, job: str | None = None, tags: dict[str, str] | None = None) -> list[DagsterRun]:
        return list(self.instance.get_runs(RunsFilter(job_name=job, tags=tags or {})))

    def runs_by_file(self) -> dict[str, list[DagsterRun]]:
        found: dict[str, list[DagsterRun]] = {}
        for run in self.runs("ingest"):
            found.setdefault(run.tags.get("floe/file_name", ""), []).append(run)
        return found

    def sensor_ticks(self, sensor: str) -> int:
        """Number of evaluations of ``sensor`` recorded so far."""
        return sum(
            len(self.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=10_000))
            for state in self.instance.all_instigator_state()
            if state.instigator_name == sensor
        )

    def wait_until(self, probe: Callable[[], Any], *, timeout: float, interval: float = 1.0, what: str = "") -> Any:
        """Poll ``probe`` until truthy; on timeout fail with ``what`` and the tail of floe dev's log."""
        return wait_until(probe, timeout=timeout, interval=interval, message=lambda: f"{what}\n{self.log_tail()}")

    def started_seconds_after(self, run: DagsterRun, moment: float) -> float | None:
        """Seconds from ``moment`` (a ``time.time()``) to the run's start, or None while it has not started."""
        record = self.instance.get_run_record_by_id(run.run_id)
        return None if record is None or record.start_time is None else record.start_time - moment

    def created_seconds_after(self, run: DagsterRun, moment: float) -> float:
        """Seconds from ``moment`` (a ``time.time()``) to the run's creation by the sensor."""
        record = self.instance.get_run_record_by_id(run.run_id)
        assert record is not None
        return record.create_timestamp.timestamp() - moment

    def wait_for_runs_to_finish(self, runs: list[DagsterRun], timeout: float) -> list[DagsterRun]:
        """Wait until every run in ``runs`` has finished; return their final records."""
        ids = [run.run_id for run in runs]

        def finished() -> tuple[list[DagsterRun]] | None:
            latest = [self.instance.get_run_by_id(run_id) for run_id in ids]
            done = [run for run in latest if run is not None and run.is_finished]
            # A one-element tuple, so that "no runs to wait for" ([]) counts as finished rather than as falsy.
            return (done,) if len(done) == len(ids) else None

        (done,) = wait_until(
            finished,
            timeout=timeout,
            interval=2,
            message=lambda: f"runs still unfinished: {self._unfinished(ids)}\n{self.log_tail()}",
        )
        return done

    def _unfinished(self, ids: list[str]) -> list[tuple[str, str]]:
        runs = [self.instance.get_run_by_id(run_id) for run_id in ids]
        return [(run.run_id[:8], run.status.value) for run in runs if run is not None and not run.is_finished]


POSTGRES_INSTANCE = f"  storage: postgres\n  postgres_url_env: {INSTANCE_URL_ENV}\n"


def make_dagster_dev(base: Path, postgres_url: str | None = None) -> DagsterDev:
    """Copy the project under ``base`` (on Postgres storage when a URL is given) and prepare (not start) floe dev."""
    project = base / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".floe", "__pycache__", "incoming", "*.log"))
    (project / "incoming").mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update(
        {
            # The interpolation path under test: floe.yaml's schedule reads its cron and its switch from here.
            "FLOE_TEST_TICKER_CRON": "* * * * *",
            "FLOE_TEST_TICKER_ON": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if postgres_url is not None:
        platform = project / "platform.yaml"
        platform.write_text(platform.read_text(encoding="utf-8") + POSTGRES_INSTANCE, encoding="utf-8")
        env[INSTANCE_URL_ENV] = postgres_url
    return DagsterDev(project=project, env=env, postgres_url=postgres_url)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def dagster_dev(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """A running ``floe dev`` for a fresh copy of the project, on SQLite or PostgreSQL storage (a fresh database,
    dropped afterwards); always torn down."""
    with contextlib.ExitStack() as stack:
        postgres_url = None
        if request.param == "postgres":
            server: PostgresServer = request.getfixturevalue("postgres_server")
            postgres_url = stack.enter_context(server.fresh_database("floe_daemon")).sqlalchemy_url
        dev = make_dagster_dev(tmp_path_factory.mktemp(f"daemon_{request.param}"), postgres_url)
        try:
            started = time.monotonic()
            dev.start()
            print(f"[{request.param}] floe dev ready in {time.monotonic() - started:.1f} s on 127.0.0.1:{dev.port}")
            yield dev
        finally:
            dev.stop()
