"""Backfills: a named partition range of a job, launched on demand."""

from __future__ import annotations

from pydantic import Field

from floe_config.base import FloeModel


class PartitionRange(FloeModel):
    """Inclusive range of partition keys."""

    start: str = Field(min_length=1)
    """First partition key, e.g. ``2024-01-01``."""
    end: str = Field(min_length=1)
    """Last partition key (inclusive)."""


class BackfillConfig(FloeModel):
    """A backfill of ``job`` over ``partition_range``."""

    job: str
    """Name of a batch job in ``orchestration.jobs``."""
    partition_range: PartitionRange
    """The partitions to fill."""
    batch_size: int = Field(default=10, gt=0)
    """Partitions per run."""
    description: str | None = None
    """What the backfill is for."""
    tags: dict[str, str] = Field(default={})
    """Tags on the backfill's runs."""
