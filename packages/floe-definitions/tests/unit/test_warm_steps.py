from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from floe_definitions import _compat
from floe_definitions.execution import warm_steps
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


def _step_server_of_a_child(ctx: Any, out: Path) -> None:
    """Start a process from the fork server; it records the pid of the process that forked it (the server)."""
    process = ctx.Process(target=os.system, args=(f"awk '{{print $4}}' /proc/$PPID/stat > {out}",))
    process.start()
    process.join(60)
    os._exit(0 if process.exitcode == 0 else 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_processes_forked_from_a_warm_process_start_theirs_from_the_step_server_it_started(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("forkserver")
    multiprocessing.forkserver.ensure_running()
    server = _compat.forkserver_pid()
    try:
        assert server is not None
        codes = []
        for index in range(2):  # two runs forked from the warm process
            pid = os.fork()
            if pid == 0:
                try:
                    warm_steps.adopt_step_server()
                    _step_server_of_a_child(ctx, tmp_path / f"parent-{index}")
                finally:
                    os._exit(2)
            codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        assert codes == [0, 0]
        assert [int((tmp_path / f"parent-{i}").read_text()) for i in range(2)] == [server, server]
        assert _compat.forkserver_pid() == server  # the warm process's server is still its own
    finally:
        _compat.stop_forkserver()


def test_without_the_shared_step_server_a_warm_process_starts_none_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _compat.warn_unavailable.cache_clear()
    monkeypatch.setenv(_compat.DISABLE_ENV, _compat.SHARED_STEP_SERVER.name)
    warm_steps.request_step_server(None, None, ["dagster"])
    try:
        with caplog.at_level(logging.WARNING, logger="floe_definitions"):
            assert warm_steps.prime_step_server() is None
            assert warm_steps.prime_step_server() is None
    finally:
        warm_steps.clear_step_server_request()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "floe-definitions: shared_step_server is unavailable on this Dagster/OpenLineage "
        f"(or disabled by FLOE_COMPAT_DISABLE); using {_compat.SHARED_STEP_SERVER.slower_path}"
    ]
