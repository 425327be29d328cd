"""The ids that tie a dbt node's Dagster event, span and lineage run together, as metadata keys."""

from __future__ import annotations

from dataclasses import dataclass

TRACE_ID_KEY = "floe/trace_id"
SPAN_ID_KEY = "floe/span_id"
OPENLINEAGE_RUN_ID_KEY = "floe/openlineage_run_id"
OPENLINEAGE_JOB_KEY = "floe/openlineage_job"
DBT_STATUS_KEY = "floe/dbt_status"
DBT_UNIQUE_ID_KEY = "floe/dbt_unique_id"
DBT_MESSAGE_KEY = "floe/dbt_message"
CHECK_NAME_KEY = "floe/check_name"
"""Extra keys of the observation recorded for a node that failed or was skipped (no materialization, no check)."""


@dataclass(frozen=True)
class NodeLink:
    """The ids that tie a node's Dagster event, span and lineage run together."""

    trace_id: str
    span_id: str
    openlineage_run_id: str | None
    openlineage_job: str | None

    def as_metadata(self) -> dict[str, str]:
        """Return Dagster materialization metadata naming the span and the lineage run."""
        metadata = {TRACE_ID_KEY: self.trace_id, SPAN_ID_KEY: self.span_id}
        if self.openlineage_run_id:
            metadata[OPENLINEAGE_RUN_ID_KEY] = self.openlineage_run_id
        if self.openlineage_job:
            metadata[OPENLINEAGE_JOB_KEY] = self.openlineage_job
        return metadata
