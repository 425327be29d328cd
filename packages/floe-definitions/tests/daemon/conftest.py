"""Fixtures for the daemon tests: ``dagster dev`` (webserver on 127.0.0.1 + daemon) on a private DAGSTER_HOME.

Storage is SQLite in the home directory, or PostgreSQL: ``FLOE_TEST_POSTGRES_URL`` when set (``.ci/run`` exports
it from ``.ci/postgres.sh``), else a throwaway server this module starts from the installed server binaries
(``/usr/lib/postgresql/*/bin``); the Postgres tests skip, printing why, only when neither is possible.
Every process started here runs in its own session and is ended through its process group at teardown.
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
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRun, RunsFilter

PROJECT = Path(__file__).parent / "project"
LOCATION = "daemonic"
POSTGRES_URL_ENV = "FLOE_TEST_POSTGRES_URL"
STARTUP_TIMEOUT_SECONDS = 240


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _end_process_group(process: subprocess.Popen[bytes], grace_seconds: float = 30.0) -> None:
    """Stop a process started with ``start_new_session=True`` and everything in its group (by its group id)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)  # dagster dev shuts its services down on Ctrl-C
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            pass
    # Children (code server, daemon, run workers) share the group; whatever is left goes now.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


# --------------------------------------------------------------------------------------------------- PostgreSQL


def _server_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: [int(part) for part in path.parent.name.split(".") if part.isdigit()],
    )
    for bindir in reversed(candidates):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as ``postgres`` when the tests run as root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class PostgresServer:
    """A reachable PostgreSQL server (``url`` names its maintenance database)."""

    url: str
    data_dir: Path | None = None
    bindir: Path | None = None

    def create_database(self) -> str:
        """Create a fresh database and return its URL (each daemon test instance gets its own)."""
        import psycopg2

        name = f"floe_daemon_{uuid.uuid4().hex[:12]}"
        connection = psycopg2.connect(self.url)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        base, _, _ = self.url.rpartition("/")
        # Name the driver: SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which dagster-postgres does not
        # install (it brings psycopg2-binary).
        _, _, location = base.partition("://")
        return f"postgresql+psycopg2://{location}/{name}"


def _start_postgres() -> PostgresServer:
    bindir = _server_bindir()
    if bindir is None:
        pytest.skip(
            f"no PostgreSQL server binaries under /usr/lib/postgresql and {POSTGRES_URL_ENV} is unset; "
            "run .ci/postgres.sh (installs the distribution's postgresql package) to enable the Postgres tests"
        )
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the PostgreSQL server as")
    # Not under pytest's base temp: that is private to this user, and the server runs as 'postgres'.
    data_dir = Path(tempfile.mkdtemp(prefix="floe-test-pgdata-"))
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres")
    port = free_port()
    init = subprocess.run(
        _as_server_user([str(bindir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust", "--no-sync"]),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(data_dir, ignore_errors=True)
        pytest.skip(f"initdb failed, so no local PostgreSQL: {init.stderr.strip()[-500:]}")
    log = str(data_dir / "server.log")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data_dir} -c fsync=off -c max_connections=200"
    start = subprocess.run(
        _as_server_user(
            [str(bindir / "pg_ctl"), "-D", str(data_dir), "-l", log, "-w", "-t", "120", "-o", options, "start"]
        ),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if start.returncode != 0:
        server_log = Path(log).read_text(errors="replace") if Path(log).exists() else ""
        pytest.skip(f"the local PostgreSQL server did not start: {start.stderr.strip()[-300:]} {server_log[-500:]}")
    return PostgresServer(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", data_dir=data_dir, bindir=bindir)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server: ``FLOE_TEST_POSTGRES_URL``, else one started here for the session."""
    configured = os.environ.get(POSTGRES_URL_ENV)
    if configured:
        yield PostgresServer(url=configured)
        return
    server = _start_postgres()
    try:
        yield server
    finally:
        assert server.bindir is not None
        assert server.data_dir is not None
        subprocess.run(
            _as_server_user([str(server.bindir / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(server.data_dir, ignore_errors=True)


# -------------------------------------------------------------------------------------------------- dagster dev


@dataclass
class DagsterDev:
    """``dagster dev`` serving the daemon tests' project, and ways to observe and steer it."""

    project: Path
    home: Path
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)
    started_at: float = 0.0
    _instance: DagsterInstance | None = None

    @property
    def incoming(self) -> Path:
        return self.project / "incoming"

    @property
    def instance(self) -> DagsterInstance:
        if self._instance is None:
            self._instance = DagsterInstance.from_config(str(self.home))
        return self._instance

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        kept = [line for line in text.splitlines() if "Warning" not in line and "include_sources" not in line]
        return "\n".join(kept[-lines:])

    def start(self) -> None:
        """Start ``dagster dev`` and wait until the webserver answers and the location is loaded."""
        assert self.process is None or self.process.poll() is not None
        self.port = free_port()
        self.log_path = self.home / f"dagster-dev-{int(time.time())}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dagster",
                    "dev",
                    "-w",
                    "workspace.yaml",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                ],
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
            _end_process_group(self.process)
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
            pytest.fail(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")
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
        """Poll ``probe`` until truthy; on timeout fail with ``what`` and the tail of dagster dev's log."""
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


def make_dagster_dev(base: Path, dagster_yaml: str) -> DagsterDev:
    """Copy the project under ``base``, write the instance's dagster.yaml, and prepare (not start) dagster dev."""
    project = base / "project"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".floe", "__pycache__", "incoming"))
    (project / "incoming").mkdir()
    home = base / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(dagster_yaml, encoding="utf-8")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update(
        {
            "DAGSTER_HOME": str(home),
            "FLOE_PLATFORM_FILE": str(project / "platform.yaml"),
            # The interpolation path under test: floe.yaml's schedule reads its cron and its switch from here.
            "FLOE_TEST_TICKER_CRON": "* * * * *",
            "FLOE_TEST_TICKER_ON": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return DagsterDev(project=project, home=home, env=env)


# Run monitoring as a team would run it: a run whose worker never reports (e.g. one cut off by a restart while
# STARTING) fails after the start timeout instead of staying STARTING for ever.
INSTANCE_SETTINGS = (
    "telemetry: {enabled: false}\nrun_queue: {max_concurrent_runs: 3, dequeue_interval_seconds: 2}\n"
    "run_monitoring: {enabled: true, start_timeout_seconds: 180, poll_interval_seconds: 10}\n"
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def dagster_dev(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """A running ``dagster dev`` for the project, on SQLite or PostgreSQL storage; always torn down."""
    base = tmp_path_factory.mktemp(f"daemon_{request.param}")
    settings = INSTANCE_SETTINGS
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        settings += f"storage:\n  postgres:\n    postgres_url: {json.dumps(server.create_database())}\n"
    dev = make_dagster_dev(base, settings)
    try:
        started = time.monotonic()
        dev.start()
        print(f"[{request.param}] dagster dev ready in {time.monotonic() - started:.1f} s on 127.0.0.1:{dev.port}")
        yield dev
    finally:
        dev.stop()
