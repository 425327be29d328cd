"""Every private Dagster and OpenLineage API floe-definitions uses, in one place.

Nothing else in the package imports ``dagster._…``. Dagster's executor interface (``Executor.execute``) is
public, but the types of its arguments are not exported; they are imported here for annotations only, under
``TYPE_CHECKING``, so a Dagster that lacks one of them (``StepDependencyConfig`` is newer than Dagster 1.10)
still loads floe's code location.

Remaining private uses at run time, each with what happens without it:

- ``step_assets``: :func:`step_assets_def` maps a running step to its assets definition for the executor's spans
  and lineage through ``ExecutionPlan.get_step_by_key(...).node_handle`` and
  ``JobDefinition.asset_layer.get_assets_def_for_node`` (Dagster has no public step-to-asset lookup). Probe:
  :func:`step_lookup_available`; without it one WARNING says so and the step is matched by its top-level op name
  against the job's assets definitions (``FLOE_COMPAT_DISABLE=step_assets`` fails the probe on purpose). A step
  that matches nothing is reported without assets (its span and lineage run still exist, named by the step key).
  No graph shape depends on it.
- ``lineage_client``: ``OpenLineageClient._alias_env_vars`` is overridden so the client does not write
  ``OPENLINEAGE__*`` aliases into ``os.environ``. Probe: :func:`openlineage_alias_hook_available`; without the
  hook the client is the standard one (it may alias the variables) and one WARNING says so
  (``FLOE_COMPAT_DISABLE=openlineage_alias_hook`` fails the probe on purpose).
- ``asset_links``: :func:`with_wrapped_compute` rebuilds a Python asset definition around a wrapper of its
  compute function (``OpDefinition.dagster_internal_init``, ``DecoratedOpFunction``; Dagster has no public API
  for that), so its materializations carry floe's trace and lineage ids. Probe: any failure keeps the asset
  unchanged and one WARNING says its materializations lack those ids (``FLOE_COMPAT_DISABLE=asset_compute_wrapper``
  fails it on purpose); keys, op names and step keys never change.
- ``celery_step_loop``: :func:`celery_step_loop` returns dagster-celery's execution loop
  (``core_celery_execution_loop``) and its step submitter (``_submit_task``), which the executor of ``on_worker_lost:
  fail`` runs with a submitter of its own that watches each step's worker (dagster-celery exports neither). Probe:
  their signatures; without them the run uses dagster-celery's executor as it is, where a step whose worker is lost
  whole leaves its run waiting, and one WARNING says so (``FLOE_COMPAT_DISABLE=celery_step_loop``).
- ``celery_lost_step_event``: :func:`step_failure_or_retry_event` makes the ``STEP_FAILURE`` (or
  ``STEP_UP_FOR_RETRY``, under the op's retry policy) of a step lost with its Celery worker, as Dagster's
  multiprocess executor does for a crashed step process (``Executor.log_failure_or_retry_event_after_error``,
  ``SerializableErrorInfo``). Probe: any failure returns None; the step is then reported to
  dagster-celery's loop as an error naming the worker, the run fails with it, and the step gets no span or lineage
  run; one WARNING says so (``FLOE_COMPAT_DISABLE=celery_lost_step_event``).
- ``caller_frame``: :func:`caller_file` finds the module calling ``FloeDefinitions.from_floe_yaml()`` (its
  floe.yaml is looked for beside that module) with CPython's ``sys._getframe``. Probe: ``sys._getframe`` exists;
  without it (or with ``FLOE_COMPAT_DISABLE=caller_frame``) one WARNING says so and the frame is found with the
  standard library's ``inspect.currentframe()``, which returns None where the interpreter keeps no frames (then
  floe.yaml is looked for in the working directory, as documented).
- ``console_debug_format``: ``floe run`` keeps Dagster's DEBUG console lines of step processes off its console by
  matching Dagster's console line format (``asctime - dagster - DEBUG - <job> - ...``, made by
  ``dagster._utils.log.default_format_string`` and ``dagster._core.log_manager.construct_log_record_message``).
  Probe: :func:`dagster_debug_line_marker` formats a DEBUG record as Dagster does and checks the marker is in it;
  without it (or with ``FLOE_COMPAT_DISABLE=console_debug_format``) one WARNING says so and nothing is filtered:
  those DEBUG lines reach the console.
- ``warm_steps`` (Python's, not Dagster's): :func:`stop_forkserver` stops the multiprocessing fork server through
  ``multiprocessing.forkserver._forkserver._stop()`` when a later run in the same process needs another project or
  environment in its step server. Probe: the method exists; without it one WARNING says so and the running server
  stays (``FLOE_COMPAT_DISABLE=forkserver_restart``).
- ``shared_step_server`` (Python's): the warm run process (:mod:`floe_definitions.warm.server`) starts one step
  server for all the runs it forks; a forked run adopts it (:func:`adopt_forkserver`) by replacing, on
  ``multiprocessing.forkserver._forkserver``, the two methods that assume the server is the caller's own child
  (``ensure_running`` waits on its pid, ``_stop`` waits for it to exit and unlinks its socket) with ones that check
  it is alive and forget it. :func:`detach_forkserver` lets the warm process replace its server without waiting
  for the runs still using the old one. Probe: :func:`shared_forkserver_available` (those attributes exist);
  without it (or with ``FLOE_COMPAT_DISABLE=shared_step_server``) one WARNING says so and each warm run starts
  its own step server, as a cold run does.
- ``event_batch``: the event log storages floe's ``dagster.yaml`` names
  (:mod:`floe_definitions.instance.event_log`) subclass Dagster's ``SqliteEventLogStorage`` and dagster-postgres'
  ``PostgresEventLogStorage`` and write a batch (``EventLogStorage.store_event_batch``, which Dagster calls for a
  run's planned events when ``DAGSTER_EVENT_BATCH_SIZE`` is set) in one transaction per database: Dagster's own
  ``store_event`` runs for every event of the batch while the storage's ``_connect`` hands it the batch's open
  connection (SQLite: the per-run shard's and the index shard's, opened as Dagster's ``_connect`` opens them, under
  its ``_db_lock``). The instance the storage is registered with gets batched writes by answering its
  ``_get_event_batch_size`` (1,000; what ``DAGSTER_EVENT_BATCH_SIZE`` says when the environment sets it): no
  process-wide variable is written. Probe: :func:`event_batch_available` (those methods and attributes,
  ``_connect``'s parameters); without it one WARNING says so and the storage and the instance are Dagster's own
  (``FLOE_COMPAT_DISABLE=event_batch`` fails the probe on purpose).
- ``event_log_pool``: the same storages keep their database connections for the process (SQLite: one per shard
  for the last :data:`POOLED_SHARDS` shards, under Dagster's ``_db_lock``; PostgreSQL: a pool of one, as Dagster's
  webserver holds through ``optimize_for_webserver``) instead of Dagster's new engine and connection for every
  statement group; a forked child drops the inherited connections unclosed (``os.register_at_fork``). Probe:
  :func:`event_log_pool_available` (the ``event_batch`` internals, plus dagster-postgres'
  ``optimize_for_webserver``, whose ``_engine`` it replaces the same way);
  without it one WARNING says so and each event opens its own connection, as Dagster's storage does
  (``FLOE_COMPAT_DISABLE=event_log_pool``).
- Dagster's default storage modules (:data:`DEFAULT_INSTANCE_MODULES`): the warm process imports them, with the
  modules its instance's ``dagster.yaml`` names, before it loads, and its step server before it forks a step
  (:mod:`floe_definitions.warm.server`), so that no run or step imports them again when it opens the instance.
  Only imported, never called: a name a Dagster version lacks is skipped (DEBUG), and each step then imports its
  storage itself.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from dagster import AssetsDefinition, DagsterEvent, Executor, JobDefinition

from floe_config.integration import DISABLE_ENV, Capability, Probes

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph as AssetGraph
    from dagster._core.execution.context.system import PlanOrchestrationContext as PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan as ExecutionPlan
    from dagster._core.execution.plan.state import KnownExecutionState as KnownExecutionState
    from dagster._core.execution.plan.step import ExecutionStep as ExecutionStep
    from dagster._core.execution.retries import RetryMode as RetryMode
    from dagster._core.execution.step_dependency_config import StepDependencyConfig as StepDependencyConfig
    from dagster._core.launcher import CheckRunHealthResult as CheckRunHealthResult
    from dagster._core.launcher import LaunchRunContext as LaunchRunContext
    from dagster._core.launcher import RunLauncher as RunLauncher
    from dagster._core.launcher import WorkerStatus as WorkerStatus
    from dagster._serdes import ConfigurableClass as ConfigurableClass
    from dagster._serdes import ConfigurableClassData as ConfigurableClassData

logger = logging.getLogger("floe_definitions")
_PROBES = Probes("floe-definitions", "Dagster/OpenLineage", logger)
disabled = _PROBES.disabled
warn_unavailable = _PROBES.warn_unavailable


OPENLINEAGE_ALIAS_HOOK_CAPABILITY = Capability(
    "openlineage_alias_hook", "the standard OpenLineageClient (it may write OPENLINEAGE__* into os.environ)"
)
STEP_ASSETS = Capability(
    "step_assets", "assets matched by the step's op name (assets inside nested graphs go unreported)"
)
ASSET_COMPUTE_WRAPPER = Capability(
    "asset_compute_wrapper", "the unchanged asset (its materializations do not carry floe's trace and lineage ids)"
)
CELERY_STEP_LOOP = Capability(
    "celery_step_loop", "dagster-celery's executor as it is (a step whose worker is lost whole leaves its run waiting)"
)
CELERY_LOST_STEP_EVENT = Capability(
    "celery_lost_step_event",
    "a run failure naming the lost Celery worker, without the step's STEP_FAILURE (no span or lineage run for it)",
)
CALLER_FRAME = Capability(
    "caller_frame", "inspect.currentframe() (None where the interpreter keeps no frames: floe.yaml in the cwd)"
)
CONSOLE_DEBUG_FORMAT = Capability(
    "console_debug_format", "no filtering (Dagster's DEBUG lines from step processes reach floe run's console)"
)
FORKSERVER_RESTART = Capability(
    "forkserver_restart",
    "the running step server (later runs' steps get the environment and project it started with, and load theirs)",
)
SHARED_STEP_SERVER = Capability(
    "shared_step_server", "a step server per warm run (its first step waits for it to import and build the project)"
)
EVENT_BATCH = Capability(
    "event_batch",
    "Dagster's own store_event_batch (each planned event of a run written in transactions of its own)",
)
EVENT_LOG_POOL = Capability(
    "event_log_pool", "Dagster's own connections (a new database connection for every event written or read)"
)
CAPABILITIES = (
    OPENLINEAGE_ALIAS_HOOK_CAPABILITY,
    STEP_ASSETS,
    ASSET_COMPUTE_WRAPPER,
    CELERY_STEP_LOOP,
    CELERY_LOST_STEP_EVENT,
    CALLER_FRAME,
    CONSOLE_DEBUG_FORMAT,
    FORKSERVER_RESTART,
    SHARED_STEP_SERVER,
    EVENT_BATCH,
    EVENT_LOG_POOL,
)

OPENLINEAGE_ALIAS_HOOK = "_alias_env_vars"


def openlineage_alias_hook_available() -> bool:
    """Probe: does ``OpenLineageClient`` still alias ``OPENLINEAGE_*`` variables through the hook floe overrides?"""
    from openlineage.client import OpenLineageClient

    if not disabled(OPENLINEAGE_ALIAS_HOOK_CAPABILITY) and callable(
        getattr(OpenLineageClient, OPENLINEAGE_ALIAS_HOOK, None)
    ):
        return True
    warn_unavailable(OPENLINEAGE_ALIAS_HOOK_CAPABILITY)
    return False


def step_lookup_available() -> bool:
    """Probe: can a step key be mapped to its node and the node to its assets definition?"""
    from dagster import JobDefinition

    layer = getattr(JobDefinition, "asset_layer", None)
    plan_type = _execution_plan_type()
    if (
        not disabled(STEP_ASSETS)
        and plan_type is not None
        and callable(getattr(plan_type, "get_step_by_key", None))
        and isinstance(layer, property)
        and callable(getattr(_asset_layer_type(), "get_assets_def_for_node", None))
    ):
        return True
    warn_unavailable(STEP_ASSETS)
    return False


def step_assets_def(job_def: JobDefinition, execution_plan: ExecutionPlan, step_key: str) -> AssetsDefinition | None:
    """Return the assets definition a step executes, or None for an op step or a step floe cannot map.

    Args:
        job_def: The run's job.
        execution_plan: The plan being executed.
        step_key: The step key as given (a dynamic-mapped ``op[key]`` or its unresolved form).

    Returns:
        The step's assets definition, or None.
    """
    if not step_lookup_available():
        return _assets_def_by_op_name(job_def, step_key)
    try:
        step = execution_plan.get_step_by_key(step_key)
    except Exception:  # unknown or unresolved mapped step: no asset to report
        return None
    found: AssetsDefinition | None = job_def.asset_layer.get_assets_def_for_node(step.node_handle)
    return found


def _assets_def_by_op_name(job_def: JobDefinition, step_key: str) -> AssetsDefinition | None:
    """The fallback: the assets definition whose top-level node is named like the step's first segment."""
    node_name = step_key.split(".", 1)[0]
    try:
        assets_defs = list(job_def.asset_layer.asset_graph.assets_defs)
    except Exception:  # this Dagster's asset layer differs too: report the step without assets
        return None
    return next((assets_def for assets_def in assets_defs if assets_def.node_def.name == node_name), None)


def _execution_plan_type() -> type | None:
    try:
        from dagster._core.execution.plan.plan import ExecutionPlan
    except ImportError:
        return None
    return ExecutionPlan


def _asset_layer_type() -> type | None:
    try:
        from dagster._core.definitions.assets.job.asset_layer import AssetLayer
    except ImportError:
        return None
    return AssetLayer


ComputeWrapper = Callable[[Callable[..., Any]], Callable[..., Any]]


def with_wrapped_compute(assets_def: AssetsDefinition, wrap: ComputeWrapper) -> AssetsDefinition | None:
    """Return ``assets_def`` with its op's compute function replaced by ``wrap(function)``, or None if unsupported.

    Args:
        assets_def: An asset definition built by ``@asset`` / ``@multi_asset`` (an op, not a graph).
        wrap: Returns a function with the same signature and kind (plain, generator, coroutine) as its argument.

    Returns:
        The rebuilt definition (same keys, op name, specs, checks, resources), or None when the definition is
        not op-based or this Dagster's internals differ (a warning is logged once).
    """
    try:
        if disabled(ASSET_COMPUTE_WRAPPER):
            raise RuntimeError(f"{DISABLE_ENV} names asset_compute_wrapper")
        from dagster import OpDefinition
        from dagster._core.definitions.decorators.op_decorator import DecoratedOpFunction
        from dagster._core.definitions.input import In
        from dagster._core.definitions.output import Out

        op = assets_def.node_def
        if not isinstance(op, OpDefinition) or not isinstance(op.compute_fn, DecoratedOpFunction):
            return None
        new_op = OpDefinition.dagster_internal_init(
            name=op.name,
            ins={input_def.name: In.from_definition(input_def) for input_def in op.input_defs},
            outs={output_def.name: Out.from_definition(output_def) for output_def in op.output_defs},
            compute_fn=DecoratedOpFunction(wrap(op.compute_fn.decorated_fn)),
            config_schema=op.config_schema,
            description=op.description,
            tags=op.tags,
            required_resource_keys=op.required_resource_keys,
            code_version=op._version,
            retry_policy=op.retry_policy,
            version=None,
            pool=op.pool,
        )
        rebuilt: AssetsDefinition = AssetsDefinition.dagster_internal_init(
            **{**assets_def.get_attributes_dict(), "node_def": new_op}
        )
        return rebuilt
    except Exception as exc:  # a probe: any internal change falls back to the unchanged asset
        logger.debug("floe-definitions: cannot wrap %s's compute function: %r", assets_def.node_def.name, exc)
        warn_unavailable(ASSET_COMPUTE_WRAPPER)
        return None


CELERY_LOOP_PARAMETERS = ("job_context", "execution_plan", "step_execution_fn")
CELERY_SUBMIT_PARAMETERS = ("app", "plan_context", "step", "queue", "priority", "known_state")


def celery_step_loop() -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    """Probe: return dagster-celery's execution loop and step submitter, or None (a warning is logged once).

    Returns:
        ``(core_celery_execution_loop, _submit_task)``: the loop takes ``(job_context, execution_plan,
        step_execution_fn)`` and calls ``step_execution_fn(app, plan_context, step, queue, priority, known_state)``
        for each step, polling the Celery result it returns (``ready()``, ``get()``, ``revoke()``).
    """
    try:
        if disabled(CELERY_STEP_LOOP):
            raise RuntimeError(f"{DISABLE_ENV} names celery_step_loop")
        from dagster_celery.core_execution_loop import core_celery_execution_loop
        from dagster_celery.executor import _submit_task

        if (
            tuple(inspect.signature(core_celery_execution_loop).parameters) != CELERY_LOOP_PARAMETERS
            or tuple(inspect.signature(_submit_task).parameters) != CELERY_SUBMIT_PARAMETERS
        ):
            raise RuntimeError("dagster-celery's loop or submitter takes other parameters")
    except Exception as exc:  # a probe: anything else keeps dagster-celery's executor as it is
        logger.debug("floe-definitions: cannot use dagster-celery's execution loop: %r", exc)
        warn_unavailable(CELERY_STEP_LOOP)
        return None
    return core_celery_execution_loop, _submit_task


def step_failure_or_retry_event(
    executor: Executor,
    plan_context: PlanOrchestrationContext,
    step: ExecutionStep,
    error: BaseException,
    known_state: KnownExecutionState,
) -> DagsterEvent | None:
    """Log and return the step's ``STEP_FAILURE`` (or ``STEP_UP_FOR_RETRY``) with ``error``, or None if unsupported.

    Args:
        executor: The run's executor (its retry mode applies).
        plan_context: The run's orchestration context.
        step: The step that failed.
        error: Its error (raised or not).
        known_state: The run's execution state when the step was submitted (its retry counts).

    Returns:
        The event, already stored in the run's event log; None when this Dagster's internals differ (a warning is
        logged once).
    """
    try:
        if disabled(CELERY_LOST_STEP_EVENT):
            raise RuntimeError(f"{DISABLE_ENV} names celery_lost_step_event")
        from dagster._utils.error import SerializableErrorInfo  # type: ignore[attr-defined]  # dagster-shared's, re-exported

        name = type(error).__name__
        info = SerializableErrorInfo(message=f"{name}: {error}", stack=[], cls_name=name)
        event: DagsterEvent = executor.log_failure_or_retry_event_after_error(
            plan_context.for_step(step), info, known_state
        )
    except Exception as exc:  # a probe: the caller reports the step as an error of dagster-celery's loop instead
        logger.debug("floe-definitions: cannot make a failure event for step %s: %r", step.key, exc)
        warn_unavailable(CELERY_LOST_STEP_EVENT)
        return None
    return event


# --- warm run starts (floe_definitions.warm) -------------------------------------------------------------------


def run_launcher_types() -> tuple[Any, Any, Any, Any, Any, Any]:
    """Return the run-launcher types: the base class, its context, health result and status, config classes.

    In order: ``RunLauncher``, ``LaunchRunContext``, ``CheckRunHealthResult``, ``WorkerStatus``,
    ``ConfigurableClass``, ``ConfigurableClassData``. A run launcher is Dagster's documented extension point
    (``run_launcher: {module, class}`` in ``dagster.yaml``), but these are exported only under ``dagster._core``
    and ``dagster._serdes``. Imported when called (by :mod:`floe_definitions.warm.launcher`, itself imported only
    by an instance that names it).
    """
    from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, RunLauncher, WorkerStatus
    from dagster._serdes import ConfigurableClass, ConfigurableClassData

    return RunLauncher, LaunchRunContext, CheckRunHealthResult, WorkerStatus, ConfigurableClass, ConfigurableClassData


WARM_RUN_WORKER = Capability("warm_run_worker", "`dagster api execute_run` exec'd in the forked run process (cold)")
WARM_DEFINITIONS = Capability("warm_definitions", "a fresh load of the definitions in every forked run")


def warm_run_worker_available() -> bool:
    """Probe Dagster's run-worker body (what ``dagster api execute_run`` runs) and its interrupt capture."""
    if disabled(WARM_RUN_WORKER):
        return False
    try:
        from dagster._cli import api
        from dagster._utils import interrupts
    except ImportError:
        return False
    return callable(getattr(api, "_execute_run_command_body", None)) and callable(
        getattr(interrupts, "capture_interrupts", None)
    )


def execute_run_worker(instance_ref_json: str, run_id: str, tags: dict[str, str]) -> int:
    """Tag the run, then run it in this process as Dagster's own run worker does; return its exit code (1: failed).

    Without the probe the process becomes ``dagster api execute_run`` (``os.execv``: same pid, so run monitoring and
    termination still find it), paying the cold start.
    """
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import deserialize_value

    instance_ref = deserialize_value(instance_ref_json, InstanceRef)
    if not warm_run_worker_available():
        with DagsterInstance.from_ref(instance_ref) as instance:
            instance.add_run_tags(run_id, tags)
        warn_unavailable(WARM_RUN_WORKER)
        _exec_cold_run_worker(instance_ref, run_id)
    from dagster._cli.api import _execute_run_command_body
    from dagster._utils.interrupts import capture_interrupts

    # One instance for the tags and the run: opening one costs a run ~0.1 s (each storage checks its schema)
    with capture_interrupts(), DagsterInstance.from_ref(instance_ref) as instance:
        instance.add_run_tags(run_id, tags)
        code: int = _execute_run_command_body(run_id, instance, lambda _event: None, set_exit_code_on_failure=True)
        return code


def _exec_cold_run_worker(instance_ref: Any, run_id: str) -> None:
    import sys

    from dagster import DagsterInstance
    from dagster._grpc.types import ExecuteRunArgs
    from dagster._serdes import serialize_value

    with DagsterInstance.from_ref(instance_ref) as instance:
        run = instance.get_run_by_id(run_id)
        origin = run.job_code_origin if run is not None else None
    args = serialize_value(ExecuteRunArgs(job_origin=origin, run_id=run_id, instance_ref=instance_ref))  # type: ignore[arg-type]
    os.execv(sys.executable, [sys.executable, "-m", "dagster", "api", "execute_run", args])


def repository_pointer(origin_json: str) -> Any:
    """Return the code pointer of a serialized ``RepositoryPythonOrigin`` (a run's ``job_code_origin``)."""
    from dagster._core.origin import RepositoryPythonOrigin
    from dagster._serdes import deserialize_value
    from dagster._utils.hosted_user_process import recon_repository_from_origin

    return recon_repository_from_origin(deserialize_value(origin_json, RepositoryPythonOrigin)).pointer


class RepositoryCache:
    """The warm process's loaded repository definition, served to Dagster's reconstruction in forked runs.

    :meth:`install` wraps ``dagster._core.definitions.reconstruct.reconstruct_repository_def_from_pointer`` in this
    process (the warm process only), so a forked run's ``recon_job_from_origin(...).get_definition()`` returns the
    definitions the warm process built instead of loading the project again. Probe: the function exists; without
    it (or with ``FLOE_COMPAT_DISABLE=warm_definitions``) each run loads the definitions itself, as a cold run does.
    """

    def __init__(self) -> None:
        self.pointer: Any = None
        self.definition: Any = None
        self._original: Callable[..., Any] | None = None

    def install(self) -> bool:
        """Wrap Dagster's loader; return whether the cache is in use."""
        if disabled(WARM_DEFINITIONS):
            warn_unavailable(WARM_DEFINITIONS)
            return False
        try:
            from dagster._core.definitions import reconstruct
        except ImportError:
            warn_unavailable(WARM_DEFINITIONS)
            return False
        original = getattr(reconstruct, "reconstruct_repository_def_from_pointer", None)
        if not callable(original):
            warn_unavailable(WARM_DEFINITIONS)
            return False
        self._original = original

        def cached(pointer: Any, repository_load_data: Any = None) -> Any:
            if repository_load_data is None and self.definition is not None and pointer == self.pointer:
                return self.definition
            return original(pointer, repository_load_data)

        reconstruct.reconstruct_repository_def_from_pointer = cached
        return True

    def load(self, pointer: Any) -> Any:
        """Load the repository definition at ``pointer`` (not from the cache) and keep it; raise what loading raises."""
        self.pointer, self.definition = pointer, None
        if self._original is None:
            from dagster._core.definitions.reconstruct import reconstruct_repository_def_from_pointer

            return reconstruct_repository_def_from_pointer(pointer, None)
        self.definition = self._original(pointer, None)
        return self.definition


# --- caller_frame ------------------------------------------------------------------------------------------------


def caller_file(depth: int) -> str | None:
    """Return the ``__file__`` of the module ``depth`` frames above the caller of this function, or None.

    Args:
        depth: 1 for the caller's caller (who called the function that asks).
    """
    frame: FrameType | None
    getframe = getattr(sys, "_getframe", None)
    if not disabled(CALLER_FRAME) and callable(getframe):
        frame = getframe(depth + 1)
    else:
        warn_unavailable(CALLER_FRAME)
        frame = inspect.currentframe()
        for _ in range(depth + 1):
            frame = frame.f_back if frame is not None else None
    found = frame.f_globals.get("__file__") if frame is not None else None
    return found if isinstance(found, str) else None


# --- console_debug_format ----------------------------------------------------------------------------------------


def dagster_debug_line_marker(job_name: str) -> bytes | None:
    """Return the bytes every Dagster DEBUG console line of ``job_name`` contains, or None when unknown.

    Probe: a DEBUG record of the job is formatted with Dagster's own console format and message layout, and the
    marker must be in the line; any difference (or ``FLOE_COMPAT_DISABLE=console_debug_format``) returns None
    with one WARNING.
    """
    marker = f" - dagster - DEBUG - {job_name} - "
    try:
        if disabled(CONSOLE_DEBUG_FORMAT):
            raise RuntimeError(f"{DISABLE_ENV} names console_debug_format")
        from dagster._core.log_manager import construct_log_record_message
        from dagster._utils.log import default_format_string

        message = construct_log_record_message(
            {  # type: ignore[typeddict-item]
                "job_name": job_name,
                "run_id": "00000000-0000-0000-0000-000000000000",
                "step_key": None,
                "resource_name": None,
                "dagster_event": None,
                "orig_message": "probe",
            }
        )
        record = logging.LogRecord("dagster", logging.DEBUG, __file__, 0, message, None, None)
        line = logging.Formatter(default_format_string()).format(record)
        if marker not in line:
            raise RuntimeError(f"Dagster's console line has changed: {line!r}")
    except Exception as exc:  # a probe: any change means floe cannot recognise the lines, so it leaves them alone
        logger.debug("floe-definitions: Dagster's console format is not the one floe filters: %r", exc)
        warn_unavailable(CONSOLE_DEBUG_FORMAT)
        return None
    return marker.encode()


# --- forkserver_restart (warm steps) -----------------------------------------------------------------------------


def stop_forkserver() -> bool:
    """Stop this process's multiprocessing fork server, if one runs, so that the next step starts a fresh one.

    Python has no public way to do it: ``multiprocessing.forkserver._forkserver._stop()`` (Python 3.8+, used by
    CPython's own tests). Steps already forked keep running. Probe: the method exists.

    Returns:
        Whether the server was stopped (or none ran); False when the probe failed (one WARNING).
    """
    import multiprocessing.forkserver

    stop = getattr(getattr(multiprocessing.forkserver, "_forkserver", None), "_stop", None)
    if disabled(FORKSERVER_RESTART) or not callable(stop):
        warn_unavailable(FORKSERVER_RESTART)
        return False
    stop()
    return True


# --- shared_step_server (warm runs) ------------------------------------------------------------------------------

_FORKSERVER_STATE = ("_lock", "_forkserver_pid", "_forkserver_alive_fd", "_forkserver_address", "_stop")


def _forkserver() -> Any:
    import multiprocessing.forkserver

    return getattr(multiprocessing.forkserver, "_forkserver", None)


def shared_forkserver_available() -> bool:
    """Probe: can a forked process use the fork server its parent started (the state floe reads and resets)?"""
    server = _forkserver()
    if (
        not disabled(SHARED_STEP_SERVER)
        and server is not None
        and all(hasattr(server, name) for name in _FORKSERVER_STATE)
        and callable(getattr(type(server), "ensure_running", None))
    ):
        return True
    warn_unavailable(SHARED_STEP_SERVER)
    return False


def forkserver_pid() -> int | None:
    """The pid of this process's fork server, if one was started (by this process or, adopted, by its parent)."""
    server = _forkserver()
    pid = getattr(server, "_forkserver_pid", None)
    return pid if isinstance(pid, int) else None


def _forget(server: Any) -> None:
    """Drop this process's handle on the fork server without stopping it (other processes still use it)."""
    if server._forkserver_alive_fd is not None:
        try:
            os.close(server._forkserver_alive_fd)
        except OSError:
            pass
    server._forkserver_alive_fd = None
    server._forkserver_pid = None
    server._forkserver_address = None


def detach_forkserver() -> int | None:
    """Let the next step start a new fork server, leaving the current one to the processes still using it.

    The server exits by itself once every process holding its "alive" pipe (this one, and the runs forked from
    it) has let go; its pid is returned so that the caller, its parent, can reap it.
    """
    server = _forkserver()
    with server._lock:
        pid = server._forkserver_pid
        _forget(server)
    return pid if isinstance(pid, int) else None


def adopt_forkserver() -> None:
    """Use, in this forked process, the fork server the parent process started (call right after ``os.fork``).

    Python's ``ForkServer`` assumes its server is the calling process's child: ``ensure_running`` calls
    ``waitpid`` on it and ``_stop`` waits for it to exit, which both fail in a forked process. Here
    ``ensure_running`` instead checks that the server is still alive (and starts a new one of this process's own
    when it is not), and ``_stop`` only forgets it. Call only after :func:`shared_forkserver_available`.
    """
    from multiprocessing import resource_tracker

    from floe_definitions.warm.launcher import process_alive

    server = _forkserver()
    start_own = type(server).ensure_running

    def ensure_running() -> None:
        with server._lock:
            pid = server._forkserver_pid
            if pid is not None and process_alive(pid, None):  # a zombie server counts as gone
                resource_tracker.ensure_running()
                return
            _forget(server)
        del server.ensure_running, server._stop  # a server of this process's own: Python's own methods again
        start_own(server)

    def stop() -> None:
        with server._lock:
            _forget(server)

    server.ensure_running = ensure_running
    server._stop = stop


# --- event_batch (floe_definitions.instance.event_log) -----------------------------------------------------------

EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
"""Dagster's switch for batched event writes: events sent with batch metadata (a run's planned events, a step's
materializations of several partitions) are buffered up to this many and handed to ``store_event_batch``. When it
is set, it decides (``0``: no batches), for floe's storages too."""
EVENT_BATCH_SIZE = "1000"
"""floe's default: a 1,000-model run's planned events in two transactions, each holding SQLite's index write lock for
about a second."""
SQLITE_CONNECT_PARAMETERS = ("self", "shard")
POSTGRES_CONNECT_PARAMETERS = ("self",)
POOLED_SHARDS = 8
"""SQLite shards whose connection a storage keeps open: the index and a run's own in a run or step process; the
webserver reads many runs' shards, and keeps the last ones used."""
POSTGRES_POOL = {"pool_size": 1, "max_overflow": 20, "pool_recycle": 3600, "pool_pre_ping": True}
"""The pool of floe's PostgreSQL event log storage: Dagster's webserver's (one held connection, overflow for
concurrent threads, recycled hourly), and a liveness check before each use, since a run may idle for hours."""


def _parameters(function: Any) -> tuple[str, ...]:
    try:
        return tuple(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return ()


def event_batch_available(kind: str) -> bool:
    """Probe the storage internals a batched storage of ``kind`` (``sqlite`` or ``postgres``) relies on."""
    if disabled(EVENT_BATCH):
        return False
    try:
        from dagster import DagsterInstance

        if _parameters(getattr(DagsterInstance, "_get_event_batch_size", None)) != ("self",):
            return False
        if kind == "sqlite":
            from dagster._core.storage import sql
            from dagster._core.storage import sqlite as sqlite_storage
            from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

            return (
                _parameters(SqliteEventLogStorage._connect) == SQLITE_CONNECT_PARAMETERS
                and all(
                    callable(getattr(SqliteEventLogStorage, name, None))
                    for name in ("_initdb", "conn_string_for_shard", "store_event", "store_event_batch")
                )
                and callable(getattr(sql, "create_engine", None))
                and isinstance(getattr(sqlite_storage, "SQLITE_BUSY_TIMEOUT_SECONDS", None), int | float)
            )
        from dagster_postgres.event_log.event_log import PostgresEventLogStorage

        return _parameters(PostgresEventLogStorage._connect) == POSTGRES_CONNECT_PARAMETERS and all(
            callable(getattr(PostgresEventLogStorage, name, None)) for name in ("store_event", "store_event_batch")
        )
    except ImportError:
        return False


def event_log_pool_available(kind: str) -> bool:
    """Probe the storage internals the pooled connections of a storage of ``kind`` rely on."""
    if disabled(EVENT_LOG_POOL) or not event_batch_available(kind):
        return False
    if kind == "sqlite":
        return True
    try:
        from dagster_postgres.event_log.event_log import PostgresEventLogStorage
    except ImportError:
        return False
    return callable(getattr(PostgresEventLogStorage, "optimize_for_webserver", None))


class _PooledEngines:
    """The pooled engines of every live floe storage in this process, dropped unclosed in a forked child."""

    def __init__(self) -> None:
        import weakref

        self.storages: weakref.WeakSet[Any] = weakref.WeakSet()
        self.hooked = False

    def track(self, storage: Any) -> None:
        if not self.hooked:
            os.register_at_fork(after_in_child=self._forget_in_child)
            self.hooked = True
        self.storages.add(storage)

    def _forget_in_child(self) -> None:
        for storage in list(self.storages):
            storage._forget_pooled_connections()


_POOLED_ENGINES = _PooledEngines()


def _enable_event_batches(instance: Any) -> None:
    """Turn on Dagster's batched writes for ``instance`` alone, unless ``DAGSTER_EVENT_BATCH_SIZE`` decides.

    Dagster reads the size from the environment on every event (``DagsterInstance._get_event_batch_size``); floe
    answers for the instances that use its storage instead of writing the variable into the process environment.
    """
    if os.environ.get(EVENT_BATCH_SIZE_ENV) is None:
        instance._get_event_batch_size = functools.partial(int, EVENT_BATCH_SIZE)


class _EventBatching:
    """What floe's two batched event log storages add to Dagster's, first in their bases.

    ``kind`` (``sqlite`` / ``postgres``) names the probe; a storage whose internals the probe does not find stores
    events as Dagster's does, after one WARNING.
    """

    kind = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import threading

        self._batch = threading.local()
        self._batching = event_batch_available(self.kind)
        super().__init__(*args, **kwargs)
        if not self._batching:
            warn_unavailable(EVENT_BATCH)

    def register_instance(self, instance: Any) -> None:
        super().register_instance(instance)  # type: ignore[misc]
        if self._batching:
            _enable_event_batches(instance)


@functools.cache
def batched_sqlite_event_log_storage() -> type:
    """Return ``SqliteEventLogStorage`` whose ``store_event_batch`` is one transaction per shard (see the docstring)."""
    from collections import OrderedDict
    from collections.abc import Iterator, Mapping, Sequence
    from contextlib import ExitStack, contextmanager

    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from dagster._core.storage.sql import create_engine
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
    from sqlalchemy.pool import NullPool, QueuePool

    class BatchedSqliteEventLogStorage(_EventBatching, SqliteEventLogStorage):
        """Dagster's per-run-sharded SQLite event log: a batch in one transaction per shard, connections kept."""

        kind = "sqlite"

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._engines: OrderedDict[str, Any] = OrderedDict()
            self._pooled = event_log_pool_available(self.kind)
            super().__init__(*args, **kwargs)
            if self._pooled:
                _POOLED_ENGINES.track(self)
            else:
                warn_unavailable(EVENT_LOG_POOL)

        @classmethod
        def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]) -> Any:
            return cls(inst_data=inst_data, **config_value)

        def _shard_engine(self, shard: str) -> Any:
            """The shard's engine (its schema checked once), kept for the last ``POOLED_SHARDS`` shards.

            The caller holds ``_db_lock``, so one connection per shard is ever in use.
            """
            engine = self._engines.pop(shard, None)
            if engine is None:
                if shard not in self._initialized_dbs:
                    self._check_shard(shard)
                connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=QueuePool,
                    pool_size=1,
                    max_overflow=0,
                    connect_args=connect_args,
                )
            self._engines[shard] = engine
            while len(self._engines) > POOLED_SHARDS:
                self._engines.popitem(last=False)[1].dispose()
            return engine

        def _check_shard(self, shard: str) -> None:
            """Create or check the shard's schema on an engine of its own, as Dagster's ``_connect`` does."""
            engine = self._dagster_engine(shard)
            try:
                self._initdb(engine)  # holds two connections at once: not on the pool of one
                self._initialized_dbs.add(shard)
            finally:
                engine.dispose()

        def _dagster_engine(self, shard: str) -> Any:
            connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
            return create_engine(self.conn_string_for_shard(shard), poolclass=NullPool, connect_args=connect_args)

        @contextmanager
        def _open_shard(self, shard: str) -> Iterator[Any]:
            # Dagster's _connect without taking _db_lock (the caller holds it)
            if self._pooled:
                with self._shard_engine(shard).connect() as conn, conn.begin():
                    yield conn
                return
            if shard not in self._initialized_dbs:
                self._check_shard(shard)
            engine = self._dagster_engine(shard)
            try:
                with engine.connect() as conn, conn.begin():
                    yield conn
            finally:
                engine.dispose()

        @contextmanager
        def _connect(self, shard: str) -> Iterator[Any]:
            open_shards = getattr(self._batch, "shards", None)
            if open_shards is None:
                if not self._pooled:
                    with super()._connect(shard) as conn:
                        yield conn
                    return
                with self._db_lock, self._open_shard(shard) as conn:
                    yield conn
                return
            if shard not in open_shards:
                open_shards[shard] = self._batch.stack.enter_context(self._open_shard(shard))
            yield open_shards[shard]

        def store_event_batch(self, events: Sequence[Any]) -> None:
            if not self._batching:
                super().store_event_batch(events)
                return
            with self._db_lock, ExitStack() as stack:
                self._batch.shards, self._batch.stack = {}, stack
                try:
                    for event in events:
                        self.store_event(event)
                finally:
                    self._batch.shards = self._batch.stack = None

        def dispose(self) -> None:
            super().dispose()
            with self._db_lock:
                while self._engines:
                    self._engines.popitem()[1].dispose()

        def _forget_pooled_connections(self) -> None:
            for engine in self._engines.values():
                engine.dispose(close=False)  # the parent's connections: leave them to the parent
            self._engines.clear()

    return BatchedSqliteEventLogStorage


@functools.cache
def batched_postgres_event_log_storage() -> type:
    """Return ``PostgresEventLogStorage`` whose ``store_event_batch`` is one transaction (see the docstring)."""
    from collections.abc import Iterator, Mapping, Sequence
    from contextlib import contextmanager

    from dagster_postgres import PostgresEventLogStorage
    from dagster_postgres import utils as pg_utils

    token_provider = getattr(pg_utils, "get_token_provider_from_config", None)  # dagster-postgres 0.28.x lacks it

    class BatchedPostgresEventLogStorage(_EventBatching, PostgresEventLogStorage):  # type: ignore[misc,unused-ignore]
        """dagster-postgres' event log; a batch is written in one transaction, on a pool of one connection."""

        kind = "postgres"
        _engine: Any  # dagster-postgres' SQLAlchemy engine, replaced below

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if not event_log_pool_available(self.kind):
                warn_unavailable(EVENT_LOG_POOL)
                return
            # Dagster's NullPool engine (a new connection per statement group) replaced by a pooled one, as
            # Dagster's own optimize_for_webserver replaces it (the webserver still does, with its settings)
            options = {"isolation_level": "AUTOCOMMIT", **POSTGRES_POOL}
            create_pg_engine = getattr(pg_utils, "create_pg_engine", None)  # dagster-postgres 0.28.x lacks it
            if create_pg_engine is not None:
                engine = create_pg_engine(self.postgres_url, getattr(self, "_token_provider", None), **options)
            else:
                import sqlalchemy

                engine = sqlalchemy.create_engine(self.postgres_url, **options)
            self._engine.dispose()  # Dagster's NullPool engine: it holds no connection
            self._engine = engine
            _POOLED_ENGINES.track(self)

        def optimize_for_webserver(self, *args: Any, **kwargs: Any) -> None:
            self._engine.dispose()  # Dagster replaces the engine with its own pooled one
            super().optimize_for_webserver(*args, **kwargs)

        def dispose(self) -> None:
            super().dispose()
            self._engine.dispose()

        def _forget_pooled_connections(self) -> None:
            self._engine.dispose(close=False)  # the parent's connections: leave them to the parent

        @classmethod
        def from_config_value(cls, inst_data: Any, config_value: Mapping[str, Any]) -> Any:
            # as PostgresEventLogStorage.from_config_value, which builds its own class
            return cls(
                inst_data=inst_data,
                postgres_url=pg_utils.pg_url_from_config(config_value),
                should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                **({"token_provider": token_provider(config_value)} if token_provider else {}),
            )

        @contextmanager
        def _connect(self) -> Iterator[Any]:
            conn = getattr(self._batch, "conn", None)
            if conn is not None:
                yield conn
                return
            with super()._connect() as conn:
                yield conn

        def store_event_batch(self, events: Sequence[Any]) -> None:
            if not self._batching:
                super().store_event_batch(events)
                return
            with super()._connect() as conn:
                conn = conn.execution_options(isolation_level="READ COMMITTED")  # the engine autocommits
                with conn.begin():
                    self._batch.conn = conn
                    try:
                        for event in events:
                            self.store_event(event)
                    finally:
                        self._batch.conn = None

    return BatchedPostgresEventLogStorage


DEFAULT_INSTANCE_MODULES = (
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.local_compute_log_manager",
    # the defs state storage every instance opens (InstanceRef.defs_state_storage), and the path library it imports
    "dagster._core.storage.defs_state.blob_storage_state_storage",
    "upath",
)
"""The modules of the storages Dagster uses where ``dagster.yaml`` names none (they import Dagster's whole storage
layer: SQLAlchemy, Alembic, the daemon's logging); every step process's ``DagsterInstance.from_ref`` imports them
otherwise, about 0.7 s each on a 2-core machine."""
