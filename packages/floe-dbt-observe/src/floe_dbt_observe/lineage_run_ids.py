"""The OpenLineage run ids of a dbt step's node runs, derived so that another process can end them.

A node's run id is openlineage-python's ``generate_static_uuid`` (a UUIDv7: same arguments, same id) of the Dagster
run's creation time and of the run id, step key, step attempt and node. The step's own process and the run worker
both read the creation time from the run's record, so the run worker can send the terminal event of a node run
that a lost step (a Celery worker killed mid-step) had started. Another attempt of the step gets other ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

UNKNOWN_CREATION = datetime(1970, 1, 1, tzinfo=UTC)
"""The instant used when the run's record cannot be read (then both sides fall back to it alike)."""
INVOCATION = ""
"""The "node" of a ``job_level`` step's single lineage run."""


@dataclass(frozen=True)
class StepAttempt:
    """One attempt of one Dagster step, which names the lineage runs of the dbt nodes it runs.

    Attributes:
        dagster_run_id: The Dagster run id.
        step_key: The step key.
        attempt: The step's retry number (0 for the first attempt).
        run_created: When the Dagster run was created (its run record's ``create_timestamp``).
    """

    dagster_run_id: str
    step_key: str
    attempt: int
    run_created: datetime

    def node_run_id(self, unique_id: str) -> str:
        """Return the OpenLineage run id of a dbt node in this step attempt (``INVOCATION``: the step's own)."""
        from openlineage.client.uuid import generate_static_uuid  # the client's package takes ~0.8 s to import

        data = f"floe:dbt-node:{self.dagster_run_id}:{self.step_key}:{self.attempt}:{unique_id}".encode()
        return str(generate_static_uuid(_utc_ms(self.run_created), data))

    def invocation_run_id(self) -> str:
        """Return the run id of the step's single lineage run (``job_level`` observability)."""
        return self.node_run_id(INVOCATION)


def run_created(instance: Any, dagster_run_id: str) -> datetime:
    """Return when a Dagster run was created, from its record in ``instance`` (``UNKNOWN_CREATION`` if unreadable).

    Args:
        instance: The run's ``DagsterInstance``.
        dagster_run_id: The Dagster run id.
    """
    try:
        record = instance.get_run_record_by_id(dagster_run_id)
    except Exception:  # a storage error: node run ids fall back to the fixed instant, never a failed step
        logger.debug("cannot read the run record of %s", dagster_run_id, exc_info=True)
        return UNKNOWN_CREATION
    created = getattr(record, "create_timestamp", None)
    return created if isinstance(created, datetime) else UNKNOWN_CREATION


def _utc_ms(instant: datetime) -> datetime:
    """Return ``instant`` in UTC to the millisecond (a naive time is UTC, as Dagster stores it).

    ``generate_static_uuid`` hashes the instant's ISO text: this keeps it the same whatever the reader's time zone
    or the storage's precision.
    """
    aware = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)
