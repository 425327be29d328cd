"""Each private-API capability of floe-loaders' ``_compat``: its probe passes on the locked Dagster, and the switch
that fails it on purpose (``FLOE_COMPAT_DISABLE``) makes floe take the fallback with one WARNING naming it."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest
from dagster import instance_for_test

from floe_loaders import _compat, launch_backfill, load_asset_modules
from floe_loaders.errors import BackfillError

DEFS_FILE = Path(__file__).parents[1] / "fixtures" / "sample_project" / "backfill_defs.py"
UNRESOLVED_MODULE = """import dagster as dg

@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2024-01-01"))
def orders() -> None:
    pass

orders_job = dg.define_asset_job("orders_job", selection=[orders])
orders_schedule = dg.build_schedule_from_partitioned_job(orders_job)
"""


def _load_defs_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("floe_loaders_compat_backfill_defs", DEFS_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    _compat.warn_unavailable.cache_clear()
    yield
    _compat.warn_unavailable.cache_clear()


def _warnings_for(caplog: pytest.LogCaptureFixture, capability: _compat.Capability) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and capability.name in r.getMessage()]


def test_every_probe_passes_on_the_locked_dagster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    assert _compat.unresolved_classes() is not None
    assert _compat.asset_backfill_available()


@pytest.mark.parametrize("disabled", [False, True], ids=["probe", "fallback"])
def test_module_asset_jobs_and_partitioned_schedules_are_found_on_both_paths(
    write_project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, disabled: bool
) -> None:
    if disabled:
        monkeypatch.setenv(_compat.DISABLE_ENV, _compat.UNRESOLVED_DEFINITIONS.name)
    else:
        monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    base, package = write_project({"jobs.py": UNRESOLVED_MODULE})
    with caplog.at_level(logging.WARNING):
        loaded = load_asset_modules([f".{package}.jobs"], base)
        load_asset_modules([f".{package}.jobs"], base)
    assert [job.name for job in loaded.jobs] == ["orders_job"]
    assert [schedule.name for schedule in loaded.schedules] == ["orders_job_schedule"]
    assert len(_warnings_for(caplog, _compat.UNRESOLVED_DEFINITIONS)) == (1 if disabled else 0)


def test_without_the_asset_backfill_api_the_launch_is_a_located_error_that_names_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(_compat.DISABLE_ENV, _compat.ASSET_BACKFILL.name)
    module = _load_defs_module()

    with (
        instance_for_test(temp_dir=str(tmp_path), set_dagster_home=False) as instance,
        caplog.at_level(logging.WARNING),
    ):
        with pytest.raises(BackfillError, match="dagster job backfill") as info:
            launch_backfill(module.defs, instance, "history", module.SPEC.orchestration)
        assert instance.get_backfills() == []
    assert info.value.path == "orchestration.backfills.history"
    assert len(_warnings_for(caplog, _compat.ASSET_BACKFILL)) == 1


def test_without_the_daemon_planning_the_dry_run_plan_is_floe_s_split_said_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(_compat.DISABLE_ENV, _compat.BACKFILL_DAEMON_PLAN.name)
    with caplog.at_level(logging.WARNING, logger="floe_loaders"):
        first = _compat.daemon_backfill_runs(dg.Definitions(), [], [])
        second = _compat.daemon_backfill_runs(dg.Definitions(), [], [])
    assert first is None
    assert second is None
    assert len(_warnings_for(caplog, _compat.BACKFILL_DAEMON_PLAN)) == 1
