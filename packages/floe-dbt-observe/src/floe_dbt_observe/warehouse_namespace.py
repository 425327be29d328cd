"""OpenLineage dataset namespaces for dbt adapters (OpenLineage naming spec).

DuckDB has no entry in the spec; floe names it by its database file, ``duckdb:///abs/path.duckdb``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def namespace_from_credentials(adapter_type: str, credentials: object) -> str | None:
    """Return the dataset namespace for an adapter's credentials, None when unknown."""

    def get(name: str) -> Any:
        return getattr(credentials, name, None)

    if adapter_type == "duckdb":
        path = get("path")
        if not path or str(path) == ":memory:":
            return "duckdb://memory"
        return "duckdb://" + Path(os.fspath(path)).absolute().as_posix()
    if adapter_type in ("postgres", "redshift"):
        host, port = get("host"), get("port") or (5432 if adapter_type == "postgres" else 5439)
        return f"{adapter_type}://{host}:{port}" if host else None
    if adapter_type == "snowflake":
        account = get("account")
        return f"snowflake://{account}" if account else None
    if adapter_type == "bigquery":
        return "bigquery"
    if adapter_type in ("trino", "athena", "sqlserver", "databricks", "spark", "clickhouse"):
        host = get("host") or get("server")
        port = get("port")
        if host:
            return f"{adapter_type}://{host}:{port}" if port else f"{adapter_type}://{host}"
    return None


def fallback_namespace(manifest: Mapping[str, Any]) -> str:
    """Return ``<adapter>://<database>`` from the manifest when credentials are not available."""
    adapter_type = str(manifest.get("metadata", {}).get("adapter_type") or "dbt")
    for node in manifest.get("nodes", {}).values():
        database = node.get("database")
        if database:
            return f"{adapter_type}://{database}"
    return f"{adapter_type}://default"
