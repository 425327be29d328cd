"""Jobs: ``batch`` jobs materialize an asset selection, ``ops`` jobs call one Python function."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from floe_config.base import FloeModel
from floe_config.field_types import SelectionString, TargetFunction


class BatchJob(FloeModel):
    """Materialize the union of the selections."""

    type: Literal["batch"]
    selection: list[SelectionString] = Field(min_length=1)
    """Dagster asset-selection strings (``group:bronze``, ``key:"a/b"+``, ``tag:k=v and kind:dbt``); their union."""
    partitions: str | None = None
    """Name of the partitions definition this job runs over; inferred from its assets when omitted."""
    description: str | None = None
    """Shown in the Dagster UI."""
    tags: dict[str, str] = Field(default={})
    """Tags on every run of the job."""


class OpsJob(FloeModel):
    """Call ``target_function`` in a one-op job, with ``args`` as run config a run may override."""

    type: Literal["ops"]
    target_function: TargetFunction
    """``package.module:function``; a leading dot is relative to floe.yaml's directory."""
    args: dict[str, Any] = Field(default={})
    """Keyword arguments, passed as the op's run config."""
    description: str | None = None
    """Shown in the Dagster UI."""
    tags: dict[str, str] = Field(default={})
    """Tags on every run of the job."""


JobConfig = Annotated[BatchJob | OpsJob, Field(discriminator="type")]
"""A job of ``orchestration.jobs``."""
