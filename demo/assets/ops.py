"""Maintenance and alerting functions for the demo's ``ops`` jobs.

Plain functions, no Dagster decorators: floe wraps each in a one-op job (``type: ops`` with ``target_function``
in ``floe.yaml``) and passes the job's ``args`` as keyword arguments. ``vacuum`` trims old raw partitions, keeps
the partition ranges a backfill loaded on purpose, and reports each partition it removed as an asset observation
(shown on the asset's partition in Dagster's UI); ``notify_failure`` records a failed run, typically launched by a
run-status sensor.

No ``from __future__ import annotations`` here: Dagster checks a ``context`` annotation against the real class.
"""

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetKey, AssetObservation, MetadataValue, OpExecutionContext

from .synthetic import RAW_ORDER_ITEMS, RAW_ORDERS
from .warehouse import connect, warehouse_path

ALERTS_LOG_ENV = "FLOE_DEMO_ALERTS_LOG"
"""Environment variable holding the alerts log path; default ``alerts.log`` beside the warehouse file."""

FAILED_RUN_ID_TAGS = ("floe/failed_run_id", "failed_run_id")
"""Run tags read, in order, for the id of the run that failed."""

FAILED_JOB_TAGS = ("floe/failed_job", "failed_job")
"""Run tags read, in order, for the name of the job that failed."""

FAILURE_MESSAGE_TAGS = ("floe/failure_message", "failure_message")
"""Run tags read, in order, for the failure message."""

SENSOR_TAG = "dagster/sensor_name"
"""Tag Dagster sets on runs a sensor requested."""


def _table_exists(con: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, _, name = qualified_name.partition(".")
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()
    return found is not None and int(found[0]) > 0


RAW_ORDER_KEYS = (AssetKey(["bronze", "raw_orders"]), AssetKey(["bronze", "raw_order_items"]))
"""The daily-partitioned assets whose partitions ``vacuum`` removes (one partition = one ``order_date``)."""


def _kept_ranges(keep: Any) -> list[tuple[date, date]]:
    """Parse ``keep_partitions``: ``{start, end}`` mappings (a backfill's ``partition_range``) or ``START...END``."""
    ranges = []
    for entry in keep or []:
        if isinstance(entry, dict):
            start, end = str(entry["start"]), str(entry["end"])
        else:
            start, _, end = str(entry).partition("...")
            end = end or start
        ranges.append((date.fromisoformat(start), date.fromisoformat(end)))
    return ranges


def _removable_days(
    con: duckdb.DuckDBPyConnection, cutoff: date, kept: list[tuple[date, date]]
) -> dict[date, tuple[int, int]]:
    """Return the partition days before ``cutoff`` outside ``kept``, with their order and order-item row counts."""
    counts: dict[date, tuple[int, int]] = {}
    for table, slot in ((RAW_ORDERS.qualified_name, 0), (RAW_ORDER_ITEMS.qualified_name, 1)):
        if not _table_exists(con, table):
            continue
        rows = con.execute(
            f"SELECT order_date, count(*) FROM {table} WHERE order_date < ? GROUP BY 1", [cutoff]
        ).fetchall()
        for day, count in rows:
            if any(start <= day <= end for start, end in kept):
                continue
            pair = list(counts.get(day, (0, 0)))
            pair[slot] = int(count)
            counts[day] = (pair[0], pair[1])
    return counts


def _delete_days(con: duckdb.DuckDBPyConnection, qualified_name: str, days: list[date]) -> int:
    """Delete the rows of ``qualified_name`` whose ``order_date`` is one of ``days``; return how many."""
    if not days or not _table_exists(con, qualified_name):
        return 0
    marks = ", ".join("?" for _ in days)
    deleted = con.execute(f"DELETE FROM {qualified_name} WHERE order_date IN ({marks})", days).fetchone()
    return int(deleted[0]) if deleted is not None else 0


def vacuum(context: OpExecutionContext, retention_days: int = 30, keep_partitions: Any = None) -> dict[str, Any]:
    """Delete raw order partitions older than ``retention_days`` before the latest one, then compact the file.

    A partition is kept when ``latest - order_date <= retention_days`` (``retention_days=0`` keeps only the latest
    day) or when it lies in one of ``keep_partitions``: the ranges a backfill loaded on purpose (floe.yaml passes
    the ``january_2024`` backfill's ``partition_range`` through a YAML anchor), so retention never undoes a
    backfill. Each removed partition is reported as an ``AssetObservation`` of ``bronze/raw_orders`` and
    ``bronze/raw_order_items`` for that partition (metadata ``floe/removed_by``, ``rows_removed``, ``cutoff``),
    which Dagster's UI shows in the partition's events. Orders and their items are deleted in one transaction,
    then ``CHECKPOINT`` reclaims space and ``ANALYZE`` refreshes the statistics.

    Args:
        context: The op's execution context (for logging and the observations).
        retention_days: Days of history to keep before the latest partition (YAML may pass it as a string).
        keep_partitions: Partition ranges never removed: ``{start, end}`` mappings or ``"START...END"`` strings.

    Returns:
        A summary: ``warehouse``, ``retention_days``, ``latest_partition`` and ``cutoff`` (ISO dates or None when
        there are no orders), ``kept_ranges``, ``removed_partitions`` (ISO dates) and ``deleted_orders`` /
        ``deleted_order_items`` row counts.

    Raises:
        ValueError: If ``retention_days`` is negative or not an integer.
    """
    retention = int(retention_days)
    if retention < 0:
        raise ValueError(f"retention_days must be 0 or more, got {retention_days!r}")
    kept = _kept_ranges(keep_partitions)
    path = warehouse_path()
    summary: dict[str, Any] = {
        "warehouse": str(path),
        "retention_days": retention,
        "latest_partition": None,
        "cutoff": None,
        "kept_ranges": [f"{start.isoformat()}...{end.isoformat()}" for start, end in kept],
        "removed_partitions": [],
        "deleted_orders": 0,
        "deleted_order_items": 0,
    }
    removed: dict[date, tuple[int, int]] = {}
    with connect(path) as con:
        if _table_exists(con, RAW_ORDERS.qualified_name):
            latest_row = con.execute(f"SELECT max(order_date) FROM {RAW_ORDERS.qualified_name}").fetchone()
            latest = latest_row[0] if latest_row is not None else None
            if isinstance(latest, date):
                cutoff = latest - timedelta(days=retention)
                removed = _removable_days(con, cutoff, kept)
                days = sorted(removed)
                con.begin()
                summary["deleted_order_items"] = _delete_days(con, RAW_ORDER_ITEMS.qualified_name, days)
                summary["deleted_orders"] = _delete_days(con, RAW_ORDERS.qualified_name, days)
                con.commit()
                summary["latest_partition"] = latest.isoformat()
                summary["cutoff"] = cutoff.isoformat()
                summary["removed_partitions"] = [day.isoformat() for day in days]
        con.execute("CHECKPOINT")
        con.execute("ANALYZE")
    for day, counts in sorted(removed.items()):
        for key, rows in zip(RAW_ORDER_KEYS, counts, strict=True):
            context.log_event(
                AssetObservation(
                    asset_key=key,
                    partition=day.isoformat(),
                    description=f"Removed by the maintenance job's retention ({retention} days before "
                    f"{summary['latest_partition']}); materialize the partition again to restore it",
                    metadata={
                        "floe/removed_by": MetadataValue.text("retention"),
                        "rows_removed": MetadataValue.int(rows),
                        "cutoff": MetadataValue.text(str(summary["cutoff"])),
                    },
                )
            )
    context.log.info(
        f"vacuum: kept partitions from {summary['cutoff']} to {summary['latest_partition']}"
        + (f" and {', '.join(summary['kept_ranges'])}" if kept else "")
        + f"; removed {len(removed)} partition(s): {summary['deleted_orders']} orders and "
        f"{summary['deleted_order_items']} order items from {path}"
    )
    return summary


def alerts_log_path() -> Path:
    """Return the alerts log path: ``FLOE_DEMO_ALERTS_LOG``, else ``alerts.log`` beside the warehouse file."""
    value = os.environ.get(ALERTS_LOG_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else warehouse_path().parent / "alerts.log"


def _first_tag(tags: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((tags[name] for name in names if tags.get(name)), None)


def notify_failure(context: OpExecutionContext) -> dict[str, Any]:
    """Log a failure notice and append it as one JSON line to the alerts log.

    The failed run is described by this run's tags (``floe/failed_run_id``, ``floe/failed_job``,
    ``floe/failure_message``, as a run-status sensor sets them); missing ones are reported as unknown.

    Args:
        context: The op's execution context: its run's tags describe the failure.

    Returns:
        The notice written: ``at``, ``alert_run_id``, ``failed_run_id``, ``failed_job``, ``message``, ``sensor``
        and ``alerts_log``.
    """
    tags = dict(context.run.tags)
    notice: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "alert_run_id": context.run_id,
        "failed_run_id": _first_tag(tags, FAILED_RUN_ID_TAGS) or "unknown",
        "failed_job": _first_tag(tags, FAILED_JOB_TAGS) or "unknown",
        "message": _first_tag(tags, FAILURE_MESSAGE_TAGS) or "",
        "sensor": tags.get(SENSOR_TAG),
    }
    log_path = alerts_log_path()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(notice, sort_keys=True) + "\n")
    context.log.warning(
        f"ALERT: run {notice['failed_run_id']} of job {notice['failed_job']} failed"
        + (f": {notice['message']}" if notice["message"] else "")
        + f" (written to {log_path})"
    )
    return {**notice, "alerts_log": str(log_path)}
