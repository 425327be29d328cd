"""When a step's events happened, for executors that hand them to the run worker after the fact.

The in-process executor gives the run worker each step event as it happens, so its arrival is its time. The
multiprocess executor's run worker drains each step process's queue between its own work, so a short step's
events can arrive together; dagster-celery gives the run worker a step's events only when the step's task
returns (all at once, after the step ended), and a step-delegating executor (Kubernetes) reads them back from the
event log on its polling tick. For those, :class:`RecordedStepTimes` reads the time the step's own process stored
with each event (``EventLogEntry.timestamp``) from the run's instance, with Dagster's public
``get_records_for_run``.
"""

from __future__ import annotations

import logging

from dagster import DagsterEvent, DagsterEventType, DagsterInstance

from floe_dbt_observe.integration import seconds_to_ns

logger = logging.getLogger(__name__)

STEP_EVENT_TYPES = frozenset(
    {
        DagsterEventType.STEP_START,
        DagsterEventType.STEP_SUCCESS,
        DagsterEventType.STEP_FAILURE,
        DagsterEventType.STEP_UP_FOR_RETRY,
    }
)
"""The events that open and end a step's span and lineage run."""


class RecordedStepTimes:
    """Find the stored time of the step events of one run (never raising).

    Each step event the run worker sees is matched to the first record of the run not matched yet with the same
    step, event type and process id: a Celery step redelivered after its process was killed stored a
    ``STEP_START`` the run worker never sees, from another pid. Records are read forward from a cursor and only
    when an event is not among those read already, so a Celery step's events, which arrive together, cost one
    query. A query that fails is logged once and not repeated: the caller uses the time the event arrived.

    Args:
        instance: The run's instance (where the steps' processes stored their events).
        run_id: The Dagster run.
    """

    def __init__(self, instance: DagsterInstance, run_id: str) -> None:
        self._instance = instance
        self._run_id = run_id
        self._cursor: str | None = None
        self._unmatched: dict[tuple[str, str], list[tuple[int | None, float]]] = {}
        self._failed = False

    def time_ns(self, event: DagsterEvent) -> int | None:
        """Return the epoch ns the step's process stored ``event`` at, or None when no record matches.

        Args:
            event: A step event (``STEP_START``, ``STEP_SUCCESS``, ``STEP_FAILURE``, ``STEP_UP_FOR_RETRY``).
        """
        if event.step_key is None or event.event_type not in STEP_EVENT_TYPES:
            return None
        key = (event.step_key, event.event_type_value)
        found = self._take(key, event.pid)
        if found is None and not self._failed:
            try:
                self._read_new_records()
            except Exception:  # the instance is Dagster's storage: a failing query never fails the run
                self._failed = True
                logger.warning(
                    "floe: cannot read step event times of run %s from the instance; step spans and lineage "
                    "events use the time the events reached the run worker",
                    self._run_id,
                    exc_info=True,
                )
                return None
            found = self._take(key, event.pid)
        return None if found is None else seconds_to_ns(found)

    def _take(self, key: tuple[str, str], pid: int | None) -> float | None:
        candidates = self._unmatched.get(key, [])
        for index, (stored_pid, timestamp) in enumerate(candidates):
            if pid is None or stored_pid is None or stored_pid == pid:
                del candidates[index]
                return timestamp
        return None

    def _read_new_records(self) -> None:
        while True:
            connection = self._instance.get_records_for_run(
                self._run_id, cursor=self._cursor, of_type=set(STEP_EVENT_TYPES)
            )
            for record in connection.records:
                entry = record.event_log_entry
                stored = entry.dagster_event
                if stored is None or stored.step_key is None:
                    continue
                key = (stored.step_key, stored.event_type_value)
                self._unmatched.setdefault(key, []).append((stored.pid, entry.timestamp))
            if connection.cursor:
                self._cursor = connection.cursor
            if not connection.has_more or not connection.records:
                return
