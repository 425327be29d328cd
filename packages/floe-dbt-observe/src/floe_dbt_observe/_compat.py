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
  (``warehouse_namespace.py``), and the project's name, version and profile for the ``dbt_run`` facet.
- ``dbt_connection``: open a connection with the dbt adapter's own connection manager (no adapter instance, no
  macros, no manifest) to read warehouse columns on adapters other than DuckDB (``warehouse_columns.py``).
- ``dbt_in_process``: run dbt with ``dbtRunner`` in the step's process (``dbt_invocation="in_process"``,
  ``dbt_in_process.py``): dagster-dbt's own helpers build the same dbt arguments ``DbtCliResource.cli`` would
  (subsetting, selectors, unique target path), dagster-dbt's ``DbtCoreCliEventMessage`` wraps each event, and on an
  interrupt CPython's ``PyThreadState_SetAsyncExc`` raises ``KeyboardInterrupt`` in dbt's thread (dbt's own
  cancellation path) while the registered adapter's ``cancel_open_connections`` stops the running queries. Without
  it, dbt runs as a subprocess, as with ``dbt_invocation="subprocess"``. dbt's ``msg_to_dict`` (``dbt_common``) turns
  each event into its JSON log line's dict (:func:`dbt_event_dict`).
- ``dbt_specs``: dagster-dbt's ``asset_utils.build_dbt_specs`` turns the manifest and selection into asset and check
  specs without building an assets definition, and its ``DAGSTER_DBT_UNIQUE_ID_METADATA_KEY`` /
  ``DAGSTER_DBT_SELECT_METADATA_KEY`` / ``DAGSTER_DBT_EXCLUDE_METADATA_KEY`` name the metadata and op tags dagster-dbt
  reads back (``assets.py``). Without it, the specs are read from an assets definition built by dagster-dbt's public
  ``@dbt_assets`` for the same manifest, selection and translator (the same specs, one definition built more), and
  the keys are their documented values.
- ``dbt_secret_scrub``: dbt's ``dbt_common.exceptions.env_secrets`` / ``scrub_secrets`` hide the values of
  ``DBT_ENV_SECRET*`` variables in the in-process event stream, as dbt hides them in its log lines. Without them,
  floe applies the same documented rule itself (each non-blank value of a ``DBT_ENV_SECRET*`` variable becomes
  ``*****``).
- ``dbt_spans``: dbt-core 1.12's tracer (``dbt.clients.jinja._TRACER`` and ``GraphRunnableTask.dbt_tracer``, both
  taken from the global provider) is wrapped by ``dbt_trace.ContextTracer``, so dbt's spans go to the step's provider
  without floe registering it globally, and dbt's node spans hang under floe's. Without it, dbt's spans (when
  asked for) go to the global provider under dbt's invocation span.
- ``dbt_query_comment``: dbt's ``MacroQueryStringSetter._get_comment_macro`` gives floe's query comment (dbt's
  default plus ``traceparent``) where the project keeps dbt's default. Without it, queries carry dbt's own comment.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The same probe machinery as floe-config's ``floe_config.probes``, which floe-config, floe-loaders and
# floe-definitions share: floe-dbt-observe depends on no floe package (it is usable alone), so it keeps these few
# lines itself. Keep the two alike (the WARNING's words are the same).
logger = logging.getLogger("floe_dbt_observe")
PACKAGE = "floe-dbt-observe"
"""The package a WARNING names."""
PROBED = "Dagster/dbt"
"""What the probes look at, for the WARNING."""

DISABLE_ENV = "FLOE_COMPAT_DISABLE"
"""Comma-separated capability names whose probe fails on purpose (tests; a user working around an upgrade)."""


@dataclass(frozen=True)
class Capability:
    """One use of a private API: its name and what floe does without it."""

    name: str
    slower_path: str


def disabled(capability: Capability) -> bool:
    """Return whether ``FLOE_COMPAT_DISABLE`` turns the capability's probe off."""
    return capability.name in {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",")}


@functools.cache
def warn_unavailable(capability: Capability) -> None:
    """Log, once per process and capability, that floe takes the slower public path."""
    logger.warning(
        "%s: %s is unavailable on this %s (or disabled by %s); using %s",
        PACKAGE,
        capability.name,
        PROBED,
        DISABLE_ENV,
        capability.slower_path,
    )


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
    "lineage dataset namespaces from the manifest's adapter type and database instead of the profile's credentials, "
    "and dbt_run facets without the project's version and profile name",
)
DBT_CONNECTION = Capability(
    "dbt_connection",
    "the columns schema.yml declares for lineage schemas and column lineage on adapters other than DuckDB",
)
DBT_IN_PROCESS = Capability(
    "dbt_in_process",
    "dbt as a subprocess (dagster-dbt's DbtCliResource.cli), as with dbt_invocation='subprocess'",
)
DBT_SPANS = Capability(
    "dbt_spans",
    "dbt's own spans through the global tracer provider, under dbt's invocation span (not under floe's node spans)",
)
DBT_QUERY_COMMENT = Capability("dbt_query_comment", "dbt's own query comment, without a traceparent")
DBT_SPECS = Capability(
    "dbt_specs",
    "specs read from an assets definition built by dagster-dbt's public @dbt_assets (the same specs, built once more)",
)
DBT_SECRET_SCRUB = Capability(
    "dbt_secret_scrub",
    "floe's own scrubbing of DBT_ENV_SECRET* values from in-process dbt events (dbt's documented rule)",
)
CAPABILITIES = (
    OUTPUT_KEYS_CACHE,
    DBT_ADAPTER_SKIP,
    DBT_PROFILE,
    DBT_CONNECTION,
    DBT_IN_PROCESS,
    DBT_SPANS,
    DBT_QUERY_COMMENT,
    DBT_SPECS,
    DBT_SECRET_SCRUB,
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
    if not _dbt_profile_available("dbt.config.profile", "dbt.flags"):
        return None
    from argparse import Namespace

    from dbt.config.profile import Profile, read_profile
    from dbt.config.project import load_raw_project
    from dbt.flags import get_flags, set_flags, set_from_args

    flags = get_flags()  # type: ignore[no-untyped-call]
    if not hasattr(flags, "LOG_CACHE_EVENTS"):
        # dbt's profile reads process-wide flags; dagster-dbt sets the same ones before each step
        set_from_args(Namespace(profiles_dir=profiles_dir), None)
    elif getattr(flags, "PROFILES_DIR", None) != profiles_dir:
        # set, but not for this profile: dagster-dbt's manifest selection (every code-location load) sets flags
        # without PROFILES_DIR, and a profile reading `flags.PROFILES_DIR` then rendered "None/..." (a path that
        # does not exist). A copy with only PROFILES_DIR changed: whoever set the other flags keeps them.
        updated = copy.copy(flags)
        object.__setattr__(updated, "PROFILES_DIR", profiles_dir)  # dbt's own Flags object refuses setattr
        set_flags(updated)  # type: ignore[no-untyped-call]
    renderer = _profile_renderer(cli_vars)
    raw_name = profile or load_raw_project(project_dir).get("profile")
    profile_name = renderer.render_value(raw_name)
    raw_profiles = read_profile(profiles_dir)
    return Profile.from_raw_profiles(raw_profiles, profile_name, renderer, target_override=target)


def read_dbt_project(project_dir: str, *, profile: str | None, cli_vars: dict[str, Any]) -> dict[str, str] | None:
    """Return ``name``, ``version`` and ``profile`` of a project's ``dbt_project.yml``, rendered as dbt renders them.

    ``profile`` overrides the project's (dbt's ``--profile``). Keys whose value is missing are left out; None when
    the probe fails.

    Raises:
        Exception: Whatever dbt raises for an unreadable project (the caller goes without).
    """
    if not _dbt_profile_available():
        return None
    from dbt.config.project import load_raw_project

    renderer = _profile_renderer(cli_vars)
    raw = load_raw_project(project_dir)
    values = {"name": raw.get("name"), "version": raw.get("version"), "profile": profile or raw.get("profile")}
    return {key: str(renderer.render_value(value)) for key, value in values.items() if value not in (None, "")}


def _dbt_profile_available(*more_modules: str) -> bool:
    """Probe: is ``dbt_profile`` enabled, and do dbt's project and renderer modules (and ``more_modules``) import?"""
    if disabled(DBT_PROFILE):
        return _unavailable(DBT_PROFILE)
    try:
        for module in ("dbt.config.project", "dbt.config.renderer", "dbt_common.context", *more_modules):
            importlib.import_module(module)
    except ImportError:
        return _unavailable(DBT_PROFILE)
    return True


def _profile_renderer(cli_vars: dict[str, Any]) -> Any:
    """Return dbt's renderer of profile and project values, with dbt's invocation context set to this process's env."""
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ.copy())
    return ProfileRenderer(cli_vars)


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


# --- dbt_in_process ----------------------------------------------------------------------------------------------

UNIQUE_TARGET_PATH_METHOD = "_get_unique_target_path"


def dbt_in_process_available() -> bool:
    """Probe: can dbt run in this process with the arguments, events and cancellation ``dbt_in_process`` uses?"""
    if disabled(DBT_IN_PROCESS):
        return _unavailable(DBT_IN_PROCESS)
    try:
        import ctypes

        from dagster_dbt import DbtCliResource
        from dagster_dbt.asset_utils import (
            extract_runtime_selection_from_args,
            get_updated_cli_invocation_params_for_context,
        )
        from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
        from dbt.adapters.factory import get_adapter_by_type
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import msg_to_dict
    except ImportError:
        return _unavailable(DBT_IN_PROCESS)
    needed = (
        extract_runtime_selection_from_args,
        get_updated_cli_invocation_params_for_context,
        DbtCoreCliEventMessage,
        get_adapter_by_type,
        dbtRunner,
        msg_to_dict,
        getattr(DbtCliResource, UNIQUE_TARGET_PATH_METHOD, None),
        getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None),
    )
    if all(callable(item) for item in needed):
        return True
    return _unavailable(DBT_IN_PROCESS)


@dataclass(frozen=True)
class DbtCliPlan:
    """What ``DbtCliResource.cli(args, context=...)`` would run, without running it.

    Attributes:
        args: dbt's arguments (no executable), with every setting dagster-dbt passes through the environment
            written as a flag instead (the process's environment is left alone).
        project_dir: The project directory dbt runs in (a temporary copy when dagster-dbt generated a selector).
        target_path: The invocation's own absolute target path.
        manifest: The manifest of the step's assets definition.
        translator: The step's ``DagsterDbtTranslator``.
        project: dagster-dbt's ``DbtProject`` of the assets definition, if any.
    """

    args: tuple[str, ...]
    project_dir: Path
    target_path: Path
    manifest: Mapping[str, Any]
    translator: Any
    project: Any | None


def dbt_cli_plan(resource: Any, args: Sequence[str], context: Any) -> DbtCliPlan:
    """Return the dbt command ``resource.cli(args, context=context)`` would start, built by dagster-dbt's helpers."""
    from dagster_dbt.asset_utils import (
        extract_runtime_selection_from_args,
        get_updated_cli_invocation_params_for_context,
    )
    from dagster_dbt.dagster_dbt_translator import DagsterDbtTranslator

    cleaned, runtime_selects, runtime_excludes = extract_runtime_selection_from_args(args)
    params = get_updated_cli_invocation_params_for_context(
        context=context,
        manifest={},
        dagster_dbt_translator=DagsterDbtTranslator(),
        runtime_selects=runtime_selects,
        runtime_excludes=runtime_excludes,
    )
    project_dir = Path(params.dbt_project.project_dir if params.dbt_project else resource.project_dir).absolute()
    target_path = Path(getattr(resource, UNIQUE_TARGET_PATH_METHOD)(context=context))
    if not target_path.is_absolute():
        target_path = project_dir / target_path
    flags: list[str] = ["--project-dir", str(project_dir), "--target-path", str(target_path)]
    flags += ["--log-path", str(target_path), "--no-send-anonymous-usage-stats"]
    if resource.profiles_dir:
        flags += ["--profiles-dir", str(resource.profiles_dir)]
    if params.indirect_selection:
        flags += ["--indirect-selection", str(params.indirect_selection)]
    if resource.profile:
        flags += ["--profile", resource.profile]
    if resource.target:
        flags += ["--target", resource.target]
    return DbtCliPlan(
        args=(*resource.global_config_flags, *cleaned, *flags, *params.selection_args),
        project_dir=project_dir,
        target_path=target_path,
        manifest=params.manifest,
        translator=params.dagster_dbt_translator,
        project=params.dbt_project,
    )


def core_event_message(raw_event: dict[str, Any], event_history_metadata: dict[str, Any]) -> Any:
    """Wrap one raw dbt event (the dict of a JSON log line) as dagster-dbt's ``DbtCoreCliEventMessage``."""
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

    return DbtCoreCliEventMessage(raw_event=raw_event, event_history_metadata=event_history_metadata)


def raise_in_thread(thread_id: int, exception: type[BaseException]) -> bool:
    """Raise ``exception`` in another thread at its next Python instruction; False when the thread is gone."""
    import ctypes

    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    found = int(set_async_exc(ctypes.c_ulong(thread_id), ctypes.py_object(exception)))
    if found > 1:  # CPython's documented recovery: revert when more than one thread state matched
        set_async_exc(ctypes.c_ulong(thread_id), None)
        return False
    return found == 1


def cancel_dbt_queries(adapter_type: str) -> None:
    """Cancel the queries dbt's registered adapter of ``adapter_type`` is running (what dbt does on Ctrl-C)."""
    from dbt.adapters.factory import get_adapter_by_type

    try:
        adapter = get_adapter_by_type(adapter_type)  # type: ignore[no-untyped-call]
        if adapter.is_cancelable():
            adapter.cancel_open_connections()
    except Exception:  # not registered (yet, or any more), or no connection open: nothing to cancel
        logger.debug("floe-dbt-observe: no dbt query to cancel", exc_info=True)


def release_dbt_adapter(adapter_type: str) -> None:
    """Close what dbt's adapter keeps open after an invocation, as the adapter does at process exit.

    dbt-duckdb keeps its database in a class-level environment that outlives the invocation's connections (a
    process running dbt as a subprocess never notices: the process exits); in the step's process that would keep
    the DuckDB file locked against any other connection with another configuration (e.g. read-only).
    """
    from dbt.adapters.factory import get_adapter_by_type

    try:
        adapter = get_adapter_by_type(adapter_type)  # type: ignore[no-untyped-call]
        manager = getattr(adapter, "ConnectionManager", None) or type(adapter.connections)
        environment = getattr(manager, "_ENV", None)
        if environment is not None and callable(getattr(environment, "close", None)):
            environment.close()
        close_all = getattr(manager, "close_all_connections", None)
        if callable(close_all):
            close_all()
    except Exception:  # not registered, or nothing held: nothing to release
        logger.debug("floe-dbt-observe: no dbt adapter resources to release", exc_info=True)


# --- dbt_spans and dbt_query_comment -------------------------------------------------------------------------------


def install_dbt_span_hooks() -> bool:
    """Route dbt's tracer through ``dbt_trace.ContextTracer`` (once per process); False when the probe fails."""
    if disabled(DBT_SPANS):
        return _unavailable(DBT_SPANS)
    return _install_dbt_span_hooks()


@functools.cache
def _install_dbt_span_hooks() -> bool:
    try:
        from dbt.clients import jinja
        from dbt.task.runnable import GraphRunnableTask
    except ImportError:
        return _unavailable(DBT_SPANS)
    from opentelemetry.trace import Tracer

    from floe_dbt_observe.dbt_trace import ContextTracer, dbt_core_version

    fallback = getattr(jinja, "_TRACER", None)
    if not isinstance(fallback, Tracer) or not callable(getattr(GraphRunnableTask, "_node_span", None)):
        return _unavailable(DBT_SPANS)
    dbt_version = str(dbt_core_version() or "")
    if not isinstance(fallback, ContextTracer):
        jinja._TRACER = ContextTracer(fallback, dbt_version)
    original_init = GraphRunnableTask.__init__

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        own = getattr(self, "dbt_tracer", None)
        if isinstance(own, Tracer) and not isinstance(own, ContextTracer):
            self.dbt_tracer = ContextTracer(own, dbt_version)

    GraphRunnableTask.__init__ = init  # type: ignore[method-assign]
    return True


def install_query_comment_hook() -> bool:
    """Give dbt floe's query comment where a step asks for it (once per process); False when the probe fails."""
    if disabled(DBT_QUERY_COMMENT):
        return _unavailable(DBT_QUERY_COMMENT)
    return _install_query_comment_hook()


@functools.cache
def _install_query_comment_hook() -> bool:
    try:
        from dbt.adapters.base.query_headers import MacroQueryStringSetter
        from dbt.adapters.contracts.connection import DEFAULT_QUERY_COMMENT
    except ImportError:
        return _unavailable(DBT_QUERY_COMMENT)
    original = getattr(MacroQueryStringSetter, "_get_comment_macro", None)
    if not callable(original):
        return _unavailable(DBT_QUERY_COMMENT)
    from floe_dbt_observe.dbt_trace import current_settings, query_comment_template

    def comment_macro(self: Any) -> str | None:
        comment: str | None = original(self)
        settings = current_settings()
        if settings is None or not settings.query_comment:
            return comment
        if not isinstance(comment, str) or comment.strip() != DEFAULT_QUERY_COMMENT.strip():
            return comment  # the project's own query-comment (or none): kept as the project wrote it
        return query_comment_template(settings)

    MacroQueryStringSetter._get_comment_macro = comment_macro  # type: ignore[method-assign]
    return True


def dbt_event_dict(message: Any) -> dict[str, Any]:
    """Return a dbt ``EventMsg`` as the dict of its JSON log line (dbt's own ``msg_to_dict``).

    Only called where :func:`dbt_in_process_available` passed (it probes ``msg_to_dict``).
    """
    from dbt_common.events.functions import msg_to_dict

    event: dict[str, Any] = msg_to_dict(message)
    return event


# --- dbt_specs ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbtMetadataKeys:
    """The metadata key and op tags dagster-dbt reads back from the definitions it runs."""

    unique_id: str = "dagster_dbt/unique_id"
    select: str = "dagster_dbt/select"
    exclude: str = "dagster_dbt/exclude"


def _asset_utils() -> Any | None:
    """dagster-dbt's ``asset_utils`` when it has what ``dbt_specs`` uses, else None (and one warning)."""
    if disabled(DBT_SPECS):
        _unavailable(DBT_SPECS)
        return None
    try:
        from dagster_dbt import asset_utils
    except ImportError:
        _unavailable(DBT_SPECS)
        return None
    keys = ("DAGSTER_DBT_UNIQUE_ID_METADATA_KEY", "DAGSTER_DBT_SELECT_METADATA_KEY", "DAGSTER_DBT_EXCLUDE_METADATA_KEY")
    if callable(getattr(asset_utils, "build_dbt_specs", None)) and all(
        isinstance(getattr(asset_utils, key, None), str) for key in keys
    ):
        return asset_utils
    _unavailable(DBT_SPECS)
    return None


def dbt_metadata_keys() -> DbtMetadataKeys:
    """Return dagster-dbt's metadata keys: its own constants, or their documented values when the probe fails."""
    asset_utils = _asset_utils()
    if asset_utils is None:
        return DbtMetadataKeys()
    return DbtMetadataKeys(
        unique_id=asset_utils.DAGSTER_DBT_UNIQUE_ID_METADATA_KEY,
        select=asset_utils.DAGSTER_DBT_SELECT_METADATA_KEY,
        exclude=asset_utils.DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    )


def dbt_specs(
    *, translator: Any, manifest: Mapping[str, Any], select: str, exclude: str
) -> tuple[Sequence[Any], Sequence[Any]]:
    """Return the asset specs and asset check specs dagster-dbt makes of ``manifest``'s selected nodes."""
    asset_utils = _asset_utils()
    if asset_utils is not None:
        specs, check_specs = asset_utils.build_dbt_specs(
            translator=translator,
            manifest=manifest,
            select=select,
            exclude=exclude,
            selector="",
            io_manager_key=None,
            project=None,
        )
        return specs, check_specs
    from dagster_dbt import dbt_assets

    @dbt_assets(manifest=manifest, select=select, exclude=exclude, dagster_dbt_translator=translator)
    def _specs_only(context):  # type: ignore[no-untyped-def]  # never executed: only its specs are read
        return None

    return list(_specs_only.specs), list(_specs_only.check_specs)


# --- dbt_secret_scrub --------------------------------------------------------------------------------------------

DBT_SECRET_PREFIX = "DBT_ENV_SECRET"
"""dbt's documented prefix of variables whose values it hides in its logs."""
SCRUBBED = "*****"


def dbt_env_secrets() -> list[str]:
    """Return the secret values dbt hides in its logs (non-blank values of ``DBT_ENV_SECRET*`` variables)."""
    if not disabled(DBT_SECRET_SCRUB):
        try:
            from dbt_common.exceptions import env_secrets
        except ImportError:
            pass
        else:
            return list(env_secrets())
    warn_unavailable(DBT_SECRET_SCRUB)
    return [value for key, value in os.environ.items() if key.startswith(DBT_SECRET_PREFIX) and value.strip()]


def scrub_dbt_secrets(text: str, secrets: Sequence[str]) -> str:
    """Return ``text`` with every secret replaced by ``*****``, as dbt scrubs its log lines."""
    if not disabled(DBT_SECRET_SCRUB):
        try:
            from dbt_common.exceptions import scrub_secrets
        except ImportError:
            warn_unavailable(DBT_SECRET_SCRUB)
        else:
            return str(scrub_secrets(text, list(secrets)))
    for secret in secrets:
        text = text.replace(secret, SCRUBBED)
    return text
