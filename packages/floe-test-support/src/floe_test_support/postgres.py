"""Fresh databases on the PostgreSQL server ``FLOE_TEST_POSTGRES_URL`` names (``.ci/postgres.sh`` starts one).

Every test that needs PostgreSQL gets a database of its own, named ``<prefix>_<random>``: no state from earlier
runs. :class:`PostgresDatabase` gives the connection details in the forms tests hand on (a dbt profile's fields, a
SQLAlchemy URL with the psycopg2 driver named).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from floe_test_support.ci_servers import ci_server

POSTGRES_URL_ENV = "FLOE_TEST_POSTGRES_URL"
SKIP_REASON = (
    f"{POSTGRES_URL_ENV} is not set, so there is no PostgreSQL to test on "
    '(`eval "$(.ci/postgres.sh)"` starts a throwaway server and exports it; .ci/run does)'
)


@dataclass(frozen=True)
class PostgresDatabase:
    """One database on a PostgreSQL server."""

    host: str
    port: int
    user: str
    password: str
    name: str
    location: str
    """The server URL's network location as written there (``user:password@host:port``)."""

    @property
    def sqlalchemy_url(self) -> str:
        """The database's URL for SQLAlchemy, with the psycopg2 driver named.

        SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which dagster-postgres does not install (it
        brings psycopg2-binary).
        """
        return f"postgresql+psycopg2://{self.location}/{self.name}"


@dataclass(frozen=True)
class PostgresServer:
    """A reachable PostgreSQL server (``url`` names its maintenance database)."""

    url: str

    def create_database(self, prefix: str) -> PostgresDatabase:
        """Create a fresh database named ``<prefix>_<random>`` and return it."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self._execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(self.url)
        return PostgresDatabase(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or "",
            name=name,
            location=parts.netloc,
        )

    def drop_database(self, database: PostgresDatabase) -> None:
        """Drop ``database``, closing the connections still open on it."""
        self._execute(f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')

    @contextlib.contextmanager
    def fresh_database(self, prefix: str) -> Iterator[PostgresDatabase]:
        """Create a fresh database for the block; drop it afterwards."""
        database = self.create_database(prefix)
        try:
            yield database
        finally:
            self.drop_database(database)

    def _execute(self, statement: str) -> None:
        import psycopg2  # brought by dbt-postgres and dagster-postgres, in the test groups that use this module

        connection: Any = psycopg2.connect(self.url)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()


def configured_server(variable: str = POSTGRES_URL_ENV) -> PostgresServer | None:
    """Return the server ``variable`` names, or None when it is unset."""
    url = os.environ.get(variable)
    return PostgresServer(url) if url else None


@contextlib.contextmanager
def configured_or_throwaway_url() -> Iterator[str]:
    """Yield ``FLOE_TEST_POSTGRES_URL``, else the URL of a throwaway server from ``.ci/postgres.sh`` (stopped after).

    Raises:
        RuntimeError: Neither is possible.
    """
    configured = os.environ.get(POSTGRES_URL_ENV)
    if configured:
        yield configured
        return
    with ci_server("postgres.sh", POSTGRES_URL_ENV, "FLOE_TEST_POSTGRES_DATA") as url:
        yield url


def postgres_url_overrides(home: str | os.PathLike[str], url: str) -> dict[str, Any]:
    """Overrides of ``home``'s ``dagster.yaml`` putting ``url`` wherever it names a Postgres URL.

    A rendered ``dagster.yaml`` names the URL by variable (``{env: NAME}``) in each storage entry; a test that does
    not export the variable opens the instance with these (Dagster replaces top-level entries whole).
    """
    import yaml

    config = yaml.safe_load((Path(home) / "dagster.yaml").read_text(encoding="utf-8")) or {}
    overrides: dict[str, Any] = {}
    for key, entry in config.items():
        if not isinstance(entry, dict):
            continue
        settings = entry.get("config") if "module" in entry else entry.get("postgres")
        if isinstance(settings, dict) and "postgres_url" in settings:
            replaced = {**settings, "postgres_url": url}
            overrides[key] = {**entry, "config": replaced} if "module" in entry else {**entry, "postgres": replaced}
    return overrides
