from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from floe_definitions.execution.warm_steps import WarmProjects, project_fingerprint


def _project(tmp_path: Path) -> Path:
    (tmp_path / "floe.yaml").write_text("name: p\n")
    (tmp_path / "dbt" / "models").mkdir(parents=True)
    (tmp_path / "dbt" / "models" / "m.sql").write_text("select 1\n")
    (tmp_path / "dbt" / "target").mkdir()
    return tmp_path / "floe.yaml"


def _touch_later(path: Path, text: str) -> None:
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_the_fingerprint_changes_with_floe_yaml_a_model_and_the_platform_file(tmp_path: Path) -> None:
    floe_yaml = _project(tmp_path)
    platform = tmp_path / "elsewhere.yaml"
    platform.write_text("environment: a\n")
    first = project_fingerprint(floe_yaml, platform)
    _touch_later(floe_yaml, "name: q\n")
    second = project_fingerprint(floe_yaml, platform)
    _touch_later(tmp_path / "dbt" / "models" / "m.sql", "select 2\n")
    third = project_fingerprint(floe_yaml, platform)
    _touch_later(platform, "environment: b\n")
    assert len({first, second, third, project_fingerprint(floe_yaml, platform)}) == 4


def test_the_fingerprint_ignores_build_output_and_hidden_directories(tmp_path: Path) -> None:
    floe_yaml = _project(tmp_path)
    before = project_fingerprint(floe_yaml, None)
    (tmp_path / "dbt" / "target" / "manifest.json").write_text("{}")
    (tmp_path / ".floe").mkdir()
    (tmp_path / ".floe" / "spans.json").write_text("{}")
    (tmp_path / "warehouse.duckdb").write_bytes(b"\0")
    assert project_fingerprint(floe_yaml, None) == before


def test_a_project_is_reused_while_its_files_are_unchanged_and_loaded_again_after(tmp_path: Path) -> None:
    floe_yaml = _project(tmp_path)
    loads: list[object] = []

    def load() -> Any:
        loads.append(object())
        return loads[-1]

    cache = WarmProjects()
    first = cache.get(str(floe_yaml), None, load)
    assert cache.get(str(floe_yaml), None, load) is first
    assert cache.peek(str(floe_yaml), None) is first
    _touch_later(floe_yaml, "name: changed\n")
    assert cache.peek(str(floe_yaml), None) is None
    assert cache.get(str(floe_yaml), None, load) is not first
    assert len(loads) == 2


def test_the_fingerprint_changes_with_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    floe_yaml = _project(tmp_path)
    before = project_fingerprint(floe_yaml, None)
    monkeypatch.setenv("FLOE_TEST_WAREHOUSE", str(tmp_path / "other.duckdb"))
    assert project_fingerprint(floe_yaml, None) != before


# A process with a fork server forks a child (as the warm process forks a run); the child starts a step process.
SHARED_SERVER = """
import multiprocessing, multiprocessing.forkserver, os, time
from floe_definitions import _compat

context = multiprocessing.get_context("forkserver")
multiprocessing.forkserver.ensure_running()
server = multiprocessing.forkserver._forkserver._forkserver_pid
read, write = os.pipe()
child = os.fork()
if child == 0:
    os.close(read)
    shared = _compat.share_forkserver()
    multiprocessing.forkserver.ensure_running()  # what start_step_server calls in the run
    step = context.Process(target=time.sleep, args=(5,))
    step.start()
    with open(f"/proc/{step.pid}/status") as status:
        parent = next(int(line.split()[1]) for line in status if line.startswith("PPid:"))
    step.terminate()
    step.join()
    os.write(write, f"{shared} {parent}".encode())
    os._exit(0)
os.close(write)
os.waitpid(child, 0)
print(os.read(read, 100).decode(), server)
"""


def test_a_process_forked_from_one_with_a_step_server_starts_its_steps_from_that_server(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "FLOE_COMPAT_DISABLE"}
    completed = subprocess.run(
        [sys.executable, "-c", SHARED_SERVER], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    shared, step_parent, server = completed.stdout.split()
    assert shared == "True"
    assert step_parent == server  # no second server: the step was forked by the first process's server
