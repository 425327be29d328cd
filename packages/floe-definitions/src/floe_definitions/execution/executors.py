"""Dagster's own executors, chosen by platform.yaml ``execution.executor`` and wrapped for observability.

floe never runs steps itself: ``in_process`` and ``multiprocess`` come from Dagster, ``celery`` from
``dagster-celery`` (``floe-definitions[celery]``) and ``k8s`` from ``dagster-k8s`` (``floe-definitions[k8s]``),
imported only when selected. :func:`build_executor` configures the chosen one from the platform file and wraps
the executor it creates in :class:`~floe_definitions.execution.observed_executor.ObservedExecutor` (Celery's, under
``on_worker_lost: fail``, first in :class:`~floe_definitions.execution.celery_worker_watch.WatchedCeleryExecutor`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from dagster import Executor, ExecutorDefinition, InitExecutorContext, in_process_executor, multiprocess_executor

from floe_config.integration import CeleryExecutor, ExecutorConfig, InProcessExecutor, K8sExecutor, MultiprocessExecutor
from floe_definitions.errors import ExecutorConfigError
from floe_definitions.execution.celery_broker import check_broker_client, check_celery_broker
from floe_definitions.execution.celery_settings import celery_config_source
from floe_definitions.execution.celery_worker_watch import WatchedCeleryExecutor
from floe_definitions.execution.observed_executor import ObservedExecutor, RunTelemetry
from floe_definitions.execution.warm_steps import (
    PRELOAD_MODULE,
    WARM_STEP_MODULES,
    StepServerStart,
    forkserver_available,
)

CELERY_DUPLICATE_TASK_MESSAGE = r"Task name 'execute_plan' is already registered"
"""Celery's DuplicateTaskNameWarning for dagster-celery's step task, silenced while a run's steps run.

dagster-celery registers its ``execute_plan`` task again for each step it submits, on the run's one Celery app;
Celery warns on the second registration of the same callable, which tells the user nothing.
"""


def dagster_executor(config: ExecutorConfig) -> ExecutorDefinition:
    """Return Dagster's executor definition for ``config``, configured from it.

    Args:
        config: platform.yaml ``execution.executor``.

    Returns:
        The configured Dagster executor definition (not yet observed).

    Raises:
        ExecutorConfigError: ``celery`` / ``k8s`` without their optional extra installed, or ``celery`` with a
            broker whose Python client library is not installed.
    """
    if isinstance(config, InProcessExecutor):
        return in_process_executor.configured({}, name="in_process")
    if isinstance(config, MultiprocessExecutor):
        settings: dict[str, Any] = {}
        if config.max_concurrent is not None:
            settings["max_concurrent"] = config.max_concurrent
        start_method = multiprocess_start_method(config)
        if start_method == "forkserver":
            preload = WARM_STEP_MODULES if config.preload_modules is None else config.preload_modules
            settings["start_method"] = {"forkserver": {"preload_modules": list(preload)}}
        elif start_method is not None:
            settings["start_method"] = {start_method: {}}
        return multiprocess_executor.configured(settings, name="multiprocess")
    if isinstance(config, CeleryExecutor):
        celery_executor = _optional("dagster_celery", "celery_executor", extra="celery", executor="celery")
        if config.broker is not None:
            check_broker_client(config.broker)  # a missing client library is a configuration error, not a dead broker
        settings = _present(broker=config.broker, backend=config.backend, config_source=celery_config_source(config))
        return celery_executor.configured(settings, name="celery")
    assert isinstance(config, K8sExecutor)
    k8s_job_executor = _optional("dagster_k8s", "k8s_job_executor", extra="k8s", executor="k8s")
    settings = _present(
        job_namespace=config.job_namespace,
        job_image=config.image,
        max_concurrent=config.max_concurrent,
        env_vars=list(config.env_vars) or None,
        resources=_k8s_resources(config),
    )
    return k8s_job_executor.configured(settings, name="k8s")


def multiprocess_start_method(config: MultiprocessExecutor) -> str | None:
    """How the multiprocess executor starts step processes: the platform's choice, else warm (``forkserver``).

    Warm steps (:mod:`floe_definitions.execution.warm_steps`) are the default where the platform can fork from a
    server (POSIX); elsewhere Dagster's default (``spawn``, returned as ``None``).
    """
    if config.start_method is not None:
        return config.start_method
    return "forkserver" if forkserver_available() else None


def warm_steps_apply(config: ExecutorConfig) -> bool:
    """Whether step processes fork from floe's warm step server (which builds the project before forking)."""
    return (
        isinstance(config, MultiprocessExecutor)
        and multiprocess_start_method(config) == "forkserver"
        and (config.preload_modules is None or PRELOAD_MODULE in config.preload_modules)
    )


def events_arrive_late(config: ExecutorConfig) -> bool:
    """Whether the executor hands the run worker a step's events after they happened.

    dagster-celery returns a step's events when its task ends; the k8s executor reads them back from the event
    log on a polling tick; the multiprocess executor's run worker drains each step process's queue between its
    own work (starting the next step process, say), so a short step's STEP_START and STEP_SUCCESS can reach it
    together (the demo's first bronze step showed a 3 ms span for a 0.3 s step). Only the in-process executor
    hands each event on as it happens, in the process that stored it.

    Args:
        config: platform.yaml ``execution.executor``.

    Returns:
        True when step times must be read from the run's instance (``ObservedExecutor(recorded_step_times=)``).
    """
    return not isinstance(config, InProcessExecutor)


def _k8s_resources(config: K8sExecutor) -> dict[str, dict[str, str]] | None:
    """The executor's ``resources`` in Kubernetes' shape (quantities as strings), or ``None`` when unset."""
    if config.resources is None:
        return None
    shaped = {
        kind: {name: str(value) for name, value in quantities.model_dump().items() if value is not None}
        for kind, quantities in (("requests", config.resources.requests), ("limits", config.resources.limits))
        if quantities is not None
    }
    return {kind: amounts for kind, amounts in shaped.items() if amounts} or None


def build_executor(
    config: ExecutorConfig,
    telemetry: RunTelemetry,
    *,
    defer_missing_extra: bool = False,
    locate: Callable[[str], str] | None = None,
    warm_project: tuple[Path, Path | None] | None = None,
) -> ExecutorDefinition:
    """Return an executor definition that runs steps with Dagster's executor and observes them.

    Args:
        config: platform.yaml ``execution.executor``.
        telemetry: Where the run's spans and lineage go.
        defer_missing_extra: When the executor's optional extra is missing, return a definition that raises
            the same error when a run starts, so the code location still loads (UI, ``floe check``, tests of
            a production platform file on a laptop).
        locate: Dotted platform key -> ``file:line:column``, for the errors raised when a run starts.
        warm_project: floe.yaml and the platform file (``None``: the environment's choice) of a plain load, which
            the warm step server builds before it forks the run's steps; ``None``: the server imports only.

    Returns:
        An executor definition named ``floe_<executor>`` with the inner executor's requirements.

    Raises:
        ExecutorConfigError: ``celery`` / ``k8s`` without their optional extra installed (unless deferred).
    """
    try:
        inner = dagster_executor(config)
    except ExecutorConfigError as exc:
        if not defer_missing_extra:
            raise
        return _unavailable(config.type, exc)

    step_server = None
    if warm_steps_apply(config):
        assert isinstance(config, MultiprocessExecutor)
        preload = WARM_STEP_MODULES if config.preload_modules is None else config.preload_modules
        floe_yaml, platform_file = warm_project if warm_project is not None else (None, None)
        step_server = StepServerStart(floe_yaml, platform_file, tuple(preload))

    def create(init_context: InitExecutorContext) -> Executor:
        creation_fn = inner.executor_creation_fn
        assert creation_fn is not None
        inner_executor = creation_fn(
            InitExecutorContext(
                job=init_context.job,
                executor_def=inner,
                executor_config=init_context.executor_config,
                instance=init_context.instance,
            )
        )
        ignored_warnings: tuple[str, ...] = ()
        if step_server is not None:
            step_server.start()
        if isinstance(config, CeleryExecutor):
            ignored_warnings = (CELERY_DUPLICATE_TASK_MESSAGE,)
            try:
                check_celery_broker(inner_executor.app_args()["broker"])  # type: ignore[attr-defined]
            except ExecutorConfigError as exc:
                if locate is None or exc.key is None:
                    raise
                raise ExecutorConfigError(exc.message, location=locate(exc.key), key=exc.key) from None
            if config.on_worker_lost == "fail":  # a worker lost whole fails its step, never leaves the run waiting
                inner_executor = WatchedCeleryExecutor(inner_executor, config.worker_lost_timeout_seconds)
        return ObservedExecutor(
            inner_executor,
            telemetry,
            recorded_step_times=events_arrive_late(config),
            ignored_warnings=ignored_warnings,
        )

    return FloeExecutorDefinition(
        step_server=step_server,
        name=f"floe_{inner.name}",
        config_schema=cast("Any", inner.config_schema),  # already a definition schema; Dagster keeps it as is
        requirements=inner.get_requirements,
        executor_creation_fn=create,
        description=f"Dagster's {inner.name} executor, with a span and an OpenLineage run per step (floe).",
    )


class FloeExecutorDefinition(ExecutorDefinition):
    """floe's executor definition, which also names the warm step server its runs start (``None``: none).

    A warm process (:mod:`floe_definitions.warm.server`) starts that server itself, so that the runs it forks share
    it instead of each starting one.
    """

    def __init__(self, *, step_server: StepServerStart | None, **kwargs: Any) -> None:
        """Build Dagster's executor definition from ``kwargs``; keep ``step_server``."""
        super().__init__(**kwargs)
        self.step_server = step_server


def _unavailable(kind: str, error: ExecutorConfigError) -> ExecutorDefinition:
    def fail(_init_context: InitExecutorContext) -> Executor:
        raise error

    return ExecutorDefinition(
        name=f"floe_{kind}",
        executor_creation_fn=fail,
        description=f"Dagster's {kind} executor (not installed here: {error.message})",
    )


def _optional(module: str, attribute: str, *, extra: str, executor: str) -> ExecutorDefinition:
    import importlib

    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        from floe_definitions.instance.deployment_checks import install_command

        raise ExecutorConfigError(
            f"the {executor!r} executor needs {module}, which is not importable here ({exc}); install the extra: "
            f"{install_command(extra)}",
            key="execution.executor.type",
        ) from exc
    definition: ExecutorDefinition = getattr(loaded, attribute)
    return definition


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
