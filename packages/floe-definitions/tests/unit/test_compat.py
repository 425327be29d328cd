"""floe-definitions' private-API capabilities: each probe passes on the locked versions, and the switch that fails
it on purpose (``FLOE_COMPAT_DISABLE``) takes the fallback with one WARNING naming it. (The workspace-wide guard that
keeps private APIs in the ``_compat`` modules is ``tests/policy/test_private_apis.py``.)"""

from __future__ import annotations

import ast
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from floe_definitions import _compat
from floe_definitions.execution.step_process_console import step_debug_lines_dropped

PRIVATE_PREFIXES = ("dagster._", "dagster_dbt._", "dbt.", "pydantic_settings.sources")


def test_floe_definitions_loads_without_dagsters_private_executor_types() -> None:
    tree = ast.parse(Path(_compat.__file__).read_text(encoding="utf-8"))
    at_import = [
        node.module
        for node in tree.body  # module level only: a probe's own imports run when it is called, inside its try
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PRIVATE_PREFIXES)
    ]
    assert at_import == []  # StepDependencyConfig & co. are annotations only: an older Dagster still loads


def test_the_openlineage_alias_hook_probe_passes_on_the_locked_client() -> None:
    assert _compat.openlineage_alias_hook_available()


def test_the_step_lookup_probe_passes_on_the_locked_dagster() -> None:
    assert _compat.step_lookup_available()


def test_without_the_alias_hook_the_lineage_client_still_builds_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    from floe_config.floe_spec import FloeSpec
    from floe_config.platform_spec import PlatformSpec
    from floe_definitions.telemetry.lineage_client import build_lineage_client

    _compat.warn_unavailable.cache_clear()
    monkeypatch.setenv(_compat.DISABLE_ENV, "openlineage_alias_hook")
    spec = FloeSpec.model_validate({"name": "shop", "orchestration": {}})
    platform = PlatformSpec.model_validate({})
    with caplog.at_level(logging.WARNING):
        clients = [build_lineage_client(spec, platform, tmp_path, env={}) for _ in range(2)]
    assert all(client is not None for client in clients)
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and "openlineage_alias_hook" in r.getMessage()
    ]
    assert len(warnings) == 1
    _compat.warn_unavailable.cache_clear()


def test_a_disabled_probe_warns_naming_the_variable_as_the_other_packages_do(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _compat.warn_unavailable.cache_clear()
    monkeypatch.setenv(_compat.DISABLE_ENV, _compat.STEP_ASSETS.name)
    with caplog.at_level(logging.WARNING, logger="floe_definitions"):
        assert not _compat.step_lookup_available()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "floe-definitions: step_assets is unavailable on this Dagster/OpenLineage "
        f"(or disabled by FLOE_COMPAT_DISABLE); using {_compat.STEP_ASSETS.slower_path}"
    ]
    _compat.warn_unavailable.cache_clear()


def test_the_celery_step_loop_probe_passes_on_the_locked_dagster_celery() -> None:
    pytest.importorskip("dagster_celery")
    assert _compat.celery_step_loop() is not None


def _celery_executor() -> Any:
    from dagster_celery.executor import CeleryExecutor

    return CeleryExecutor.for_cli(broker="redis://127.0.0.1:1/0")  # dagster-celery's executor, retries disabled


def test_the_watched_celery_executor_runs_dagster_celerys_loop_with_its_own_submitter() -> None:
    pytest.importorskip("dagster_celery")
    from floe_definitions.execution.celery_worker_watch import WatchedCeleryExecutor

    loop = WatchedCeleryExecutor(_celery_executor(), 60).execute(None, None)  # type: ignore[arg-type]
    frame = getattr(loop, "gi_frame", None)  # a generator not started yet: its arguments are its locals
    assert frame is not None
    assert frame.f_code.co_name == "core_celery_execution_loop"
    assert frame.f_locals["step_execution_fn"].__qualname__ == "WatchedCeleryExecutor.execute.<locals>.submit"


def test_without_the_celery_step_loop_the_watched_executor_is_dagster_celerys_own_and_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    executor_module = pytest.importorskip("dagster_celery.executor")
    from floe_definitions.execution.celery_worker_watch import WatchedCeleryExecutor

    _compat.warn_unavailable.cache_clear()
    monkeypatch.setenv(_compat.DISABLE_ENV, _compat.CELERY_STEP_LOOP.name)
    with caplog.at_level(logging.WARNING, logger="floe_definitions"):
        loop = WatchedCeleryExecutor(_celery_executor(), 60).execute(None, None)  # type: ignore[arg-type]
    frame = getattr(loop, "gi_frame", None)
    assert frame is not None
    assert frame.f_locals["step_execution_fn"] is executor_module._submit_task
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "floe-definitions: celery_step_loop is unavailable on this Dagster/OpenLineage "
        f"(or disabled by FLOE_COMPAT_DISABLE); using {_compat.CELERY_STEP_LOOP.slower_path}"
    ]


def _ask_for_the_caller() -> str | None:
    return _compat.caller_file(1)


def _call_from_this_module() -> str | None:
    return _ask_for_the_caller()


def _warnings_for(caplog: pytest.LogCaptureFixture, capability: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and capability in r.getMessage()]


@pytest.mark.parametrize("disabled", [False, True], ids=["getframe", "fallback"])
def test_the_calling_module_is_found_on_both_paths(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, disabled: bool
) -> None:
    _compat.warn_unavailable.cache_clear()
    if disabled:
        monkeypatch.setenv(_compat.DISABLE_ENV, "caller_frame")
    else:
        monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    with caplog.at_level(logging.WARNING):
        found = [_call_from_this_module() for _ in range(2)]
    assert found == [__file__, __file__]
    assert len(_warnings_for(caplog, "caller_frame")) == (1 if disabled else 0)
    _compat.warn_unavailable.cache_clear()


DEBUG_LINE = "2024-01-01 00:00:00 +0000 - dagster - DEBUG - nightly - 1234 - STEP_WORKER_STARTED\n"
OTHER_LINE = "a step's own print on stderr\n"


def _write_to_fd2_while_filtering() -> None:
    with step_debug_lines_dropped("nightly"):
        os.write(2, DEBUG_LINE.encode())
        os.write(2, OTHER_LINE.encode())


@pytest.mark.skipif(os.name != "posix", reason="the filter swaps file descriptor 2 on POSIX only")
def test_dagsters_debug_lines_of_the_job_are_dropped_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    assert _compat.dagster_debug_line_marker("nightly") == b" - dagster - DEBUG - nightly - "
    _write_to_fd2_while_filtering()
    assert capfd.readouterr().err == OTHER_LINE


@pytest.mark.skipif(os.name != "posix", reason="the filter swaps file descriptor 2 on POSIX only")
def test_without_dagsters_console_format_nothing_is_filtered_and_it_warns_once(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    _compat.warn_unavailable.cache_clear()
    monkeypatch.setenv(_compat.DISABLE_ENV, "console_debug_format")
    with caplog.at_level(logging.WARNING):
        _write_to_fd2_while_filtering()
        _write_to_fd2_while_filtering()
    assert capfd.readouterr().err == (DEBUG_LINE + OTHER_LINE) * 2
    assert len(_warnings_for(caplog, "console_debug_format")) == 1
    _compat.warn_unavailable.cache_clear()
