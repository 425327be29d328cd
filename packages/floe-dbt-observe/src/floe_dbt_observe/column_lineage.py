"""Column lineage of a compiled dbt model, computed with sqlglot against the parents' columns.

For each output column, sqlglot's lineage walk finds the parent relation columns it reads and how (OpenLineage's
transformation types: DIRECT IDENTITY / TRANSFORMATION / AGGREGATION, INDIRECT CONDITIONAL, masking for hashes).
Columns read by joins, filters, group by and order by affect the whole dataset (INDIRECT, dataset level).
Parent columns come from the warehouse when it was read this run, else from the manifest, so ``select *`` chains
resolve whatever schema.yml documents.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp, parse_one
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

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

_HASH_FUNCTIONS = (exp.MD5, exp.SHA, exp.SHA2)
_HASH_NAMES = frozenset({"md5", "sha1", "sha256", "sha512", "sha2", "hash", "md5_binary", "sha2_binary"})
# OpenLineage subtype ranking: a column reached through several paths keeps its strongest relation
_RANK = {"IDENTITY": 0, "TRANSFORMATION": 1, "AGGREGATION": 2}


@dataclass(frozen=True, order=True)
class SourceColumn:
    """One parent column an output column (or the whole dataset) depends on, and how.

    Attributes:
        relation: Parent relation key (``database.schema.identifier``, lower case).
        column: Parent column (lower case).
        type: ``DIRECT`` or ``INDIRECT``.
        subtype: ``IDENTITY``, ``TRANSFORMATION``, ``AGGREGATION`` (DIRECT); ``CONDITIONAL``, ``JOIN``,
            ``FILTER``, ``GROUP_BY``, ``SORT`` (INDIRECT).
        masking: Whether the transformation masks the data (a hash).
    """

    relation: str
    column: str
    type: str = "DIRECT"
    subtype: str = "IDENTITY"
    masking: bool = False


@dataclass
class ColumnLineage:
    """Column lineage of one model.

    Attributes:
        fields: Output column (lower case) -> the parent columns it derives from.
        dataset: Parent columns that affect the whole dataset (joins, filters, group by, order by).
        error: Why the SQL could not be analysed, None when it was.
    """

    fields: dict[str, list[SourceColumn]] = field(default_factory=dict)
    dataset: list[SourceColumn] = field(default_factory=list)
    error: str | None = None


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
) -> ColumnLineage:
    """Return, for each output column of ``sql``, the parent columns it derives from, and the dataset-level ones.

    Args:
        sql: The compiled SQL of the model.
        dialect: sqlglot dialect.
        parent_columns: relation key -> {column: type} for each parent whose columns are known.
        parent_parts: relation key -> (database, schema, identifier) for every parent.

    Returns:
        The lineage; ``error`` says why there is none when sqlglot cannot analyse the SQL.
    """
    from sqlglot.schema import MappingSchema

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
            return ColumnLineage(error=f"not a query ({type(parsed).__name__})")
        qualified = qualify(parsed, schema=schema, dialect=dialect, validate_qualify_columns=False)
        if not isinstance(qualified, exp.Query):
            return ColumnLineage(error="sqlglot could not qualify the query")
        output_columns = [name for name in qualified.named_selects if name and name != "*"]
        # parsed and qualified once for all columns: sqlglot's lineage() would redo both per column
        scope = build_scope(qualified)
    except (SqlglotError, RecursionError, ValueError) as exc:
        return ColumnLineage(error=f"{type(exc).__name__}: {exc}".strip())
    if scope is None:
        return ColumnLineage(error="sqlglot found no query scope")
    if not output_columns or any(isinstance(s, exp.Star) for s in qualified.selects):
        return ColumnLineage(error="a `select *` could not be expanded: a parent's columns are unknown")
    result = ColumnLineage()
    for column in output_columns:
        try:
            root = lineage(column, qualified, schema=schema, dialect=dialect, scope=scope, **_NO_COPY)
        except (SqlglotError, KeyError, ValueError, RecursionError, AttributeError) as exc:
            result.error = f"column {column}: {type(exc).__name__}: {exc}"
            continue
        sources: dict[tuple[str, str], SourceColumn] = {}
        for path in _paths(root):
            found = _source_of(path, parent_parts)
            if found is None:
                continue
            previous = sources.get((found.relation, found.column))
            if previous is None or _stronger(found, previous):
                sources[(found.relation, found.column)] = found
        if sources:
            result.fields[column.lower()] = sorted(sources.values())
    if not result.fields and result.error is None:
        unknown = sorted(key for key in parent_parts if not parent_columns.get(key))
        result.error = "no output column traces to a parent column" + (
            f" (columns unknown for {', '.join(unknown)})" if unknown else ""
        )
    result.dataset = sorted(_dataset_sources(scope, parent_parts))
    return result


def _paths(root: Node) -> Iterable[list[Node]]:
    stack: list[list[Node]] = [[root]]
    while stack:
        path = stack.pop()
        node = path[-1]
        if not node.downstream:
            yield path
            continue
        if len(path) > 64:  # a cycle would be a sqlglot bug: never loop on it
            continue
        stack.extend([*path, child] for child in node.downstream)


def _source_of(path: list[Node], parent_parts: Mapping[str, Any]) -> SourceColumn | None:
    leaf = path[-1]
    table = leaf.expression.find(exp.Table) if isinstance(leaf.expression, exp.Expression) else None
    if table is None:
        return None
    key = _match_parent(relation_key(table.catalog or None, table.db or None, table.name or None), parent_parts)
    if key is None:
        return None
    column = leaf.name.split(".")[-1].strip('"').lower()
    if not column or column == "*":
        return None
    projections = [node.expression for node in path[:-1] if isinstance(node.expression, exp.Expression)]
    masking = any(_is_hash(e) for p in projections for e in p.walk() if isinstance(e, exp.Expression))
    if _only_in_conditions(path):
        return SourceColumn(key, column, "INDIRECT", "CONDITIONAL", masking)
    if any(p.find(exp.AggFunc) is not None for p in projections):
        subtype = "AGGREGATION"
    elif all(isinstance(p.unalias() if isinstance(p, exp.Alias) else p, exp.Column) for p in projections):
        subtype = "IDENTITY"
    else:
        subtype = "TRANSFORMATION"
    return SourceColumn(key, column, "DIRECT", subtype, masking)


def _only_in_conditions(path: list[Node]) -> bool:
    """Whether, at some step, the child column is read only by CASE / IF conditions of its parent's projection."""
    for parent, child in itertools.pairwise(path):
        if not isinstance(parent.expression, exp.Expression):
            continue
        name = child.name.split(".")[-1].strip('"').lower()
        uses = [c for c in parent.expression.find_all(exp.Column) if c.name.lower() == name]
        if uses and all(_in_condition(c) for c in uses):
            return True
    return False


def _in_condition(column: exp.Column) -> bool:
    node: Any = column
    while node is not None and node.parent is not None:
        parent = node.parent
        if isinstance(parent, exp.If) and parent.args.get("this") is node:
            return True
        node = parent
    return False


def _is_hash(node: exp.Expression) -> bool:
    if isinstance(node, _HASH_FUNCTIONS):
        return True
    return isinstance(node, exp.Anonymous) and str(node.name).lower() in _HASH_NAMES


def _stronger(new: SourceColumn, old: SourceColumn) -> bool:
    if new.type != old.type:
        return new.type == "DIRECT"
    return _RANK.get(new.subtype, 0) > _RANK.get(old.subtype, 0) or (new.masking and not old.masking)


def _dataset_sources(root: Scope, parent_parts: Mapping[str, Any]) -> set[SourceColumn]:
    """Return the parent columns read by joins, filters, group by and order by anywhere in the query."""
    found: set[SourceColumn] = set()
    for scope in root.traverse():
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        clauses: list[tuple[str, exp.Expression | None]] = [
            ("FILTER", select.args.get("where")),
            ("FILTER", select.args.get("having")),
            ("GROUP_BY", select.args.get("group")),
            ("SORT", select.args.get("order")),
        ]
        clauses += [("JOIN", join.args.get("on")) for join in select.args.get("joins") or []]
        for subtype, clause in clauses:
            if clause is None:
                continue
            for column in clause.find_all(exp.Column):
                for key, name in _resolve(scope, column, parent_parts, depth=0):
                    found.add(SourceColumn(key, name, "INDIRECT", subtype))
    return found


def _resolve(scope: Scope, column: exp.Column, parent_parts: Mapping[str, Any], depth: int) -> set[tuple[str, str]]:
    """Follow a column through CTEs and subqueries down to the parent relation columns it reads."""
    if depth > 32:
        return set()
    source = scope.sources.get(column.table) if column.table else None
    if source is None and len(scope.sources) == 1:
        source = next(iter(scope.sources.values()))
    name = column.name.lower()
    if isinstance(source, exp.Table):
        key = _match_parent(relation_key(source.catalog or None, source.db or None, source.name or None), parent_parts)
        return {(key, name)} if key is not None and name and name != "*" else set()
    if isinstance(source, Scope) and isinstance(source.expression, exp.Select):
        result: set[tuple[str, str]] = set()
        for projection in source.expression.selects:
            if projection.alias_or_name.lower() != name:
                continue
            for inner in projection.find_all(exp.Column):
                result |= _resolve(source, inner, parent_parts, depth + 1)
        return result
    return set()


def _match_parent(key: str, parent_parts: Mapping[str, Any]) -> str | None:
    if key in parent_parts:
        return key
    # a reference written without its database (``schema.table``) still names one parent
    candidates = [parent for parent in parent_parts if parent.endswith("." + key) or parent == key]
    return candidates[0] if len(candidates) == 1 else None
