"""The whole of floe.yaml: ``FloeSpec`` and its ``orchestration`` section."""

from __future__ import annotations

from pydantic import Field

from floe_config.asset_patterns import AssetPattern
from floe_config.backfills import BackfillConfig
from floe_config.base import FloeModel
from floe_config.dbt import DbtConfig
from floe_config.field_types import ModulePath, Name, PipelineName, dagster_name
from floe_config.jobs import JobConfig
from floe_config.observability import ObservabilityConfig
from floe_config.partitions import PartitionsConfig
from floe_config.schedules import ScheduleConfig
from floe_config.sensors import SensorConfig


class OrchestrationConfig(FloeModel):
    """Everything Dagster runs: assets, partitions, jobs, schedules, sensors and backfills."""

    asset_modules: list[ModulePath] = Field(default=[])
    """Modules whose assets, checks, jobs, schedules and sensors are loaded (``.assets.bronze``)."""
    allowed_function_packages: list[str] = Field(default=[])
    """Extra top-level packages ops jobs and custom sensors may import functions from."""
    dbt: DbtConfig | None = None
    """The dbt project whose models become assets."""
    partitions: dict[str, PartitionsConfig] = Field(default={})
    """Named partitions definitions, referenced by asset patterns and jobs."""
    assets: dict[str, AssetPattern] = Field(default={})
    """Glob over asset keys written ``a/b/c`` -> settings for every matching asset."""
    jobs: dict[Name, JobConfig] = Field(default={})
    """Named jobs."""
    schedules: dict[Name, ScheduleConfig] = Field(default={})
    """Named schedules."""
    sensors: dict[Name, SensorConfig] = Field(default={})
    """Named sensors."""
    backfills: dict[Name, BackfillConfig] = Field(default={})
    """Named backfills, launched with ``floe backfill NAME``."""


class FloeSpec(FloeModel):
    """A floe.yaml file: one pipeline, the same in every environment."""

    name: PipelineName
    """Pipeline name: the OpenTelemetry ``service.name`` and the trace and lineage file names.

    Letters, digits, ``-``, ``_`` and ``.``; where Dagster needs a name, floe uses :attr:`dagster_name`.
    """
    version: str = "0.1.0"
    """Pipeline version."""
    description: str | None = None
    """What the pipeline is for."""
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    """What Dagster runs."""
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    """What floe observes."""

    @property
    def dagster_name(self) -> str:
        """The pipeline name as Dagster accepts it: ``my-pipeline`` -> ``my_pipeline``."""
        return dagster_name(self.name)
