from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from floe_loaders import build_orchestration
from floe_loaders.errors import ScheduleError
from floe_test_support.dagster_internals import cron_string_iterator

PARIS = ZoneInfo("Europe/Paris")
DAILY_PARIS = {"type": "daily", "start": "2024-01-01", "timezone": "Europe/Paris"}


def _build(make_spec, sample_dir: Path, **orchestration) -> dg.Definitions:
    return dg.Definitions(**build_orchestration(make_spec(**orchestration), sample_dir).definitions_args())


def _tick(defs: dg.Definitions, name: str, when: dt.datetime, instance) -> list[dg.RunRequest]:
    schedule = defs.resolve_schedule_def(name)
    data = schedule.evaluate_tick(
        dg.build_schedule_context(
            instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
        )
    )
    return list(data.run_requests or [])


def test_unpartitioned_schedule_cron_timezone_status_description(make_spec, sample_dir: Path, instance) -> None:
    defs = _build(
        make_spec,
        sample_dir,
        jobs={"transform": {"type": "batch", "selection": ["group:silver"]}},
        schedules={
            "nightly": {
                "job": "transform",
                "cron_schedule": "0 6 * * *",
                "timezone": "Europe/Paris",
                "description": "Every morning.",
            },
            "paused": {"job": "transform", "cron_schedule": "0 7 * * *", "enabled": False},
        },
    )
    nightly = defs.resolve_schedule_def("nightly")
    assert nightly.cron_schedule == "0 6 * * *"
    assert nightly.execution_timezone == "Europe/Paris"
    assert nightly.default_status == dg.DefaultScheduleStatus.RUNNING
    assert nightly.description == "Every morning."
    assert defs.resolve_schedule_def("paused").default_status == dg.DefaultScheduleStatus.STOPPED
    requests = _tick(defs, "nightly", dt.datetime(2024, 5, 1, 6, tzinfo=PARIS), instance)
    assert len(requests) == 1
    assert requests[0].partition_key is None
    result = defs.resolve_job_def("transform").execute_in_process(instance=instance, tags=requests[0].tags)
    assert result.success


def test_latest_partition_across_a_dst_change(make_spec, sample_dir: Path, instance) -> None:
    defs = _build(
        make_spec,
        sample_dir,
        partitions={"daily": DAILY_PARIS},
        assets={"bronze/*": {"partitions": "daily"}},
        jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}},
        schedules={"morning": {"job": "seed", "cron_schedule": "0 6 * * *", "timezone": "Europe/Paris"}},
    )
    # The ticks Dagster fires: 06:00 Paris every day, i.e. 05:00 UTC before and 04:00 UTC from 31 March 2024 on.
    ticks = cron_string_iterator(dt.datetime(2024, 3, 29, 12, tzinfo=dt.UTC).timestamp(), "0 6 * * *", "Europe/Paris")
    fired = [next(ticks) for _ in range(3)]
    assert [t.astimezone(dt.UTC).hour for t in fired] == [5, 4, 4]
    assert [t.hour for t in fired] == [6, 6, 6]
    keys = [[r.partition_key for r in _tick(defs, "morning", t, instance)] for t in fired]
    assert keys == [["2024-03-29"], ["2024-03-30"], ["2024-03-31"]]
    # The window of the DST day is 23 hours long
    job = defs.resolve_job_def("seed")
    window = job.partitions_def.time_window_for_partition_key("2024-03-31")
    assert window.end.timestamp() - window.start.timestamp() == 23 * 3600
    result = job.execute_in_process(instance=instance, partition_key=keys[2][0])
    assert result.success


def test_latest_before_the_first_partition_skips(make_spec, sample_dir: Path, instance) -> None:
    defs = _build(
        make_spec,
        sample_dir,
        partitions={"daily": DAILY_PARIS},
        assets={"bronze/*": {"partitions": "daily"}},
        jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}},
        schedules={"morning": {"job": "seed", "cron_schedule": "0 6 * * *", "timezone": "Europe/Paris"}},
    )
    schedule = defs.resolve_schedule_def("morning")
    data = schedule.evaluate_tick(
        dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2023, 6, 1, tzinfo=PARIS),
            repository_def=defs.get_repository_def(),
        )
    )
    assert not data.run_requests
    assert "no partition" in (data.skip_message or "")


def test_static_partitions_all_and_latest(make_spec, sample_dir: Path, instance) -> None:
    defs = _build(
        make_spec,
        sample_dir,
        partitions={"region": {"type": "static", "partition_keys": ["us", "eu", "ap"]}},
        assets={"bronze/*": {"partitions": "region"}},
        jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}},
        schedules={
            "every_region": {"job": "seed", "cron_schedule": "0 1 * * *", "partition_selector": "all"},
            "last_region": {"job": "seed", "cron_schedule": "0 2 * * *", "partition_selector": "latest"},
        },
    )
    when = dt.datetime(2024, 5, 1, 1, tzinfo=dt.UTC)
    every = _tick(defs, "every_region", when, instance)
    assert [r.partition_key for r in every] == ["us", "eu", "ap"]
    assert len({r.run_key for r in every}) == 3
    assert [r.partition_key for r in _tick(defs, "last_region", when, instance)] == ["ap"]
    assert defs.resolve_job_def("seed").execute_in_process(instance=instance, partition_key="eu").success


def test_multi_partitions_latest_window_for_every_region(make_spec, sample_dir: Path, instance) -> None:
    defs = _build(
        make_spec,
        sample_dir,
        partitions={
            "daily_region": {
                "type": "multi",
                "partitions": {
                    "date": {"type": "daily", "start": "2024-01-01"},
                    "region": {"type": "static", "partition_keys": ["us", "eu"]},
                },
            }
        },
        assets={"bronze/raw_orders": {"partitions": "daily_region"}},
        jobs={"orders": {"type": "batch", "selection": ['key:"bronze/raw_orders"']}},
        schedules={"daily": {"job": "orders", "cron_schedule": "0 3 * * *"}},
    )
    requests = _tick(defs, "daily", dt.datetime(2024, 5, 2, 3, tzinfo=dt.UTC), instance)
    keys = sorted(str(r.partition_key) for r in requests)
    assert keys == ["2024-05-01|eu", "2024-05-01|us"]


def test_all_on_a_time_window_job_is_refused(make_spec, sample_dir: Path) -> None:
    spec = make_spec(
        partitions={"daily": DAILY_PARIS},
        assets={"bronze/*": {"partitions": "daily"}},
        jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}},
        schedules={"bad": {"job": "seed", "cron_schedule": "0 6 * * *", "partition_selector": "all"}},
    )
    with pytest.raises(ScheduleError) as info:
        build_orchestration(spec, sample_dir)
    assert info.value.path == "orchestration.schedules.bad.partition_selector"
