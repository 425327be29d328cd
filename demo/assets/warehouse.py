"""Locate and open the demo's DuckDB warehouse file.

The path comes from ``FLOE_DEMO_WAREHOUSE`` (absolute), else ``demo/.floe/warehouse.duckdb``. dbt reads the same
variable in ``demo/dbt/profiles.yml``, whose default is anchored on the profiles directory (``demo/dbt``) and so
names the same file, whatever the current directory.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

WAREHOUSE_ENV = "FLOE_DEMO_WAREHOUSE"
"""Environment variable holding the absolute path of the warehouse file."""

DEMO_DIR = Path(__file__).resolve().parents[1]
"""The ``demo/`` directory."""

DEFAULT_WAREHOUSE = DEMO_DIR / ".floe" / "warehouse.duckdb"
"""The warehouse used when ``FLOE_DEMO_WAREHOUSE`` is unset."""

_LOCK_RETRY_SECONDS = 60.0
_LOCK_RETRY_INTERVAL = 0.2


def warehouse_path() -> Path:
    """Return the warehouse file path from ``FLOE_DEMO_WAREHOUSE``, else ``demo/.floe/warehouse.duckdb``.

    Returns:
        The absolute path of the DuckDB file (it may not exist yet).

    Raises:
        ValueError: If ``FLOE_DEMO_WAREHOUSE`` is a relative path. Python would resolve it against the current
            directory but dbt against ``demo/dbt``, so the two would silently use different files.
    """
    value = os.environ.get(WAREHOUSE_ENV, "").strip()
    if not value:
        return DEFAULT_WAREHOUSE
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise ValueError(
            f"{WAREHOUSE_ENV}={value!r} is relative; set it to an absolute path "
            f"(dbt resolves relative paths against demo/dbt, Python against the current directory)"
        )
    return path


def connect(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse for writing, waiting while another process holds DuckDB's file lock.

    DuckDB allows one writing process per file; Dagster's multiprocess executor runs bronze steps in parallel
    processes, so a step that finds the file locked retries for up to a minute instead of failing.

    Args:
        path: The DuckDB file; defaults to :func:`warehouse_path`.

    Returns:
        An open connection; close it (or use it as a context manager) when done.

    Raises:
        duckdb.IOException: If the file cannot be opened, or is still locked after a minute.
    """
    target = path or warehouse_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + _LOCK_RETRY_SECONDS
    while True:
        try:
            return duckdb.connect(str(target))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(_LOCK_RETRY_INTERVAL)
