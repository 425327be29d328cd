"""Named partition definitions: time windows (and their shorthands), static, multi and dynamic."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, WithJsonSchema, field_validator, model_validator

from floe_config.base import FloeModel
from floe_config.field_types import CronExpression, Timezone

PartitionBound = Annotated[
    dt.date | dt.datetime,
    WithJsonSchema(
        {
            "type": "string",
            "examples": ["2024-01-01", "2024-01-01T06:00:00", "2023-06-01-00:00"],
        }
    ),
]
"""A partition start or end: written in the partitions' ``fmt`` when it has one, else an ISO date or datetime."""


def _parse_bound(value: object, info: ValidationInfo) -> object:
    """Parse a ``start``/``end`` string with the partitions' ``fmt``, as Dagster does; leave the rest to pydantic."""
    fmt = info.data.get("fmt")
    if not isinstance(value, str) or not isinstance(fmt, str):
        return value
    try:
        return dt.datetime.strptime(value, fmt)
    except ValueError:
        pass
    example = ""
    try:
        example = f"; write e.g. {dt.datetime.fromisoformat(value).strftime(fmt)!r}"
    except ValueError:
        example = f"; write e.g. {dt.datetime(2024, 1, 1).strftime(fmt)!r}"
    raise ValueError(f"{info.field_name} {value!r} does not match fmt {fmt!r}{example}")


class TimeWindowPartitions(FloeModel):
    """Partitions over time windows cut by a cron schedule."""

    type: Literal["time_window"]
    fmt: str | None = None
    """strftime format of partition keys, also the format of ``start`` and ``end`` (as in Dagster); Dagster's
    default for the cadence when omitted."""
    start: PartitionBound
    """First partition's start: written in ``fmt`` when set, else ``2024-01-01`` or an ISO datetime."""
    end: PartitionBound | None = None
    """Exclusive end of the last partition, written like ``start``; open-ended when omitted."""
    cron_schedule: CronExpression
    """When each window ends, as a cron expression (``0 0 * * *`` is daily)."""
    timezone: Timezone = "UTC"
    """IANA timezone the cron schedule is evaluated in."""
    end_offset: int = 0
    """Number of partitions past the current time window to include (Dagster's ``end_offset``)."""

    _start_and_end_in_fmt = field_validator("start", "end", mode="before")(_parse_bound)

    @model_validator(mode="after")
    def _start_not_after_end(self) -> TimeWindowPartitions:
        if self.end is not None and _as_datetime(self.start) > _as_datetime(self.end):
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class CadencePartitions(FloeModel):
    """Shorthand for a time window at a common cadence (``daily``, ``hourly``, ``weekly``, ``monthly``)."""

    type: Literal["daily", "hourly", "weekly", "monthly"]
    fmt: str | None = None
    """strftime format of partition keys, also the format of ``start`` and ``end`` (as in Dagster)."""
    start: PartitionBound
    """First partition's start: written in ``fmt`` when set, else ``2024-01-01`` or an ISO datetime."""
    end: PartitionBound | None = None
    """Exclusive end of the last partition, written like ``start``; open-ended when omitted."""
    timezone: Timezone = "UTC"
    """IANA timezone the windows are cut in."""
    end_offset: int = 0
    """Number of partitions past the current time window to include."""
    minute_offset: int = Field(default=0, ge=0, le=59)
    """Minute of the hour at which windows start."""
    hour_offset: int = Field(default=0, ge=0, le=23)
    """Hour of the day at which windows start (daily, weekly, monthly)."""

    _start_and_end_in_fmt = field_validator("start", "end", mode="before")(_parse_bound)

    @model_validator(mode="after")
    def _start_not_after_end(self) -> CadencePartitions:
        if self.end is not None and _as_datetime(self.start) > _as_datetime(self.end):
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class StaticPartitions(FloeModel):
    """A fixed list of partition keys."""

    type: Literal["static"]
    partition_keys: list[str] = Field(min_length=1)
    """The keys, unique and non-empty."""

    @model_validator(mode="after")
    def _unique_keys(self) -> StaticPartitions:
        duplicates = sorted(key for key, count in Counter(self.partition_keys).items() if count > 1)
        if duplicates:
            raise ValueError(f"partition_keys must be unique; repeated: {', '.join(duplicates)}")
        if any(not key for key in self.partition_keys):
            raise ValueError("partition_keys must not contain an empty string")
        return self


class DynamicPartitions(FloeModel):
    """Partition keys added at run time (by a sensor or the UI) under a name."""

    type: Literal["dynamic"]
    name: str = Field(min_length=1)
    """The dynamic partitions definition's name in the Dagster instance."""


DimensionPartitions = Annotated[
    TimeWindowPartitions | CadencePartitions | StaticPartitions | DynamicPartitions,
    Field(discriminator="type"),
]
"""A single-dimension partitions definition (anything but ``multi``)."""


class MultiPartitions(FloeModel):
    """Two named dimensions crossed (Dagster supports exactly two)."""

    type: Literal["multi"]
    partitions: dict[str, DimensionPartitions]
    """Exactly two named dimensions, e.g. ``date`` and ``region``."""

    @model_validator(mode="after")
    def _exactly_two_dimensions(self) -> MultiPartitions:
        if len(self.partitions) != 2:
            names = ", ".join(self.partitions) or "none"
            raise ValueError(
                f"multi partitions need exactly two dimensions (Dagster's limit); got {len(self.partitions)} ({names})"
            )
        return self


PartitionsConfig = Annotated[
    TimeWindowPartitions | CadencePartitions | StaticPartitions | MultiPartitions | DynamicPartitions,
    Field(discriminator="type"),
]
"""Any named partitions definition of ``orchestration.partitions``."""


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime(value.year, value.month, value.day)
