"""OpenLineage dataset namespaces for dbt adapters, equal to dbt-ol's (OpenLineage's dbt integration).

Where OpenLineage's own naming helpers (``openlineage.client.naming``: in openlineage-python 1.36, not in 1.33)
cover an adapter and agree with dbt-ol (Postgres, Trino, BigQuery, Athena, Snowflake's ``org-account`` form), the
namespace comes from them; elsewhere, and on an older openlineage-python, from the same formulas written here. Where
the helpers and dbt-ol differ (Redshift: the helper wants a cluster id and region, dbt-ol uses the endpoint host;
SQL Server: ``sqlserver://`` against dbt-ol's ``mssql://``; Snowflake's legacy account locators), dbt-ol's name is
kept, so both tools' lineage of a table joins. DuckDB has no entry in the naming spec; floe names it as dbt-ol does,
``duckdb://<the profile's path as written>``: ``duckdb:///abs/path.duckdb`` for an absolute path, and
``duckdb://shop.duckdb`` for a relative one (so two projects whose profiles both say ``path: shop.duckdb`` share a
namespace: give each an absolute path, or ``env_var(...)`` one, to keep them apart).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from floe_dbt_observe import _compat
from floe_dbt_observe.manifest import manifest_adapter_type

logger = logging.getLogger(__name__)

_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")  # md:, ducklake:, s3:// (two letters at least: not C:)


def namespace_from_credentials(adapter_type: str, credentials: object) -> str | None:
    """Return the dataset namespace for an adapter's credentials, None when unknown.

    Each namespace is the one OpenLineage's own dbt integration (dbt-ol) gives the same profile, so both tools'
    lineage for a table joins; DuckDB's is its path as the profile writes it (relative or absolute), as dbt-ol's.
    """

    def get(name: str) -> Any:
        return getattr(credentials, name, None)

    from_spec = spec_namespace(adapter_type, credentials)
    if from_spec is not None:
        return from_spec
    host, port = get("host"), get("port")
    if adapter_type == "duckdb":
        return f"duckdb://{get('path') or ':memory:'}"  # dbt-duckdb's default path is :memory:
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


def naming_helpers() -> ModuleType | None:
    """Return ``openlineage.client.naming.dataset`` (in openlineage-python 1.36, not in 1.33), None on an older one."""
    try:
        from openlineage.client.naming import dataset
    except ImportError:
        return None
    return dataset


def spec_namespace(adapter_type: str, credentials: object) -> str | None:
    """Return the namespace ``openlineage.client.naming`` gives an adapter's credentials, None where it does not apply.

    Only the adapters whose helper agrees with dbt-ol are asked (see the module docstring). A helper wants the
    whole dataset identity, but its namespace depends only on the connection (host and port, region, account), so
    the parts not known here are given as ``_``.
    """
    naming = naming_helpers()
    if naming is None:
        return None

    def get(name: str) -> str:
        value = getattr(credentials, name, None)
        return str(value) if value not in (None, "") else ""

    def part(name: str) -> str:  # a dataset-name part the namespace does not depend on
        return get(name) or "_"

    host, port = get("host"), get("port")
    helper: Any = None
    if adapter_type == "postgres" and host and port:
        helper = naming.Postgres(host=host, port=port, database=part("database"), schema=part("schema"), table="_")
    elif adapter_type == "trino" and host and port:
        helper = naming.Trino(host=host, port=port, catalog=part("database"), schema=part("schema"), table="_")
    elif adapter_type == "bigquery":
        helper = naming.BigQuery(project_id=part("database"), dataset_name=part("schema"), table_name="_")
    elif adapter_type == "athena" and get("region_name"):
        helper = naming.Athena(
            region_name=get("region_name"), catalog=part("database"), database=part("schema"), table="_"
        )
    elif adapter_type == "snowflake" and "-" in get("account").split(".")[0]:
        organization, _, account = get("account").split(".")[0].partition("-")
        if organization and account:
            helper = naming.Snowflake(
                organization_name=organization,
                account_name=account,
                database=part("database"),
                schema=part("schema"),
                table="_",
            )
    return str(helper.get_namespace()) if helper is not None else None


def snowflake_account(account: str) -> str:
    """Return a Snowflake account as OpenLineage names it: ``org-account``, or ``locator.region.cloud``."""
    parts = account.split(".")
    if "-" in parts[0] or len(parts) >= 3:
        return parts[0] if "-" in parts[0] else account
    if len(parts) == 1:
        return f"{parts[0]}.us-west-1.aws"
    return f"{parts[0]}.{parts[1]}.aws"


UNKNOWN_ADAPTER_SCHEME = "dbt"
"""The namespace scheme of a manifest naming no adapter (a URI needs one; only a hand-built manifest lacks it)."""


def fallback_namespace(manifest: Mapping[str, Any]) -> str:
    """Return ``<adapter>://<database>`` from the manifest when credentials are not available."""
    scheme = manifest_adapter_type(manifest) or UNKNOWN_ADAPTER_SCHEME
    for node in manifest.get("nodes", {}).values():
        database = node.get("database")
        if database:
            return f"{scheme}://{database}"
    return f"{scheme}://default"


def credentials_namespace(manifest: Mapping[str, Any], credentials: object | None) -> str:
    """Return the namespace the profile's credentials give (dbt-ol's), or the manifest's fallback without them."""
    found = (
        namespace_from_credentials(manifest_adapter_type(manifest), credentials) if credentials is not None else None
    )
    return found or fallback_namespace(manifest)


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
    credentials: object = loaded.credentials  # as the profile writes them: a DuckDB path stays relative
    return credentials


def dataset_namespace(
    project_dir: Path,
    manifest: Mapping[str, Any],
    *,
    profiles_dir: Path | None,
    profile: str | None,
    target: str | None,
    cli_vars: Mapping[str, Any] | None = None,
) -> str:
    """Return the OpenLineage namespace of a dbt project's warehouse, as dbt-ol names it from the same profile.

    For siblings (floe-definitions names a Python asset's warehouse tables with it, so they join the dbt models):
    the profile's namespace (:func:`namespace_from_credentials`), else ``<adapter>://<database>`` from the
    manifest when the profile cannot be read or the adapter is unknown.

    Args:
        project_dir: The dbt project directory.
        manifest: The project's parsed manifest (its adapter type, and the fallback's database).
        profiles_dir: Where ``profiles.yml`` is (None: the project directory).
        profile: The profile name (None: the project's).
        target: The target (None: the profile's default).
        cli_vars: dbt ``--vars`` the profile may read.
    """
    credentials = profile_credentials(
        project_dir, profiles_dir=profiles_dir, profile=profile, target=target, cli_vars=cli_vars or {}
    )
    return credentials_namespace(manifest, credentials)


def duckdb_file(path: object, project_dir: Path) -> Path | None:
    """Return the DuckDB file a profile's ``path`` names, resolved as dbt does (against the project directory).

    None for an in-memory database (``:memory:``, empty) or a URL (MotherDuck ``md:``, ``ducklake:``).
    """
    text = os.fspath(path) if isinstance(path, str | os.PathLike) else ""
    if not text or text == ":memory:" or _URL_SCHEME.match(text):
        return None
    candidate = Path(text).expanduser()
    return candidate if candidate.is_absolute() else project_dir / candidate
