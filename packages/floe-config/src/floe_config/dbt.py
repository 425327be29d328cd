"""The dbt project floe turns into per-model assets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from floe_config.base import FloeModel


class DbtConfig(FloeModel):
    """Where the dbt project lives and how its models become assets."""

    project_dir: str
    """dbt project directory, relative to floe.yaml's directory."""
    manifest_path: str | None = None
    """Manifest to load; ``<project_dir>/target/manifest.json`` when omitted."""
    profiles_dir: str | None = None
    """Directory holding profiles.yml; the project dir, then ``~/.dbt`` when omitted."""
    target: str | None = None
    """dbt target (profile output)."""
    select: str = "fqn:*"
    """dbt selection of the nodes that become assets."""
    exclude: str | None = None
    """dbt exclusion."""
    observability_level: Literal["per_model", "job_level"] = "per_model"
    """One span and lineage run per dbt node, or one for the whole dbt invocation."""
    source_asset_prefix: list[str] = Field(default=[])
    """Key prefix for dbt sources without ``meta.dagster.asset_key`` (the source name and table follow)."""
    group_by_folder: dict[str, str] = Field(default={})
    """Group for models by their folder under ``models/`` (``{staging: silver, marts: gold}``), when dbt sets none."""

    @property
    def resolved_manifest_path(self) -> str:
        """The manifest path, defaulted from the project dir."""
        return self.manifest_path or f"{self.project_dir.rstrip('/')}/target/manifest.json"
