"""The deployment a platform file describes, checked by the user's commands: extras installed, storage reachable.

Each test runs the real ``floe`` command in a subprocess. A wrong password needs a server that asks for one: the
shared test server trusts every local connection, so a private PostgreSQL with password authentication is started
from the same server binaries (``.ci/postgres.sh`` finds them there). A missing extra is a subprocess whose
``sitecustomize`` makes the module's import fail, as it fails where the extra is not installed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from floe_test_support.http_endpoints import free_port

FLOE = str(Path(sys.executable).with_name("floe"))
REPO_ROOT = Path(__file__).resolve().parents[4]
RIGHT_PASSWORD = "right-password"
WRONG_PASSWORD = "not-the-password-7f3a"
POSTGRES_PLATFORM = """environment: team
execution:
  executor: {type: in_process}
instance:
  storage: postgres
  postgres_url_env: DAGSTER_POSTGRES_URL
"""
BLOCKER = """import importlib.abc
import sys

BLOCKED = {blocked!r}


class _Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _Blocked())
"""


@dataclass(frozen=True)
class PasswordPostgres:
    """A private PostgreSQL on 127.0.0.1 that checks passwords (scram-sha-256), with a database ``dagster``."""

    port: int

    def url(self, password: str, database: str = "dagster") -> str:
        return f"postgresql+psycopg2://postgres:{password}@127.0.0.1:{self.port}/{database}"


def _server_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.name)]
    )
    found = [path for path in candidates if (path / "initdb").exists() and (path / "pg_ctl").exists()]
    return found[-1] if found else None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def password_postgres() -> Iterator[PasswordPostgres]:
    bindir = _server_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql (.ci/postgres.sh installs them)")
    data = Path(tempfile.mkdtemp(prefix="floe-pg-password."))
    pwfile = data.parent / f"{data.name}.pw"
    pwfile.write_text(RIGHT_PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
        shutil.chown(pwfile, "postgres")
    port = free_port()
    quiet = {"capture_output": True, "text": True, "check": True}
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256", "--no-sync"]
    subprocess.run(_as_server_user([*initdb, f"--pwfile={pwfile}"]), **quiet)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "-o", options]
    subprocess.run(_as_server_user([*pg_ctl, "start"]), **quiet)
    try:
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "dagster"],
            env={**os.environ, "PGPASSWORD": RIGHT_PASSWORD},
            **quiet,
        )
        yield PasswordPostgres(port)
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)
        pwfile.unlink(missing_ok=True)


def _team_env(copy: Any, team: Path, url: str, **extra: str) -> dict[str, str]:
    """This environment without floe's and Dagster's variables, plus the copy's, the team platform file and ``url``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update({"PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **copy.env})
    env.update({"FLOE_PLATFORM_FILE": str(team), "DAGSTER_POSTGRES_URL": url, **extra})
    return env


def _team_copy(base: Path, copy_project: Any, package: str) -> tuple[Any, Path]:
    copy = copy_project(base, package=package)
    team = copy.root / "team.yaml"
    team.write_text(POSTGRES_PLATFORM)
    return copy, team


def _floe(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``floe`` in its own process group; whatever it started is killed when it returns or times out."""
    process = subprocess.Popen(
        [FLOE, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _located(team: Path, key: str) -> str:
    """``team.yaml:LINE:COLUMN: key`` of a key of POSTGRES_PLATFORM (top-level section, then the key)."""
    lines = team.read_text().splitlines()
    section, _, leaf = key.partition(".")
    start = lines.index(f"{section}:")
    index = next(i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith(f"{leaf}:"))
    column = len(lines[index]) - len(lines[index].lstrip()) + 1
    return f"{team}:{index + 1}:{column}: {key}"


WRONG_PASSWORD_REASON = 'password authentication failed for user "postgres"'


def test_floe_run_with_a_wrong_postgres_password_says_the_driver_s_reason_at_the_platform_key_at_once(
    tmp_path: Path, copy_project: Any, password_postgres: PasswordPostgres
) -> None:
    copy, team = _team_copy(tmp_path, copy_project, "run_wrong_password_assets")
    env = _team_env(copy, team, password_postgres.url(WRONG_PASSWORD))
    env["DAGSTER_HOME"] = str(tmp_path / "home")

    started = time.monotonic()
    finished = _floe(["run", "transform", str(copy.root)], env)
    elapsed = time.monotonic() - started

    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output
    assert f"error: {_located(team, 'instance.postgres_url_env')}: cannot connect to PostgreSQL at 127.0.0.1:" in output
    assert WRONG_PASSWORD_REASON in output
    assert "fix the user or password in the URL in DAGSTER_POSTGRES_URL" in output
    assert "too many retries" not in output
    assert WRONG_PASSWORD not in output
    assert "Traceback" not in output
    assert elapsed < 120, elapsed  # Dagster's own retries took 20 s more, after loading the project


def test_floe_check_connect_reports_the_wrong_password_located_and_plain_check_does_not_connect(
    tmp_path: Path, copy_project: Any, password_postgres: PasswordPostgres
) -> None:
    copy, team = _team_copy(tmp_path, copy_project, "check_wrong_password_assets")
    env = _team_env(copy, team, password_postgres.url(WRONG_PASSWORD))

    connected = _floe(["check", str(copy.root), "--connect"], env)
    plain = _floe(["check", str(copy.root)], env)

    assert connected.returncode == 1, connected.stdout + connected.stderr
    located = [line for line in connected.stdout.splitlines() if "instance.postgres_url_env" in line]
    assert len(located) == 1, connected.stdout
    assert located[0].startswith(f"{team}:6:3: error: instance.postgres_url_env: cannot connect to PostgreSQL")
    assert WRONG_PASSWORD_REASON in located[0]
    assert plain.returncode == 0, plain.stdout + plain.stderr


def test_floe_check_connect_passes_with_the_right_password_and_names_an_unknown_database(
    tmp_path: Path, copy_project: Any, password_postgres: PasswordPostgres
) -> None:
    copy, team = _team_copy(tmp_path, copy_project, "check_right_password_assets")
    right = _team_env(copy, team, password_postgres.url(RIGHT_PASSWORD))
    unknown = {**right, "DAGSTER_POSTGRES_URL": password_postgres.url(RIGHT_PASSWORD, database="dagstr")}

    passed = _floe(["check", str(copy.root), "--connect"], right)
    failed = _floe(["check", str(copy.root), "--connect"], unknown)

    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert 'database "dagstr" does not exist' in failed.stdout
    assert "create that database on the server, or fix the database name in the URL in DAGSTER_POSTGRES_URL" in (
        failed.stdout
    )


def test_floe_dev_with_a_wrong_postgres_password_exits_1_with_one_located_line_and_no_traceback(
    tmp_path: Path, copy_project: Any, password_postgres: PasswordPostgres
) -> None:
    copy, team = _team_copy(tmp_path, copy_project, "dev_wrong_password_assets")
    env = _team_env(copy, team, password_postgres.url(WRONG_PASSWORD))
    env["DAGSTER_HOME"] = str(tmp_path / "home")
    port = free_port()

    finished = _floe(["dev", str(copy.root), "--port", str(port)], env, timeout=180)

    assert finished.returncode == 1, finished.stdout + finished.stderr
    assert "Traceback" not in finished.stdout + finished.stderr
    (line,) = finished.stderr.splitlines()
    assert line.startswith(f"error: {_located(team, 'instance.postgres_url_env')}: cannot connect to PostgreSQL")
    assert WRONG_PASSWORD_REASON in line


def _blocking(tmp_path: Path, *modules: str) -> str:
    """A directory whose ``sitecustomize`` makes importing ``modules`` fail (as where they are not installed)."""
    folder = tmp_path / "block"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(modules)))
    return str(folder)


def _workspace_install(extra: str) -> str:
    """What floe says to run here, in either uv venv these tests run in.

    The workspace's ``.venv`` (``uv sync``; floe-definitions a member of the project beside it) gets ``uv sync
    --extra``; a nox session's venv under ``.nox/`` (a uv venv with no project beside it) gets ``uv pip install``.
    """
    project = Path(sys.prefix).parent
    if (project / "pyproject.toml").is_file():
        return f"uv sync --all-packages --extra {extra} (in {project}; later syncs need --extra {extra} too)"
    return f"uv pip install --python {shlex.quote(sys.executable)} 'floe-definitions[{extra}]'"


def test_floe_check_instance_write_run_and_dev_name_the_missing_postgres_extra_and_the_uv_command(
    tmp_path: Path, copy_project: Any, password_postgres: PasswordPostgres
) -> None:
    copy, team = _team_copy(tmp_path, copy_project, "missing_postgres_assets")
    env = _team_env(
        copy,
        team,
        password_postgres.url(RIGHT_PASSWORD),
        PYTHONPATH=_blocking(tmp_path, "dagster_postgres"),
        DAGSTER_HOME=str(tmp_path / "home"),
    )
    expected = (
        f"{_located(team, 'instance.storage')}: storage 'postgres' needs dagster_postgres, which is not importable "
        f"here (No module named 'dagster_postgres'); install the extra: {_workspace_install('postgres')}"
    )

    checked = _floe(["check", str(copy.root)], env)
    written = _floe(["instance", str(copy.root), "--write"], env)
    ran = _floe(["run", "transform", str(copy.root)], env)
    port = free_port()
    dev = _floe(["dev", str(copy.root), "--port", str(port)], env, timeout=180)

    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert expected.replace(": instance.storage:", ": error: instance.storage:") in checked.stdout.splitlines()
    assert written.returncode == 1, written.stdout + written.stderr
    assert written.stderr.splitlines() == [f"error: {expected}"]
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert f"error: {expected}" in ran.stderr.splitlines()
    assert dev.returncode == 1, dev.stdout + dev.stderr
    assert dev.stderr.splitlines() == [f"error: {expected}"]
    # a uv venv has no pip: never a bare `pip install` (uv's own `uv pip install` is right outside a project)
    assert not re.search(r"(?<!uv )pip install", checked.stdout + written.stderr + ran.stderr + dev.stderr)


def test_the_install_command_follows_the_environment_floe_runs_in(tmp_path: Path) -> None:
    """A pip venv gets its own interpreter's pip; the workspace's uv venv gets uv sync with the extra."""
    venv = tmp_path / "pipvenv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = sysconfig.get_paths()["purelib"]  # this environment's packages, editable installs included
    code = (
        f"import site; site.addsitedir({site!r}); "
        "from floe_definitions.instance.deployment_checks import install_command; "
        "print(install_command('celery'))"
    )
    in_pip_venv = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    here = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert in_pip_venv == f"{venv / 'bin' / 'python'} -m pip install 'floe-definitions[celery]'"
    assert here == _workspace_install("celery")
