"""OpenLineage dataset namespaces for dbt adapters, equal to dbt-ol's (OpenLineage's dbt integration).

DuckDB has no entry in the naming spec; floe names it by its database file, ``duckdb:///abs/path.duckdb``, as dbt-ol
does when the profile's path is absolute (dbt-ol keeps a relative path as written, so same-named files collide).
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
    """Return the dataset namespace for an adapter's credentials, None when unknown.

    Each namespace is the one OpenLineage's own dbt integration (dbt-ol) gives the same profile, so both tools'
    lineage for a table joins; DuckDB's path is made absolute (dbt-ol keeps it as written), so two files with the
    same name in different folders never share a namespace.
    """

    def get(name: str) -> Any:
        return getattr(credentials, name, None)

    host, port = get("host"), get("port")
    if adapter_type == "duckdb":
        path = get("path")
        if not path or str(path) == ":memory:":
            return "duckdb://memory"
        return "duckdb://" + Path(os.fspath(path)).absolute().as_posix()
    if adapter_type in ("postgres", "redshift", "clickhouse", "trino"):
        return f"{adapter_type}://{host}:{port}" if host and port else None
    if adapter_type == "snowflake":
        account = get("account")
        return f"snowflake://{snowflake_account(str(account))}" if account else None
    if adapter_type == "bigquery":
        return "bigquery"
    if adapter_type == "databricks":
        return f"databricks://{host}" if host else None
    if adapter_type == "sqlserver":
        server = get("server") or host
        return f"mssql://{server}:{port}" if server and port else None
    if adapter_type == "athena":
        region = get("region_name")
        return f"awsathena://athena.{region}.amazonaws.com" if region else None
    if adapter_type == "spark" and host:
        method = str(getattr(get("method"), "value", get("method")) or "")
        default_port = {"http": ":443", "odbc": ":443", "thrift": ":10001"}.get(method, "")
        return f"spark://{host}{f':{port}' if port else default_port}"
    return None


def snowflake_account(account: str) -> str:
    """Return a Snowflake account as OpenLineage names it: ``org-account``, or ``locator.region.cloud``."""
    parts = account.split(".")
    if "-" in parts[0] or len(parts) >= 3:
        return parts[0] if "-" in parts[0] else account
    if len(parts) == 1:
        return f"{parts[0]}.us-west-1.aws"
    return f"{parts[0]}.{parts[1]}.aws"


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
