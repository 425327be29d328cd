"""Settings applied to every asset whose key matches a glob pattern (``orchestration.assets``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from floe_config.base import FloeModel
from floe_config.field_types import CronExpression, Timezone


class OnCronCondition(FloeModel):
    """Materialize on a cron schedule once upstream data has updated (Dagster's ``on_cron``)."""

    type: Literal["on_cron"]
    cron_schedule: CronExpression
    """When to evaluate, e.g. ``0 9 * * 1``."""
    cron_timezone: Timezone = "UTC"
    """IANA timezone of the cron schedule."""


class NamedCondition(FloeModel):
    """One of Dagster's parameterless automation conditions, in mapping form."""

    type: Literal["eager", "on_missing"]


AutomationConditionConfig = Annotated[
    Literal["eager", "on_missing"] | Annotated[OnCronCondition | NamedCondition, Field(discriminator="type")],
    Field(union_mode="left_to_right"),
]
"""``eager``, ``on_missing``, or ``{type: on_cron, cron_schedule: ...}``."""


class SingleRunBackfill(FloeModel):
    """Backfill every partition in one run."""

    type: Literal["single_run"]


class MultiRunBackfill(FloeModel):
    """Backfill in runs of at most ``max_partitions_per_run`` partitions."""

    type: Literal["multi_run"]
    max_partitions_per_run: int = Field(default=1, gt=0)
    """Partitions per run."""


BackfillPolicyConfig = Annotated[SingleRunBackfill | MultiRunBackfill, Field(discriminator="type")]
"""How Dagster splits a backfill of these assets into runs."""


class AssetPattern(FloeModel):
    """Settings for the assets matching one pattern; unset fields leave the asset's own value."""

    partitions: str | None = None
    """Name of an entry in ``orchestration.partitions``."""
    automation_condition: AutomationConditionConfig | None = None
    """When Dagster's automation should materialize these assets."""
    backfill_policy: BackfillPolicyConfig | None = None
    """How backfills of these assets are split into runs."""
    group_name: str | None = None
    """Asset group shown in the UI."""
    kinds: list[str] | None = None
    """Kinds (icons) shown in the UI, e.g. ``[dbt, duckdb]``."""
    tags: dict[str, str] | None = None
    """Asset tags (merged with the asset's own)."""
    owners: list[str] | None = None
    """Owners: emails or ``team:name``."""
    description: str | None = None
    """Asset description."""
