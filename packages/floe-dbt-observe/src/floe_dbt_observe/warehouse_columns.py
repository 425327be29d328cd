"""Read the columns and types of the relations a dbt run built, from the warehouse, in one query per run.

dbt's manifest knows only the columns schema.yml declares; the warehouse knows them all, typed. floe reads them
once the dbt process has exited (DuckDB allows no second connection while dbt holds its write lock), with one
``information_schema.columns`` query for every relation the run built and every parent they read. Measured on the
jaffle-shaped fixture (8 relations, loaded machine): 278 ms median with the connection, against 14.9 s to build
dagster-dbt's in-process adapter before its per-relation lookups (296 ms for the 8); see bench/README.md,
"Warehouse columns", and docs/design.md, "Column lineage and warehouse truth".

DuckDB is read with the ``duckdb`` module, read-only. Every other adapter whose databases carry an
``information_schema.columns`` view (Postgres, Redshift, Snowflake, Trino, Databricks, SQL Server) is read through
a connection opened by the dbt adapter's own connection manager (``_compat.dbt_connection``: dbt's driver and
credentials, no adapter instance, no macros), one query per database the relations live in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from floe_dbt_observe import _compat
from floe_dbt_observe.column_lineage import relation_key
from floe_dbt_observe.warehouse_namespace import duckdb_file

logger = logging.getLogger(__name__)

Relation = tuple[str, str, str]
"""(database, schema, identifier) as the manifest names it."""

ColumnsReader = Callable[[Iterable[Relation]], dict[str, dict[str, str]]]
"""Reads relation key -> {column (lower case): warehouse type} for the given relations, in column order."""


INFORMATION_SCHEMA_ADAPTERS = frozenset({"postgres", "redshift", "snowflake", "trino", "databricks", "sqlserver"})
"""Adapters whose ``<database>.information_schema.columns`` floe reads through dbt's connection manager."""

_SIMPLE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def columns_reader(
    adapter_type: str, credentials: object | None, *, project_dir: Path | None = None
) -> ColumnsReader | None:
    """Return a reader of warehouse columns for an adapter's credentials, None when floe cannot read that adapter.

    Args:
        adapter_type: The dbt adapter (``duckdb``, ``postgres`` ...).
        credentials: The dbt profile's credentials, as the profile writes them.
        project_dir: The dbt project directory, against which dbt resolves a relative DuckDB path (None: the
            current directory).
    """
    if credentials is None:
        return None
    if adapter_type in INFORMATION_SCHEMA_ADAPTERS:

        def read_generic(relations: Iterable[Relation]) -> dict[str, dict[str, str]]:
            return read_adapter_columns(adapter_type, credentials, relations)

        return read_generic
    if adapter_type != "duckdb":
        return None
    database_path = duckdb_file(getattr(credentials, "path", None), project_dir or Path.cwd())
    if database_path is None:
        return None

    def read(relations: Iterable[Relation]) -> dict[str, dict[str, str]]:
        return read_duckdb_columns(database_path, relations)

    return read


def read_duckdb_columns(path: Path, relations: Iterable[Relation]) -> dict[str, dict[str, str]]:
    """Return the columns of ``relations`` in the DuckDB file at ``path``, with one information_schema query.

    Args:
        path: The DuckDB database file dbt wrote.
        relations: The relations to read.

    Returns:
        relation key (``database.schema.identifier``, lower case) -> {column (lower case): type}; relations that
        do not exist are absent.
    """
    import duckdb  # dbt-duckdb's own dependency: present whenever the adapter is

    wanted = {relation_key(*relation) for relation in relations}
    names = sorted({key.rsplit(".", 1)[-1] for key in wanted})
    if not names:
        return {}
    found: dict[str, dict[str, str]] = {}
    connection = duckdb.connect(str(path), read_only=True)
    try:
        rows = connection.execute(
            "select table_catalog, table_schema, table_name, column_name, data_type"
            " from information_schema.columns where list_contains(?, lower(table_name))"
            " order by table_catalog, table_schema, table_name, ordinal_position",
            [names],
        ).fetchall()
    finally:
        connection.close()
    for catalog, schema, table, column, data_type in rows:
        key = relation_key(str(catalog), str(schema), str(table))
        if key in wanted:
            found.setdefault(key, {})[str(column).lower()] = str(data_type)
    return found


def read_adapter_columns(
    adapter_type: str, credentials: object, relations: Iterable[Relation]
) -> dict[str, dict[str, str]]:
    """Return the columns of ``relations``, read through the dbt adapter's connection, one query per database.

    Args:
        adapter_type: The dbt adapter (``postgres``, ``snowflake``, ...).
        credentials: The dbt profile's credentials for that adapter.
        relations: The relations to read.

    Returns:
        relation key (``database.schema.identifier``, lower case) -> {column (lower case): type}; relations that
        do not exist are absent, and so is everything when dbt's connection manager is unavailable.
    """
    by_database: dict[str, list[Relation]] = {}
    for relation in relations:
        by_database.setdefault(relation[0], []).append(relation)
    found: dict[str, dict[str, str]] = {}
    if not by_database:
        return found
    current = str(getattr(credentials, "database", None) or "").lower()
    with _compat.dbt_connection(adapter_type, credentials) as handle:
        if handle is None:
            return found
        cursor = handle.cursor()
        try:
            for database, group in by_database.items():
                # the connection's own database needs no prefix (Postgres and Redshift reach no other one)
                cursor.execute(information_schema_query(database, group, qualified=database.lower() != current))
                _collect(cursor.fetchall(), database, {relation_key(*relation) for relation in group}, found)
        finally:
            cursor.close()
    return found


def information_schema_query(database: str, relations: Iterable[Relation], *, qualified: bool = True) -> str:
    """Return the one ``information_schema.columns`` query reading ``relations`` of one database, in column order.

    Names are compared in lower case (Snowflake stores them upper case, Postgres lower) and inlined as escaped
    literals: DB-API drivers disagree on parameter markers (``%s``, ``?``, ``:1``).

    Args:
        database: The database (catalog) the relations live in.
        relations: The relations to read.
        qualified: Whether to read ``<database>.information_schema`` rather than the connection's own.
    """
    schemas = sorted({relation[1].lower() for relation in relations})
    tables = sorted({relation[2].lower() for relation in relations})
    source = "information_schema.columns"
    if database and qualified:
        quoted = database if _SIMPLE_IDENTIFIER.fullmatch(database) else '"' + database.replace('"', '""') + '"'
        source = f"{quoted}.{source}"
    return (
        "select table_schema, table_name, column_name, data_type"
        f" from {source}"
        f" where lower(table_schema) in ({_literals(schemas)}) and lower(table_name) in ({_literals(tables)})"
        " order by table_schema, table_name, ordinal_position"
    )


def _literals(values: Iterable[str]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def _collect(rows: Iterable[Any], database: str, wanted: set[str], found: dict[str, dict[str, str]]) -> None:
    for schema, table, column, data_type in rows:
        key = relation_key(database, str(schema), str(table))
        if key in wanted:
            found.setdefault(key, {})[str(column).lower()] = str(data_type)


def merged_schema(
    warehouse: Mapping[str, str] | None, declared: Mapping[str, Mapping[str, object]]
) -> list[tuple[str, str | None, str | None]]:
    """Return (name, type, description) fields: the warehouse's columns and types with schema.yml's descriptions.

    Without warehouse columns, the declared columns are all there is. A declared column the warehouse does not
    have is left out: schema.yml went stale, the table is the truth.
    """
    descriptions = {
        str(column.get("name") or name).lower(): (str(column.get("description")) if column.get("description") else None)
        for name, column in declared.items()
    }
    if warehouse:
        return [(name, type_ or None, descriptions.get(name)) for name, type_ in warehouse.items()]
    return [
        (
            str(column.get("name") or name),
            str(column.get("data_type")) if column.get("data_type") else None,
            descriptions.get(str(column.get("name") or name).lower()),
        )
        for name, column in declared.items()
    ]
