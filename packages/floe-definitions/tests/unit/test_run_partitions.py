from __future__ import annotations

import dagster as dg

from floe_definitions.execution.run_partitions import run_time_window

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01")


@dg.asset(partitions_def=DAILY)
def daily_events() -> None:
    return None


@dg.asset(
    partitions_def=dg.MultiPartitionsDefinition({"date": DAILY, "region": dg.StaticPartitionsDefinition(["eu", "us"])})
)
def regional_events() -> None:
    return None


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["eu", "us"]))
def static_events() -> None:
    return None


DEFS = dg.Definitions(
    assets=[daily_events, regional_events, static_events],
    jobs=[
        dg.define_asset_job("daily", selection=[daily_events]),
        dg.define_asset_job("regional", selection=[regional_events]),
        dg.define_asset_job("static", selection=[static_events]),
    ],
)


def test_a_daily_partition_is_its_day() -> None:
    window = run_time_window(DEFS.resolve_job_def("daily"), {"dagster/partition": "2024-01-02"})
    assert window == ("2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00")


def test_a_range_spans_from_its_first_start_to_its_last_end() -> None:
    tags = {"dagster/asset_partition_range_start": "2024-01-02", "dagster/asset_partition_range_end": "2024-01-04"}
    window = run_time_window(DEFS.resolve_job_def("daily"), tags)
    assert window == ("2024-01-02T00:00:00+00:00", "2024-01-05T00:00:00+00:00")


def test_a_multi_partition_uses_its_time_dimension() -> None:
    window = run_time_window(DEFS.resolve_job_def("regional"), {"dagster/partition": "2024-01-02|eu"})
    assert window == ("2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00")


def test_static_partitions_and_unpartitioned_runs_have_no_nominal_time() -> None:
    assert run_time_window(DEFS.resolve_job_def("static"), {"dagster/partition": "eu"}) is None
    assert run_time_window(DEFS.resolve_job_def("daily"), {}) is None
