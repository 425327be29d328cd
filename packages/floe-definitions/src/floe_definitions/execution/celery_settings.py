"""The Celery app settings floe derives from platform.yaml's ``execution.executor`` (``type: celery``).

The run's executor and the workers must agree on them: :func:`celery_config_source` is given to dagster-celery's
executor as ``config_source`` and written into ``celery-worker.yaml`` (``floe instance --write``), which
dagster-celery's worker command turns into the workers' Celery configuration.
"""

from __future__ import annotations

import importlib
from typing import Any

from floe_config.integration import CeleryExecutor


def celery_config_source(executor: CeleryExecutor) -> dict[str, Any] | None:
    """Return the Celery settings ``executor`` asks for beyond dagster-celery's defaults, or ``None``.

    ``on_worker_lost: fail`` (the default) has a worker store a task's STARTED state, with its own name, when it
    takes the task (``task_track_started``): the run watches that worker and fails the step once it is lost whole
    (:mod:`floe_definitions.execution.celery_worker_watch`). ``on_worker_lost: redeliver`` acknowledges a task when
    it ends (``task_acks_late``) and puts back the task of a worker process that died
    (``task_reject_on_worker_lost``), so another worker runs the step again instead of the task failing with
    ``WorkerLostError``. ``visibility_timeout_seconds`` is the Redis transport's
    ``visibility_timeout``, merged into dagster-celery's own ``broker_transport_options`` (a key given here replaces
    dagster-celery's whole dictionary).

    Args:
        executor: platform.yaml ``execution.executor``.

    Returns:
        Celery's lowercase settings, or ``None`` when dagster-celery's defaults apply unchanged.
    """
    settings: dict[str, Any] = {}
    if executor.on_worker_lost == "fail":
        settings["task_track_started"] = True
    if executor.on_worker_lost == "redeliver":
        settings["task_acks_late"] = True
        settings["task_reject_on_worker_lost"] = True
    if executor.visibility_timeout_seconds is not None:
        settings["broker_transport_options"] = {
            **_dagster_celery_transport_options(),
            "visibility_timeout": executor.visibility_timeout_seconds,
        }
    return settings or None


def _dagster_celery_transport_options() -> dict[str, Any]:
    """dagster-celery's default ``broker_transport_options`` (empty when it is not installed here)."""
    try:
        defaults = importlib.import_module("dagster_celery.defaults")
    except ImportError:
        return {}
    return dict(getattr(defaults, "broker_transport_options", {}))
