"""Named partition definitions: time windows (and their shorthands), static, multi and dynamic."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated, Literal

from pydantic import Field, model_validator

from floe_config.base import FloeModel
from floe_config.field_types import CronExpression, Timezone


class TimeWindowPartitions(FloeModel):
    """Partitions over time windows cut by a cron schedule."""

    type: Literal["time_window"]
    start: dt.date | dt.datetime
    """First partition's start (``2024-01-01`` or an ISO datetime)."""
    end: dt.date | dt.datetime | None = None
    """Exclusive end of the last partition; open-ended when omitted."""
    cron_schedule: CronExpression
    """When each window ends, as a cron expression (``0 0 * * *`` is daily)."""
    timezone: Timezone = "UTC"
    """IANA timezone the cron schedule is evaluated in."""
    fmt: str | None = None
    """strftime format of partition keys; Dagster's default for the cadence when omitted."""
    end_offset: int = 0
    """Number of partitions past the current time window to include (Dagster's ``end_offset``)."""

    @model_validator(mode="after")
    def _start_not_after_end(self) -> TimeWindowPartitions:
        if self.end is not None and _as_datetime(self.start) > _as_datetime(self.end):
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class CadencePartitions(FloeModel):
    """Shorthand for a time window at a common cadence (``daily``, ``hourly``, ``weekly``, ``monthly``)."""

    type: Literal["daily", "hourly", "weekly", "monthly"]
    start: dt.date | dt.datetime
    """First partition's start."""
    end: dt.date | dt.datetime | None = None
    """Exclusive end of the last partition; open-ended when omitted."""
    timezone: Timezone = "UTC"
    """IANA timezone the windows are cut in."""
    fmt: str | None = None
    """strftime format of partition keys."""
    end_offset: int = 0
    """Number of partitions past the current time window to include."""
    minute_offset: int = Field(default=0, ge=0, le=59)
    """Minute of the hour at which windows start."""
    hour_offset: int = Field(default=0, ge=0, le=23)
    """Hour of the day at which windows start (daily, weekly, monthly)."""

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
