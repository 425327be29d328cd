"""Build Dagster partitions definitions from ``orchestration.partitions``.

``time_window`` maps to ``TimeWindowPartitionsDefinition`` (cron, start, end, timezone, fmt, end_offset); the
``daily``/``hourly``/``weekly``/``monthly`` shorthands map to Dagster's cadence classes; ``static``, ``multi``
(two named dimensions) and ``dynamic`` map to their namesakes.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from floe_config.integration import (
    CadencePartitions,
    DynamicPartitions,
    MultiPartitions,
    OrchestrationConfig,
    PartitionsConfig,
    StaticPartitions,
    TimeWindowPartitions,
)
from floe_loaders.errors import PartitionsDefinitionError
from floe_loaders.locations import Locate, config_path, default_locate

_DAY_FMT = "%Y-%m-%d"
_MINUTE_FMT = "%Y-%m-%d-%H:%M"


def build_partitions(
    orchestration: OrchestrationConfig, *, locate: Locate = default_locate
) -> dict[str, dg.PartitionsDefinition]:
    """Build every named partitions definition of ``orchestration.partitions``.

    Args:
        orchestration: The orchestration section of floe.yaml.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        Partitions definitions by name.

    Raises:
        PartitionsDefinitionError: Dagster rejects an entry (e.g. a bad ``fmt`` or two time dimensions).
    """
    return {
        name: build_partitions_definition(config, path=config_path("orchestration", "partitions", name), locate=locate)
        for name, config in orchestration.partitions.items()
    }


def build_partitions_definition(
    config: PartitionsConfig,
    *,
    path: str = "orchestration.partitions",
    locate: Locate = default_locate,
) -> dg.PartitionsDefinition:
    """Build one Dagster partitions definition.

    Args:
        config: One entry of ``orchestration.partitions``.
        path: Its dotted floe.yaml path, for errors.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The partitions definition.

    Raises:
        PartitionsDefinitionError: Dagster rejects the entry.
    """
    try:
        return _build(config)
    except PartitionsDefinitionError:
        raise
    except Exception as exc:
        raise PartitionsDefinitionError(
            path,
            f"Dagster rejects this partitions definition: {exc}",
            "Check start/end, fmt (a strftime format matching the cadence) and the dimensions",
            locate=locate,
        ) from exc


def _build(config: PartitionsConfig) -> dg.PartitionsDefinition:
    if isinstance(config, TimeWindowPartitions):
        return dg.TimeWindowPartitionsDefinition(
            cron_schedule=config.cron_schedule,
            start=_as_datetime(config.start),
            end=_as_datetime(config.end) if config.end is not None else None,
            timezone=config.timezone,
            fmt=config.fmt or _default_fmt(config.cron_schedule),
            end_offset=config.end_offset,
        )
    if isinstance(config, CadencePartitions):
        return _build_cadence(config)
    if isinstance(config, StaticPartitions):
        return dg.StaticPartitionsDefinition(list(config.partition_keys))
    if isinstance(config, DynamicPartitions):
        return dg.DynamicPartitionsDefinition(name=config.name)
    assert isinstance(config, MultiPartitions)
    return dg.MultiPartitionsDefinition({name: _build(dimension) for name, dimension in config.partitions.items()})


def _build_cadence(config: CadencePartitions) -> dg.PartitionsDefinition:
    start = _as_datetime(config.start)
    end = _as_datetime(config.end) if config.end is not None else None
    common = {
        "start_date": start,
        "end_date": end,
        "timezone": config.timezone,
        "end_offset": config.end_offset,
        "minute_offset": config.minute_offset,
    }
    if config.fmt is not None:
        common["fmt"] = config.fmt
    if config.type == "hourly":
        return dg.HourlyPartitionsDefinition(**common)  # type: ignore[arg-type]
    if config.type == "daily":
        return dg.DailyPartitionsDefinition(hour_offset=config.hour_offset, **common)  # type: ignore[arg-type]
    if config.type == "weekly":
        return dg.WeeklyPartitionsDefinition(hour_offset=config.hour_offset, **common)  # type: ignore[arg-type]
    return dg.MonthlyPartitionsDefinition(hour_offset=config.hour_offset, **common)  # type: ignore[arg-type]


def _default_fmt(cron_schedule: str) -> str:
    """Day keys when every window starts at a fixed hour; minute keys when windows are sub-daily."""
    if cron_schedule.startswith("@"):
        return _MINUTE_FMT if cron_schedule == "@hourly" else _DAY_FMT
    minute, hour = cron_schedule.split()[:2]
    fixed = minute.isdigit() and hour.isdigit()
    return _DAY_FMT if fixed else _MINUTE_FMT


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day)


def partitions_name(partitions_def: dg.PartitionsDefinition | None, named: dict[str, dg.PartitionsDefinition]) -> str:
    """Name a partitions definition for messages: its floe.yaml name if it has one, else Dagster's description.

    Args:
        partitions_def: The definition, or None for unpartitioned.
        named: floe.yaml's partitions by name.

    Returns:
        A short human-readable name.
    """
    if partitions_def is None:
        return "unpartitioned"
    for name, candidate in named.items():
        if candidate == partitions_def:
            return repr(name)
    return str(partitions_def)
