from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from floe_config.floe_spec import OrchestrationConfig
from floe_loaders.errors import PartitionsDefinitionError
from floe_loaders.partitions import build_partitions


def _build(partitions: dict) -> dict[str, dg.PartitionsDefinition]:
    return build_partitions(OrchestrationConfig.model_validate({"partitions": partitions}))


def test_time_window_from_cron_start_end_timezone() -> None:
    built = _build(
        {
            "daily": {
                "type": "time_window",
                "start": "2024-01-01",
                "end": "2024-01-11",
                "cron_schedule": "0 0 * * *",
                "timezone": "Europe/Paris",
            }
        }
    )["daily"]
    assert isinstance(built, dg.TimeWindowPartitionsDefinition)
    assert built.timezone == "Europe/Paris"
    keys = built.get_partition_keys()
    assert keys[0] == "2024-01-01"
    assert keys[-1] == "2024-01-10"
    assert len(keys) == 10


def test_time_window_hourly_cron_defaults_to_minute_keys_and_honours_fmt() -> None:
    built = _build(
        {
            "hourly": {
                "type": "time_window",
                "start": "2024-01-01",
                "end": "2024-01-01T03:00:00",
                "cron_schedule": "0 * * * *",
            },
            "custom": {
                "type": "time_window",
                "start": "20240101",
                "end": "20240103",
                "cron_schedule": "0 0 * * *",
                "fmt": "%Y%m%d",
            },
        }
    )
    assert built["hourly"].get_partition_keys() == ["2024-01-01-00:00", "2024-01-01-01:00", "2024-01-01-02:00"]
    assert built["custom"].get_partition_keys() == ["20240101", "20240102"]


def test_time_window_start_written_in_its_fmt_gives_the_same_keys_as_dagster() -> None:
    config = {
        "type": "time_window",
        "start": "2023-06-01-00:00",
        "end": "2023-06-01-03:00",
        "fmt": "%Y-%m-%d-%H:%M",
        "cron_schedule": "0 * * * *",
    }
    built = _build({"hourly": config})["hourly"]
    dagster_own = dg.TimeWindowPartitionsDefinition(
        start="2023-06-01-00:00", end="2023-06-01-03:00", fmt="%Y-%m-%d-%H:%M", cron_schedule="0 * * * *"
    )
    assert built.get_partition_keys() == dagster_own.get_partition_keys()
    assert built.get_partition_keys() == ["2023-06-01-00:00", "2023-06-01-01:00", "2023-06-01-02:00"]


def test_time_window_end_offset_includes_the_current_window() -> None:
    built = _build(
        {
            "plain": {"type": "time_window", "start": "2024-01-01", "cron_schedule": "0 0 * * *"},
            "ahead": {"type": "time_window", "start": "2024-01-01", "cron_schedule": "0 0 * * *", "end_offset": 1},
        }
    )
    with dg.partition_loading_context(effective_dt=dt.datetime(2024, 1, 5, 12, tzinfo=dt.UTC)):
        assert built["plain"].get_last_partition_key() == "2024-01-04"
        assert built["ahead"].get_last_partition_key() == "2024-01-05"


@pytest.mark.parametrize(
    ("cadence", "cls", "first_two"),
    [
        ("daily", dg.DailyPartitionsDefinition, ["2024-01-01", "2024-01-02"]),
        ("hourly", dg.HourlyPartitionsDefinition, ["2024-01-01-00:00", "2024-01-01-01:00"]),
        ("weekly", dg.WeeklyPartitionsDefinition, ["2024-01-07", "2024-01-14"]),
        ("monthly", dg.MonthlyPartitionsDefinition, ["2024-01-01", "2024-02-01"]),
    ],
)
def test_cadence_shorthands(cadence: str, cls: type, first_two: list[str]) -> None:
    built = _build({"p": {"type": cadence, "start": "2024-01-01", "end": "2024-06-01"}})["p"]
    assert isinstance(built, cls)
    assert built.get_partition_keys()[:2] == first_two


def test_cadence_offsets_and_timezone() -> None:
    built = _build(
        {
            "p": {
                "type": "daily",
                "start": "2024-01-01",
                "end": "2024-01-04",
                "hour_offset": 6,
                "timezone": "America/New_York",
            }
        }
    )["p"]
    assert isinstance(built, dg.DailyPartitionsDefinition)
    assert built.hour_offset == 6
    assert built.timezone == "America/New_York"
    assert built.get_partition_keys() == ["2024-01-01", "2024-01-02"]


def test_static_multi_and_dynamic() -> None:
    built = _build(
        {
            "region": {"type": "static", "partition_keys": ["us", "eu", "ap"]},
            "daily_region": {
                "type": "multi",
                "partitions": {
                    "date": {
                        "type": "time_window",
                        "start": "2024-01-01",
                        "end": "2024-01-03",
                        "cron_schedule": "0 0 * * *",
                    },
                    "region": {"type": "static", "partition_keys": ["us", "eu"]},
                },
            },
            "customers": {"type": "dynamic", "name": "customers"},
        }
    )
    assert built["region"].get_partition_keys() == ["us", "eu", "ap"]
    multi = built["daily_region"]
    assert isinstance(multi, dg.MultiPartitionsDefinition)
    assert sorted(multi.partition_dimension_names) == ["date", "region"]
    assert len(multi.get_partition_keys()) == 4
    dynamic = built["customers"]
    assert isinstance(dynamic, dg.DynamicPartitionsDefinition)
    assert dynamic.name == "customers"
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("customers", ["acme", "globex"])
        assert dynamic.get_partition_keys(dynamic_partitions_store=instance) == ["acme", "globex"]


def test_dagster_rejection_is_a_located_error() -> None:
    orchestration = OrchestrationConfig.model_validate(
        {
            "partitions": {
                "two_times": {
                    "type": "multi",
                    "partitions": {
                        "a": {"type": "static", "partition_keys": ["x|y"]},
                        "b": {"type": "hourly", "start": "2024-01-01"},
                    },
                }
            }
        }
    )
    with pytest.raises(PartitionsDefinitionError) as info:
        build_partitions(orchestration, locate=lambda path: "floe.yaml:7:5")
    assert str(info.value).startswith("floe.yaml:7:5: orchestration.partitions.two_times: Dagster rejects")
