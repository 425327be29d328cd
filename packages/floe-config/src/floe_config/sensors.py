"""Sensors: file watcher, asset sensor, run-status sensor and custom Python sensors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from floe_config.base import FloeModel
from floe_config.field_types import TargetFunction


class _SensorBase(FloeModel):
    job: str
    """Name of the job the sensor requests runs of."""
    poll_interval_seconds: int = Field(default=30, gt=0)
    """Minimum seconds between two evaluations."""
    description: str | None = None
    """Shown in the Dagster UI."""
    enabled: bool = True
    """Whether the sensor starts running."""


class FileWatcherSensor(_SensorBase):
    """Request a run for every new or changed file matching ``pattern`` under ``path``."""

    type: Literal["file_watcher"]
    path: str = Field(min_length=1)
    """Directory to watch; relative paths are relative to floe.yaml's directory."""
    pattern: str = "*"
    """Glob matched against file names, e.g. ``*.csv``."""
    recursive: bool = False
    """Also watch subdirectories."""


class AssetSensor(_SensorBase):
    """Request a run when watched assets materialize."""

    type: Literal["asset_sensor"]
    watched_assets: list[str] = Field(min_length=1)
    """Asset keys written ``a/b/c``."""
    trigger: Literal["any", "all"] = "any"
    """``any``: one of them materialized; ``all``: every one since the last request."""


class RunStatusSensor(_SensorBase):
    """Request a run when a watched job's run reaches ``status``."""

    type: Literal["run_status"]
    watched_jobs: list[str] = Field(min_length=1)
    """Names of jobs in ``orchestration.jobs``."""
    status: Literal["SUCCESS", "FAILURE", "CANCELED"]
    """The run status that triggers."""


class CustomSensor(_SensorBase):
    """Call ``target_function(context, **args)``; it returns run requests, a skip reason or a bool."""

    type: Literal["custom"]
    target_function: TargetFunction
    """``package.module:function``; a leading dot is relative to floe.yaml's directory."""
    args: dict[str, Any] = Field(default={})
    """Keyword arguments passed after the context."""


SensorConfig = Annotated[
    FileWatcherSensor | AssetSensor | RunStatusSensor | CustomSensor,
    Field(discriminator="type"),
]
"""A sensor of ``orchestration.sensors``."""
