"""Counting the database connections SQLAlchemy opens, to see how many separate writes a storage makes."""

from __future__ import annotations

from typing import Any

import sqlalchemy


class ConnectionCounter:
    """Counts the database connections opened (SQLAlchemy's pool ``connect`` event) while it is active.

    Dagster's storages open a connection per write (no pool), so this counts their separate writes; floe's keep
    theirs, so it counts the connections they had to open.
    """

    def __init__(self) -> None:
        self.connections = 0

    def _count(self, _dbapi_connection: Any, _record: Any) -> None:
        self.connections += 1

    def __enter__(self) -> ConnectionCounter:
        sqlalchemy.event.listen(sqlalchemy.pool.Pool, "connect", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        sqlalchemy.event.remove(sqlalchemy.pool.Pool, "connect", self._count)
