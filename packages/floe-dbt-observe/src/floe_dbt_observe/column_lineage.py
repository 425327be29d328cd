"""Column lineage of a compiled dbt model, computed with sqlglot from manifest schemas only.

For each output column, sqlglot's lineage walk finds the parent relation columns it reads.
Parent schemas come from the manifest (declared columns), so no warehouse query is made; columns
reached through an unexpandable ``select *`` are left out rather than guessed.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any

from sqlglot import exp, parse_one
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope
from sqlglot.schema import MappingSchema

logger = logging.getLogger(__name__)

_DIALECTS: Mapping[str, str] = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "spark": "spark",
    "trino": "trino",
    "athena": "athena",
    "sqlserver": "tsql",
    "clickhouse": "clickhouse",
}

# with a prebuilt scope, lineage() only uses the expression to look up sources: copying it is waste
_NO_COPY: Mapping[str, Any] = {"copy": False} if "copy" in inspect.signature(lineage).parameters else {}

ColumnSources = dict[str, list[tuple[str, str]]]
"""Output column -> list of (parent relation key, parent column)."""


def sqlglot_dialect(adapter_type: str) -> str | None:
    """Return the sqlglot dialect for a dbt adapter type, None if unknown."""
    return _DIALECTS.get(adapter_type)


def relation_key(database: str | None, schema: str | None, identifier: str | None) -> str:
    """Return a case-insensitive ``database.schema.identifier`` key."""
    return ".".join(part.lower() for part in (database, schema, identifier) if part)


def compute_column_lineage(
    sql: str,
    dialect: str,
    parent_columns: Mapping[str, Mapping[str, str]],
    parent_parts: Mapping[str, tuple[str, str, str]],
) -> ColumnSources:
    """Return, for each output column of ``sql``, the parent columns it derives from.

    Args:
        sql: The compiled SQL of the model.
        dialect: sqlglot dialect.
        parent_columns: relation key -> {column: type} for each parent whose columns are known.
        parent_parts: relation key -> (database, schema, identifier) for every parent.

    Returns:
        Output column (lower case) -> sorted list of (parent relation key, column).
    """
    schema = MappingSchema(dialect=dialect)
    for key, columns in parent_columns.items():
        if not columns or key not in parent_parts:
            continue
        database, db_schema, identifier = parent_parts[key]
        schema.add_table(
            exp.table_(identifier, db=db_schema, catalog=database, quoted=False),
            {name: (type_ or "TEXT") for name, type_ in columns.items()},
            dialect=dialect,
        )
    try:
        parsed = parse_one(sql, dialect=dialect)
        if not isinstance(parsed, exp.Query):
            return {}
        qualified = qualify(parsed, schema=schema, dialect=dialect, validate_qualify_columns=False)
        assert isinstance(qualified, exp.Query)
        output_columns = [name for name in qualified.named_selects if name and name != "*"]
        # parsed and qualified once for all columns: sqlglot's lineage() would redo both per column
        scope = build_scope(qualified)
    except (SqlglotError, AssertionError, RecursionError, ValueError) as exc:
        logger.debug("column lineage: cannot parse model SQL: %s", exc)
        return {}
    if scope is None:
        return {}
    result: ColumnSources = {}
    for column in output_columns:
        sources: set[tuple[str, str]] = set()
        try:
            root = lineage(column, qualified, schema=schema, dialect=dialect, scope=scope, **_NO_COPY)
            for node in root.walk():
                if node.downstream:
                    continue
                table = node.expression.find(exp.Table) if isinstance(node.expression, exp.Expression) else None
                if table is None:
                    continue
                key = relation_key(table.catalog or None, table.db or None, table.name or None)
                match = _match_parent(key, parent_parts)
                if match is None:
                    continue
                parent_column = node.name.split(".")[-1].strip('"').lower()
                if parent_column and parent_column != "*":
                    sources.add((match, parent_column))
        except (SqlglotError, KeyError, ValueError, RecursionError, AttributeError) as exc:
            logger.debug("column lineage: column %s: %s", column, exc)
            continue
        if sources:
            result[column.lower()] = sorted(sources)
    return result


def _match_parent(key: str, parent_parts: Mapping[str, Any]) -> str | None:
    if key in parent_parts:
        return key
    # a reference written without its database (``schema.table``) still names one parent
    candidates = [parent for parent in parent_parts if parent.endswith("." + key) or parent == key]
    return candidates[0] if len(candidates) == 1 else None
