"""What floe observes: traces, lineage, and attributes added to both."""

from __future__ import annotations

from pydantic import Field

from floe_config.base import FloeModel


class ObservabilityConfig(FloeModel):
    """Switches for traces and lineage; where they go is the platform file's business."""

    traces: bool = True
    """Emit OpenTelemetry spans (one per asset / dbt node)."""
    lineage: bool = True
    """Emit OpenLineage runs (one per asset / dbt node)."""
    attributes: dict[str, str] = Field(default={})
    """Resource attributes added to every span (e.g. ``team: data``)."""
