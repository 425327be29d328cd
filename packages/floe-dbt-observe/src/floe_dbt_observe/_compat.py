"""Every private Dagster, dagster-dbt and dbt API floe-dbt-observe uses, each behind a probe.

Nothing else in the package imports ``dagster._…`` or reaches into a private attribute. Each capability has a
probe; when a probe fails (an upgrade moved the internal, or ``FLOE_COMPAT_DISABLE`` names it), floe takes the
public, slower path and logs one WARNING per process naming the capability and that path. No probe changes the
shape of what users see: asset keys, definitions, op names and step keys are the same on both paths.

Capabilities:

- ``output_keys_cache``: cache ``StepExecutionContext.get_output_asset_keys()`` for a step
  (``output_keys_cache.py``; the upstream report is ``UPSTREAM.md``).
- ``dbt_adapter_skip``: ``DbtCliResource._initialize_dbt_core_adapter`` returns None and ``_cli_version`` is
  preset, so no in-process adapter and no ``dbt --version`` subprocess per step (``dbt_resource.py``).
- ``dbt_profile``: read the dbt profile's credentials with ``dbt.config`` for the lineage dataset namespace
  (``warehouse_namespace.py``).
- ``dbt_connection``: open a connection with the dbt adapter's own connection manager (no adapter instance, no
  macros, no manifest) to read warehouse columns on adapters other than DuckDB (``warehouse_columns.py``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("floe_dbt_observe")

DISABLE_ENV = "FLOE_COMPAT_DISABLE"
"""Comma-separated capability names whose probe fails on purpose (tests; a user working around an upgrade)."""


@dataclass(frozen=True)
class Capability:
    """One use of a private API: its name and what floe does without it."""

    name: str
    slower_path: str


OUTPUT_KEYS_CACHE = Capability(
    "output_keys_cache",
    "Dagster's own per-output bookkeeping, whose cost grows about as N^2 in a step's outputs; "
    "set max_assets_per_definition (e.g. 400) to keep steps small",
)
DBT_ADAPTER_SKIP = Capability(
    "dbt_adapter_skip",
    "dagster-dbt's plain DbtCliResource, which runs `dbt --version` and builds a dbt adapter before each step",
)
DBT_PROFILE = Capability(
    "dbt_profile",
    "lineage dataset namespaces from the manifest's adapter type and database instead of the profile's credentials",
)
DBT_CONNECTION = Capability(
    "dbt_connection",
    "the columns schema.yml declares for lineage schemas and column lineage on adapters other than DuckDB",
)
CAPABILITIES = (OUTPUT_KEYS_CACHE, DBT_ADAPTER_SKIP, DBT_PROFILE, DBT_CONNECTION)


def disabled(capability: Capability) -> bool:
    """Return whether ``FLOE_COMPAT_DISABLE`` turns the capability's probe off."""
    names = {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",")}
    return capability.name in names


@functools.cache
def warn_unavailable(capability: Capability) -> None:
    """Log, once per process and capability, that floe takes the slower public path."""
    logger.warning(
        "floe-dbt-observe: %s is unavailable on this Dagster/dbt (or disabled by %s); using %s",
        capability.name,
        DISABLE_ENV,
        capability.slower_path,
    )


def _unavailable(capability: Capability) -> bool:
    warn_unavailable(capability)
    return False


# --- output_keys_cache -------------------------------------------------------------------------------------------

OUTPUT_KEYS_METHOD = "get_output_asset_keys"


def output_keys_cache_available() -> bool:
    """Probe: does this Dagster have the step-context internals ``output_keys_cache`` relies on?"""
    if disabled(OUTPUT_KEYS_CACHE):
        return _unavailable(OUTPUT_KEYS_CACHE)
    try:
        from dagster._core.execution.context.op_execution_context import OpExecutionContext
        from dagster._core.execution.context.system import StepExecutionContext
    except ImportError:
        return _unavailable(OUTPUT_KEYS_CACHE)
    slots = getattr(OpExecutionContext, "__slots__", ())
    if callable(getattr(StepExecutionContext, OUTPUT_KEYS_METHOD, None)) and "_step_execution_context" in slots:
        return True
    return _unavailable(OUTPUT_KEYS_CACHE)


def step_execution_context(context: Any) -> Any | None:
    """Return Dagster's private step context behind an asset/op context, or None when the probe fails."""
    if not output_keys_cache_available():
        return None
    op_context = getattr(context, "op_execution_context", context)
    step_context = getattr(op_context, "_step_execution_context", None)
    method = getattr(type(step_context), OUTPUT_KEYS_METHOD, None) if step_context is not None else None
    if method is None or not callable(method) or not hasattr(step_context, "__dict__"):
        return None
    return step_context


# --- dbt_adapter_skip --------------------------------------------------------------------------------------------

ADAPTER_METHOD = "_initialize_dbt_core_adapter"
CLI_VERSION_ATTRIBUTE = "_cli_version"


def dbt_adapter_skip_available() -> bool:
    """Probe: does dagster-dbt's ``DbtCliResource`` still initialise its adapter and version where floe expects?"""
    if disabled(DBT_ADAPTER_SKIP):
        return _unavailable(DBT_ADAPTER_SKIP)
    from dagster_dbt import DbtCliResource

    if callable(getattr(DbtCliResource, ADAPTER_METHOD, None)) and hasattr(DbtCliResource, CLI_VERSION_ATTRIBUTE):
        return True
    return _unavailable(DBT_ADAPTER_SKIP)


def preset_cli_version(resource: Any, cli_version: Any) -> None:
    """Preset dagster-dbt's cached dbt version on ``resource`` so it runs no ``dbt --version`` subprocess."""
    resource.__dict__[CLI_VERSION_ATTRIBUTE] = cli_version


# --- dbt_profile -------------------------------------------------------------------------------------------------


def read_dbt_profile(
    project_dir: str, *, profiles_dir: str, profile: str | None, target: str | None, cli_vars: dict[str, Any]
) -> Any | None:
    """Return the dbt ``Profile`` a project runs with, read with dbt's own renderer; None when the probe fails.

    Raises:
        Exception: Whatever dbt raises for an unreadable profile (the caller falls back).
    """
    if disabled(DBT_PROFILE):
        warn_unavailable(DBT_PROFILE)
        return None
    try:
        from argparse import Namespace

        from dbt.config.profile import Profile, read_profile
        from dbt.config.project import load_raw_project
        from dbt.config.renderer import ProfileRenderer
        from dbt.flags import get_flags, set_from_args
        from dbt_common.context import set_invocation_context
    except ImportError:
        warn_unavailable(DBT_PROFILE)
        return None
    if not hasattr(get_flags(), "LOG_CACHE_EVENTS"):  # type: ignore[no-untyped-call]
        # dbt's profile reads process-wide flags; dagster-dbt sets the same ones before each step
        set_from_args(Namespace(profiles_dir=profiles_dir), None)
    set_invocation_context(os.environ.copy())
    renderer = ProfileRenderer(cli_vars)
    raw_name = profile or load_raw_project(project_dir).get("profile")
    profile_name = renderer.render_value(raw_name)
    raw_profiles = read_profile(profiles_dir)
    return Profile.from_raw_profiles(raw_profiles, profile_name, renderer, target_override=target)


# --- dbt_connection ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def dbt_connection(adapter_type: str, credentials: Any) -> Iterator[Any | None]:
    """Open a DB-API connection to the warehouse with the dbt adapter's own connection manager, closed on exit.

    The adapter plugin's ``ConnectionManager.open`` is what dbt itself calls for every node: the same driver,
    credentials, retries and session settings, without building an adapter (its macros and manifest).

    Yields:
        The driver's connection (``psycopg2`` for Postgres and Redshift, ...), or None when the probe fails.

    Raises:
        Exception: Whatever the driver raises when it cannot connect (the caller falls back).
    """
    opened = None
    manager: Any = None
    if disabled(DBT_CONNECTION):
        warn_unavailable(DBT_CONNECTION)
    else:
        try:
            from dbt.adapters.contracts.connection import Connection, Identifier
            from dbt.adapters.factory import FACTORY
        except ImportError:
            warn_unavailable(DBT_CONNECTION)
        else:
            FACTORY.load_plugin(adapter_type)  # already loaded by the profile read; idempotent
            manager = getattr(FACTORY.get_adapter_class_by_name(adapter_type), "ConnectionManager", None)
            if manager is None or not callable(getattr(manager, "open", None)):
                warn_unavailable(DBT_CONNECTION)
                manager = None
            else:
                connection = Connection(
                    type=Identifier(adapter_type), name="floe_warehouse_columns", credentials=credentials
                )
                opened = manager.open(connection)
    try:
        yield opened.handle if opened is not None else None
    finally:
        if opened is not None:
            try:
                manager.close(opened)
            except Exception:  # closing a read-only connection must never fail the lineage
                logger.debug("cannot close the warehouse connection", exc_info=True)
