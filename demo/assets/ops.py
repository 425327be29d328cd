"""Maintenance and alerting functions for the demo's ``ops`` jobs.

Plain functions, no Dagster decorators: floe wraps each in a one-op job (``type: ops`` with ``target_function``
in ``floe.yaml``) and passes the job's ``args`` as keyword arguments. ``vacuum`` trims old raw partitions;
``notify_failure`` records a failed run, typically launched by a run-status sensor.

No ``from __future__ import annotations`` here: Dagster checks a ``context`` annotation against the real class.
"""

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from dagster import OpExecutionContext

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


def _delete_before(con: duckdb.DuckDBPyConnection, qualified_name: str, cutoff: date) -> int:
    """Delete the rows of ``qualified_name`` whose ``order_date`` is before ``cutoff``; return how many."""
    if not _table_exists(con, qualified_name):
        return 0
    deleted = con.execute(f"DELETE FROM {qualified_name} WHERE order_date < ?", [cutoff]).fetchone()
    return int(deleted[0]) if deleted is not None else 0


def vacuum(context: OpExecutionContext, retention_days: int = 30) -> dict[str, Any]:
    """Delete raw order partitions older than ``retention_days`` before the latest one, then compact the file.

    A partition is kept when ``latest - order_date <= retention_days``: ``retention_days=0`` keeps only the latest
    day. Orders and their items are deleted in one transaction, then ``CHECKPOINT`` reclaims space and ``ANALYZE``
    refreshes the statistics.

    Args:
        context: The op's execution context (for logging).
        retention_days: Days of history to keep before the latest partition (YAML may pass it as a string).

    Returns:
        A summary: ``warehouse``, ``retention_days``, ``latest_partition`` and ``cutoff`` (ISO dates or None when
        there are no orders), and ``deleted_orders`` / ``deleted_order_items`` row counts.

    Raises:
        ValueError: If ``retention_days`` is negative or not an integer.
    """
    retention = int(retention_days)
    if retention < 0:
        raise ValueError(f"retention_days must be 0 or more, got {retention_days!r}")
    path = warehouse_path()
    summary: dict[str, Any] = {
        "warehouse": str(path),
        "retention_days": retention,
        "latest_partition": None,
        "cutoff": None,
        "deleted_orders": 0,
        "deleted_order_items": 0,
    }
    with connect(path) as con:
        if _table_exists(con, RAW_ORDERS.qualified_name):
            latest_row = con.execute(f"SELECT max(order_date) FROM {RAW_ORDERS.qualified_name}").fetchone()
            latest = latest_row[0] if latest_row is not None else None
            if isinstance(latest, date):
                cutoff = latest - timedelta(days=retention)
                con.begin()
                summary["deleted_order_items"] = _delete_before(con, RAW_ORDER_ITEMS.qualified_name, cutoff)
                summary["deleted_orders"] = _delete_before(con, RAW_ORDERS.qualified_name, cutoff)
                con.commit()
                summary["latest_partition"] = latest.isoformat()
                summary["cutoff"] = cutoff.isoformat()
        con.execute("CHECKPOINT")
        con.execute("ANALYZE")
    context.log.info(
        f"vacuum: kept partitions from {summary['cutoff']} to {summary['latest_partition']}; deleted "
        f"{summary['deleted_orders']} orders and {summary['deleted_order_items']} order items from {path}"
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
