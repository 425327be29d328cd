"""Schedules: run a job on a cron in a timezone."""

from __future__ import annotations

from typing import Literal

from floe_config.base import FloeModel
from floe_config.field_types import CronExpression, Timezone


class ScheduleConfig(FloeModel):
    """Run ``job`` on ``cron_schedule``."""

    job: str
    """Name of a job in ``orchestration.jobs``."""
    cron_schedule: CronExpression
    """When to run, e.g. ``0 6 * * *``."""
    timezone: Timezone = "UTC"
    """IANA timezone the cron is evaluated in."""
    enabled: bool = True
    """Whether the schedule starts running (``RUNNING``) or stopped (``STOPPED``)."""
    partition_selector: Literal["latest", "all"] = "latest"
    """For partitioned jobs: run the latest complete partition, or every static key."""
    description: str | None = None
    """Shown in the Dagster UI."""
