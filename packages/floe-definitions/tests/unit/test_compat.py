"""Private APIs live in one ``_compat.py`` per package; the rest of floe imports public names only."""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any

import pytest

import floe_definitions
from floe_definitions import _compat

PACKAGES_DIR = Path(floe_definitions.__file__).resolve().parents[3]
PRIVATE_PREFIXES = ("dagster._", "dagster_dbt._", "dbt.", "pydantic_settings.sources")
# dbt's documented programmatic API ("Programmatic invocations": dbtRunner, dbtRunnerResult), not an internal
PUBLIC_MODULES = frozenset({"dbt.cli.main"})


def _private_imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, at run time) for every private import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            type_only |= {id(child) for child in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith(PRIVATE_PREFIXES)
            and node.module not in PUBLIC_MODULES
        ):
            found.append((node.lineno, node.module, id(node) not in type_only))
    return found


def test_only_the_compat_modules_import_private_apis() -> None:
    offenders = {
        f"{path.relative_to(PACKAGES_DIR)}:{line}: {module}"
        for path in PACKAGES_DIR.glob("*/src/*/**/*.py")
        if path.name != "_compat.py"
        for line, module, _ in _private_imports(path)
    }
    assert offenders == set()


def test_tests_run_jobs_loaded_by_file_through_dagsters_public_reconstructable_api() -> None:
    # dagster.build_reconstructable_job with tests/reconstruct/floe_test_jobs.py, not the private loader by file
    private_loader = "ReconstructableRepository"
    offenders = {
        str(path.relative_to(PACKAGES_DIR))
        for path in PACKAGES_DIR.glob("*/tests/**/*.py")
        if path.resolve() != Path(__file__).resolve() and private_loader in path.read_text(encoding="utf-8")
    }
    assert offenders == set()


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
    _compat.warn_unavailable.cache_clear()
