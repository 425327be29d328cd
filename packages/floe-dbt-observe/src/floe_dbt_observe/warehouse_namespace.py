"""OpenLineage dataset namespaces for dbt adapters (OpenLineage naming spec).

DuckDB has no entry in the spec; floe names it by its database file, ``duckdb:///abs/path.duckdb``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_dbt_observe import _compat

logger = logging.getLogger(__name__)


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


def profile_credentials(
    project_dir: Path,
    *,
    profiles_dir: Path | None,
    profile: str | None,
    target: str | None,
    cli_vars: Mapping[str, Any],
) -> object | None:
    """Return the credentials of the dbt profile a project runs with, or None if it cannot be read.

    Reads ``profiles.yml`` with dbt's own renderer (``env_var``, ``var``) but without dagster-dbt's
    in-process adapter (which also deserialises the whole partial-parse manifest). dbt's invocation
    context (environment for ``env_var``) is a context variable, so setting it here stays in this thread.
    """
    try:
        loaded = _compat.read_dbt_profile(
            str(project_dir),
            profiles_dir=str(profiles_dir or project_dir),
            profile=profile,
            target=target,
            cli_vars=dict(cli_vars),
        )
    except Exception:  # any profile problem: dbt itself reports it; lineage falls back to the manifest
        logger.debug("cannot read the dbt profile of %s", project_dir, exc_info=True)
        return None
    if loaded is None:
        return None
    credentials: object = loaded.credentials
    path = getattr(credentials, "path", None)
    if isinstance(path, str) and path not in ("", ":memory:") and not Path(path).is_absolute():
        # dbt runs from the project directory, so a relative DuckDB path is relative to it
        try:
            setattr(credentials, "path", str(project_dir / path))  # noqa: B010 - a dbt Credentials field
        except Exception:
            logger.debug("cannot absolutise the DuckDB path %s", path, exc_info=True)
    return credentials
