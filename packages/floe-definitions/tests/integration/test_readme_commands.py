"""The root README's commands, run as written: each test takes a command from a fenced block of the README.

Only paths change: the commands run from a temporary copy of the repository's demo (with the workspace's
``.venv`` linked in), so a README that drifts from what floe does fails here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_config import load_floe_spec, load_platform_spec
from floe_definitions.dbt_assets import parse_command_line, resolve_dbt_project
from floe_test_support.http_endpoints import free_port
from floe_test_support.postgres import PostgresDatabase, PostgresServer

REPO_ROOT = Path(__file__).resolve().parents[4]
README = REPO_ROOT / "README.md"
BIN = Path(sys.executable).parent


def readme_blocks(section: str) -> list[list[str]]:
    """The command lines of each ``bash`` fenced block under the README heading ``section``, comments removed."""
    text = README.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else len(text)]
    blocks = []
    for block in re.findall(r"```bash\n(.*?)```", body, flags=re.DOTALL):
        commands = []
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
        blocks.append(commands)
    return blocks


def readme_commands(section: str) -> list[str]:
    """The command lines of the ``bash`` fenced blocks under the README heading ``section``, in order."""
    return [command for block in readme_blocks(section) for command in block]


def demo_copy(base: Path) -> Path:
    """A directory laid out like the repository for the README's commands: ``demo/`` copied, ``.venv`` linked."""
    root = base / "repo"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", ".floe", "*.duckdb")
    shutil.copytree(REPO_ROOT / "demo", root / "demo", ignore=ignore)
    (root / "packages").mkdir()
    (root / "packages" / "floe-config").symlink_to(REPO_ROOT / "packages" / "floe-config")
    (root / ".venv").symlink_to(BIN.parent)
    return root


def command_env(base: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "FLOE_DEMO_WAREHOUSE": str(base / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
    }
    for variable in ("FLOE_CONFIG", "FLOE_PLATFORM_FILE", "FLOE_PLATFORM_ENV", "DBT_TARGET", "DAGSTER_HOME"):
        env.pop(variable, None)
    return env


def walk(commands: list[str], root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``commands`` in one bash session from ``root`` (so ``export`` and ``cd`` carry), stopping at a failure."""
    script = "set -e\n" + "\n".join(f"echo '+ {command}'\n{command}" for command in commands) + "\n"
    return subprocess.run(
        ["bash", "-c", script], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_the_readme_dg_section_runs_as_written_without_dagster_s_instance_warning_or_telemetry_banner(
    tmp_path: Path,
) -> None:
    root = demo_copy(tmp_path)
    env = {**command_env(tmp_path), "HOME": str(tmp_path / "home")}  # a fresh user: no telemetry choice stored
    commands = readme_commands("Two ways to use floe")
    # the environment is this test's own; `dg dev` is a server (tests/integration/test_component.py serves it)
    runnable = [c for c in commands if not c.startswith("uv sync") and not c.startswith("../../.venv/bin/dg dev")]
    assert len(runnable) == len(commands) - 2

    walked = walk(runnable, root, env)

    assert walked.returncode == 0, walked.stdout[-5000:]
    assert "floe_definitions.FloeComponent" in walked.stdout
    assert "All definitions loaded successfully" in walked.stdout
    assert "No dagster instance configuration file" not in walked.stdout
    assert "Telemetry" not in walked.stdout
    assert "dbt parsed the whole project again" not in walked.stdout
    assert (root / "demo" / ".floe" / "traces").is_dir()


def test_the_readme_dbt_parse_leaves_a_partial_parse_that_floe_s_dbt_reuses(tmp_path: Path) -> None:
    root = demo_copy(tmp_path)
    env = command_env(tmp_path)
    parse = next(command for command in readme_commands("Two ways to use floe") if " parse " in command)

    parsed = subprocess.run(["bash", "-c", parse], cwd=root, env=env, capture_output=True, text=True, check=False)

    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    floe_yaml = root / "demo" / "floe.yaml"
    platform_file = root / "demo" / "platform" / "local.yaml"
    spec = load_floe_spec(floe_yaml, environ=env)
    platform = load_platform_spec(platform_file, environ=env)
    assert spec.orchestration.dbt is not None
    project = resolve_dbt_project(spec.orchestration.dbt, platform, floe_yaml.parent, platform_file.parent)
    # the parse floe itself runs has the target and profiles its dbt steps run with: dbt rejects a saved partial
    # parse from another target with UnableToPartialParse, and every run then parses the whole project again
    again = subprocess.run(
        ["bash", "-c", parse_command_line(project) + " --log-format json"],
        cwd=root,
        env={**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    events = [json.loads(line) for line in again.stdout.splitlines() if line.startswith("{")]
    reparses = [event["info"]["msg"] for event in events if event["info"]["name"] == "UnableToPartialParse"]
    assert reparses == []


def test_the_readme_backfill_dry_run_shows_the_runs_dagster_s_daemon_makes(tmp_path: Path) -> None:
    root = demo_copy(tmp_path)
    env = command_env(tmp_path)
    backfill = next(command for command in readme_commands("Deploy") if command.startswith("floe backfill "))
    name = backfill.split()[2]

    planned = subprocess.run(
        [str(BIN / "floe"), "backfill", name, "demo", "--platform", "demo/platform/local.yaml", "--dry-run"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert planned.returncode == 0, planned.stdout + planned.stderr
    lines = planned.stdout.splitlines()
    assert lines[0].startswith(
        f"floe backfill --dry-run: '{name}' (job 'seed_bronze') would create 5 runs of job '__ASSET_JOB' over 31 "
        "partitions (as Dagster's asset backfill daemon plans them)"
    )
    assert lines[1:6] == [
        "  run 1: unpartitioned: bronze/raw_customers, bronze/raw_products",
        "  run 2: 2024-01-01 .. 2024-01-10 (10 partitions): bronze/raw_order_items, bronze/raw_orders",
        "  run 3: 2024-01-11 .. 2024-01-20 (10 partitions): bronze/raw_order_items, bronze/raw_orders",
        "  run 4: 2024-01-21 .. 2024-01-30 (10 partitions): bronze/raw_order_items, bronze/raw_orders",
        "  run 5: 2024-01-31 (1 partition): bronze/raw_order_items, bronze/raw_orders",
    ]


WAIT_FOR_UI = """for _ in $(seq 300); do
  kill -0 "$dev_pid" 2>/dev/null || { echo 'floe dev exited'; cat floe-dev.log; exit 1; }
  python -c 'import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=5)' \\
    "http://127.0.0.1:{port}/server_info" 2>/dev/null && break
  sleep 1
done
python -c 'import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=5)' "http://127.0.0.1:{port}/server_info"
"""


WAIT_FOR_WORKER = """for _ in $(seq 300); do
  kill -0 "$worker_pid" 2>/dev/null || { echo 'the Celery worker exited'; cat celery-worker.log; exit 1; }
  grep -q ' ready\\.' celery-worker.log && break
  sleep 1
done
grep ' ready\\.' celery-worker.log
"""

STOP_IN_BACKGROUND = """stop_in_background() {
  if [ -n "$dev_pid" ]; then kill -INT "$dev_pid"; wait "$dev_pid" || true; fi
  if [ -n "$worker_pid" ]; then
    kill -TERM -- "-$worker_pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 -- "-$worker_pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$worker_pid" 2>/dev/null || true
  fi
}"""


def deploy_script(
    commands: list[str], substitutions: dict[str, str], port: int, waits: dict[str, str] | None = None
) -> str:
    """A bash script of the README's ``commands`` with only paths and ports substituted.

    ``uv sync`` is left out (the environment is this test's own, synced with every extra); ``floe dev`` runs in the
    background until the UI answers, and is stopped with Ctrl-C (SIGINT) when the script ends; so does
    ``dagster-celery worker start`` (in its own process group, its pid in ``celery-worker.pid``, its output in
    ``celery-worker.log``) until the worker says it is ready, and the group is stopped when the script ends.
    ``waits`` maps a command's first words to what the README tells the user to wait for after it (a script that
    waits for it).
    """
    lines = ["set -e", "dev_pid=", "worker_pid=", STOP_IN_BACKGROUND, "trap stop_in_background EXIT"]
    for command in commands:
        if command.startswith("uv sync"):
            _, _, command = command.partition("&&")
            command = command.strip()
            if not command:
                continue
        for old, new in substitutions.items():
            command = command.replace(old, new)
        command = re.sub(r"--port \d+", f"--port {port}", command)
        lines.append(f"echo {shlex.quote('+ ' + command)}")
        if command.startswith("floe dev"):
            lines += [f"{command} > floe-dev.log 2>&1 &", "dev_pid=$!", WAIT_FOR_UI.replace("{port}", str(port))]
        elif command.startswith("dagster-celery worker start"):
            # setsid: the worker and the celery processes it starts form one group, stopped together
            lines += [
                f"setsid {command} > celery-worker.log 2>&1 &",
                "worker_pid=$!",
                'echo "$worker_pid" > celery-worker.pid',
                WAIT_FOR_WORKER,
            ]
        else:
            lines.append(command)
        lines += [wait for start, wait in (waits or {}).items() if command.startswith(start)]
    return "\n".join(lines) + "\n"


def test_the_readme_laptop_commands_run_as_written(tmp_path: Path) -> None:
    root = demo_copy(tmp_path)
    env = command_env(tmp_path)
    laptop = readme_blocks("Deploy")[0]
    assert laptop[-1].startswith("floe dev ")

    walked = subprocess.run(
        ["bash", "-c", deploy_script(laptop, {}, free_port())],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,
        check=False,
    )

    assert walked.returncode == 0, walked.stdout[-5000:]
    assert "floe run: seed_bronze succeeded" in walked.stdout, walked.stdout[-3000:]
    assert "floe run: transform succeeded" in walked.stdout, walked.stdout[-3000:]
    assert "Traceback" not in walked.stdout
    assert "dbt parsed the whole project again" not in walked.stdout


BACKFILL_DONE = """python - <<'PY'
import os, time
from dagster import DagsterInstance
with DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as instance:
    for _ in range(900):
        backfills = instance.get_backfills()
        if backfills and backfills[0].status.value != "REQUESTED":
            break
        time.sleep(1)
    print("backfill:", backfills[0].status.value)
PY
"""


@pytest.fixture
def team_database(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    """A fresh database for the README's team instance, dropped afterwards (skips without a PostgreSQL server)."""
    with postgres_server.fresh_database("readme_team") as database:
        yield database


def test_the_readme_team_server_commands_run_as_written_on_postgresql(
    tmp_path: Path, team_database: PostgresDatabase
) -> None:
    root = demo_copy(tmp_path)
    platform = root / "demo" / "platform" / "team.yaml"
    platform.write_text(
        (root / "demo" / "platform" / "local.yaml")
        .read_text()
        .replace(
            "instance:\n  storage: sqlite\n",
            "instance:\n  storage: postgres\n  postgres_url_env: DAGSTER_POSTGRES_URL\n",
        )
    )
    assert "postgres_url_env" in platform.read_text()
    team = readme_blocks("Deploy")[1]
    substitutions = {
        "postgresql+psycopg2://USER:PASSWORD@HOST:5432/dagster": team_database.sqlalchemy_url,
        "/srv/floe/dagster": str(tmp_path / "team-home"),
        "/srv/shop/floe.yaml": str(root / "demo" / "floe.yaml"),
        "/srv/shop/team.yaml": str(platform),
    }

    walked = subprocess.run(
        ["bash", "-c", deploy_script(team, substitutions, free_port(), waits={"floe backfill": BACKFILL_DONE})],
        cwd=root,
        env=command_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=2400,
        check=False,
    )

    assert walked.returncode == 0, walked.stdout[-5000:]
    assert "floe check: OK" in walked.stdout
    waited = [line for line in walked.stdout.splitlines() if line.startswith("backfill:")]
    assert waited == ["backfill: COMPLETED_SUCCESS"], (waited, walked.stdout[-3000:])
    assert "Traceback" not in walked.stdout


STEPS_IN_THE_WORKER = """python - <<'PY'
import os
from pathlib import Path
from dagster import DagsterEventType, DagsterInstance

def descendants(pid):
    children = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
            parent = int(next(line for line in lines if line.startswith("PPid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        children.setdefault(parent, set()).add(int(status.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), set()) - found:
            found.add(child)
            todo.append(child)
    return found

worker = descendants(int(Path("celery-worker.pid").read_text()))
with DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as instance:
    run = instance.get_runs(limit=1)[0]
    events = [r.event_log_entry.dagster_event for r in instance.get_records_for_run(run.run_id).records]
    events = [event for event in events if event is not None]
    steps = {e.step_key: e.pid for e in events if e.event_type == DagsterEventType.STEP_START}
    hosts = sorted(
        {
            str(e.engine_event_data.metadata["Celery worker"].value).split("@")[0]
            for e in events
            if e.event_type == DagsterEventType.ENGINE_EVENT and "Celery worker" in (e.engine_event_data.metadata or {})
        }
    )
    outside = sorted(step for step, pid in steps.items() if pid not in worker)
    print(f"steps of {run.job_name}: {len(steps)}, outside the Celery worker's processes: {outside}, hosts: {hosts}")
PY
"""


def test_the_readme_celery_commands_run_as_written_on_a_celery_worker(tmp_path: Path, redis_url: str) -> None:
    # A Redis database of this test's own: a worker of another test on the same server must not take its tasks
    # (the README's queue, `dagster`, is every dagster-celery worker's).
    broker = f"{redis_url.rsplit('/', 1)[0]}/13"
    root = demo_copy(tmp_path)
    platform = root / "demo" / "platform" / "celery.yaml"
    executor = f"executor: {{type: celery, broker: {json.dumps(broker)}, backend: {json.dumps(broker)}}}\n"
    platform.write_text(
        (root / "demo" / "platform" / "local.yaml")
        .read_text()
        .replace("executor: {type: multiprocess, max_concurrent: 2}\n", executor)
    )
    assert "type: celery" in platform.read_text()
    celery = readme_blocks("Deploy")[2]
    assert any(command.startswith("dagster-celery worker start ") for command in celery)
    substitutions = {
        "/srv/floe/dagster": str(tmp_path / "celery-home"),
        "/srv/shop": str(root / "demo"),
        "--platform celery.yaml": f"--platform {platform}",
    }
    script = deploy_script(celery, substitutions, free_port(), waits={"floe run transform": STEPS_IN_THE_WORKER})

    try:
        walked = subprocess.run(
            ["bash", "-c", script],
            cwd=root,
            env=command_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=1800,
            check=False,
        )
    finally:  # the script stops the worker's group when it ends; not when it is killed on the timeout
        pid_file = root / "celery-worker.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)

    assert walked.returncode == 0, walked.stdout[-5000:]
    assert "floe run: transform succeeded" in walked.stdout, walked.stdout[-3000:]
    assert "steps of transform: " in walked.stdout, walked.stdout[-3000:]
    summary = next(line for line in walked.stdout.splitlines() if line.startswith("steps of transform: "))
    assert summary.endswith("outside the Celery worker's processes: [], hosts: ['worker1']"), summary
    assert not summary.startswith("steps of transform: 0,"), summary
    assert "Traceback" not in walked.stdout
