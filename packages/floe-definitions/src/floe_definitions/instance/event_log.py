"""The event log storages floe's ``dagster.yaml`` names: Dagster's own, writing a batch of events at once.

Dagster writes a run's planned events (one ``ASSET_MATERIALIZATION_PLANNED`` per asset and one
``ASSET_CHECK_EVALUATION_PLANNED`` per check, before the run starts, in the process that creates the run) as one
batch when ``DAGSTER_EVENT_BATCH_SIZE`` is set, through ``EventLogStorage.store_event_batch``; Dagster's SQLite
storage stores a batch one event at a time (two or three commits each), dagster-postgres' storage does so for
planned events. These storages write a batch in one transaction per database, by running Dagster's own
``store_event`` for each event on the batch's connection, so every row is the one Dagster writes, and set
``DAGSTER_EVENT_BATCH_SIZE`` (1,000, unless the environment sets it) in each process that opens the instance.

``dagster.yaml``: ``event_log_storage: {module: floe_definitions.instance.event_log, class:
BatchedSqliteEventLogStorage, config: {base_dir: ...}}`` (or ``BatchedPostgresEventLogStorage`` with
``postgres_url``), with
Dagster's own run and schedule storages beside it. The PostgreSQL class needs dagster-postgres (the
``postgres`` extra) and is imported only by an instance that names it.
"""

from __future__ import annotations

from typing import Any

from floe_definitions._compat import batched_postgres_event_log_storage, batched_sqlite_event_log_storage

BatchedSqliteEventLogStorage: Any = batched_sqlite_event_log_storage()


def __getattr__(name: str) -> Any:
    if name == "BatchedPostgresEventLogStorage":
        return batched_postgres_event_log_storage()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
